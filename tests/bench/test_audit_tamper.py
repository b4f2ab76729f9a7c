"""The audit tamper bench, small (bench/audit_tamper.py runs 1,000): every tamper detected and its first
bad event named, no false alarm on the untouched log, and the soak's entry point self-contained."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from _soak_tamper import run, soak_rows
from _tamper_kinds import KINDS

from reviewqueue.audit.verify import verify_chain


def test_fifty_random_tampers_are_each_detected_and_named_and_the_untouched_log_never_fails(db):
    outcome = run(tampers=50, seed=23, events=300, untouched=3)
    assert outcome.tampers == 50
    assert (outcome.detected, outcome.named) == (50, 50), outcome.misses
    assert (outcome.false_alarms, outcome.untouched) == (0, 3 + 5)
    assert set(outcome.by_kind) == set(KINDS)  # every kind at least once
    assert outcome.ok
    result = verify_chain()  # every tamper was rolled back
    assert result.intact and result.events_checked == 300


def test_the_soak_gets_its_rows_from_a_process_and_database_of_their_own(tmp_path):
    rows, ok = soak_rows(5, tmp_path, tampers=40, events=250, untouched=2)
    figures = dict(rows)
    assert ok, (tmp_path / "audit_tamper.log").read_text()
    assert figures["audit tampers detected by verify_audit"] == "40/40 = 100.0%"
    assert figures["first bad event named correctly"] == "40/40"
    assert figures["false alarms on untouched logs"] == "0 of 6"
