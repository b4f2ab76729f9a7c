"""The API fuzz, small (bench/api_fuzz.py sends thousands of cases): every operation of
/api/v1/openapi.json gets a few cases against a live server of its own, none answers 5xx or outside
the document, and the soak's entry point is self-contained."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from _soak_fuzz import FuzzCounts, rows, soak_rows


def test_a_few_cases_per_operation_none_answers_5xx_or_outside_the_document(tmp_path):
    result, ok = soak_rows(3, tmp_path, max_examples=4)
    figures = dict(result)
    logs = tmp_path / "api-fuzz" / "fuzz-logs.txt"
    assert ok, (figures, logs.read_text() if logs.exists() else "")
    operations = figures["API fuzz: operations fuzzed"]
    for label in ("GET /drafts", "POST /drafts", "POST /drafts/bulk-decision", "GET /drafts/{id}"):
        assert label in operations
    assert operations.startswith("6 (")
    assert int(figures["API fuzz: cases sent"].replace(",", "")) >= 5 * 2 * 4
    assert figures["API fuzz: 5xx (must be 0)"] == "0"
    assert figures["API fuzz: schema mismatches (status, content type, body)"] == "0"
    assert figures["API fuzz: seed"] == "3"


def test_a_5xx_fails_the_run_and_is_shown():
    counts = FuzzCounts(operations=["GET /drafts"], cases=2)
    counts.classes.update({"2xx": 1, "5xx": 1})
    counts.server_errors.append("GET /drafts 500: GET http://x/api/v1/drafts?page=99999999999999999999 ''")
    figures = dict(rows(counts, 9))
    assert figures["API fuzz: responses 2xx / 4xx / 5xx"] == "1 / 0 / 1"
    assert figures["API fuzz: 5xx (must be 0)"].startswith("1 (first: GET /drafts 500")
