"""How a benchmark reports a figure to bench/run (the one convention every bench/*.py follows).

    from _report import report
    report("decide calls per second, 4 workers", 812.5, unit="/s", target=">= 3x one worker",
           baseline="203.1 /s with 1 worker", ratio=4.0)

prints one line on stdout:

    RESULT {"figure": "...", "value": 812.5, "unit": "/s", "target": "...", "baseline": "...", "ratio": 4.0}

bench/run collects every RESULT line of every bench into bench/RESULTS.md. Anything else a bench
prints is for people reading its output and is ignored. `ok` (True/False/None) says whether the
figure met its target, when the bench can tell.
"""

import json
import sys

PREFIX = "RESULT "


def report(
    figure: str,
    value: float | int | str,
    *,
    unit: str = "",
    target: str = "",
    baseline: str = "",
    ratio: float | None = None,
    ok: bool | None = None,
) -> None:
    line = {"figure": figure, "value": value, "unit": unit, "target": target, "baseline": baseline}
    if ratio is not None:
        line["ratio"] = round(float(ratio), 3)
    if ok is not None:
        line["ok"] = bool(ok)
    print(PREFIX + json.dumps(line), flush=True)
    sys.stdout.flush()


def parse(line: str) -> dict | None:
    """The result a RESULT line carries, or None for any other line (or a malformed one)."""
    if not line.startswith(PREFIX):
        return None
    try:
        result = json.loads(line[len(PREFIX) :])
    except json.JSONDecodeError:
        return None
    return result if isinstance(result, dict) and "figure" in result and "value" in result else None
