"""The API fuzz on its own: schemathesis against every operation of /api/v1/openapi.json, live server.

    .venv/bin/python bench/api_fuzz.py                        # seed 1, 250 examples per operation and kind
    .venv/bin/python bench/api_fuzz.py --seed 7 --max-examples 40

What it starts, sends and counts: bench/_soak_fuzz.py (the same rows go into the soak's table).
Prints the rows as RESULT lines (bench/_report.py); exits 1 on any 5xx.
"""

import argparse
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _soak_fuzz
from _report import report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1, help="the seed (default 1): the same seed, the same cases")
    parser.add_argument(
        "--max-examples",
        type=int,
        default=_soak_fuzz.DEFAULT_EXAMPLES,
        help=f"examples per operation and kind of case (default {_soak_fuzz.DEFAULT_EXAMPLES})",
    )
    parser.add_argument("--quick", action="store_true", help="40 examples per operation and kind")
    args = parser.parse_args(argv)
    if args.quick:
        args.max_examples = 40
    if args.max_examples < 1:
        parser.error("--max-examples must be at least 1")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped from outside: still stop what it started
    workdir = Path(tempfile.mkdtemp(prefix="rq-fuzz-"))
    print(f"api fuzz: seed {args.seed}, {args.max_examples} examples per operation and kind; logs in {workdir}")
    rows, ok = _soak_fuzz.soak_rows(args.seed, workdir, max_examples=args.max_examples)
    for figure, value in rows:
        target = "0" if figure.startswith("API fuzz: 5xx") else ""
        report(figure, value, target=target, ok=ok if target else None)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
