"""The one convention benchmarks report by: `RESULT {json}` lines that bench/run collects."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from _report import parse, report


def test_a_reported_figure_reads_back_from_its_line(capsys):
    report("drafts per second", 12.5, unit="/s", target=">= 10", baseline="4 /s with one", ratio=3.125, ok=True)
    (line,) = capsys.readouterr().out.splitlines()
    assert parse(line) == {
        "figure": "drafts per second",
        "value": 12.5,
        "unit": "/s",
        "target": ">= 10",
        "baseline": "4 /s with one",
        "ratio": 3.125,
        "ok": True,
    }


def test_other_output_and_malformed_result_lines_are_ignored():
    assert parse("drafts per second: 12.5") is None
    assert parse("RESULT {not json") is None
    assert parse('RESULT {"value": 1}') is None
    assert parse('RESULT ["figure", 1]') is None
