"""Reconciliation after runs were lost: a backlog of MultiMail's audit log longer than one run may read.

Found by the default soak (bench/soak.py, 10,000 drafts, 2026-12-07 20:22): runs lost to worker kills and
Redis restarts let more than MAX_PAGES pages of entries pile up between two runs; each later run read the
same top pages and never reached the entries below, and 526 decisions were reported "not at MultiMail"
that MultiMail had. Fixed in a5d3eb7 (a run goes on where the last one stopped). MultiMail faked at the
HTTP boundary (tests/fakes.py), PostgreSQL real.
"""

import pytest

from reviewqueue.audit.models import MultiMailDecision, ReconciliationState
from reviewqueue.audit.reconcile import reconciliation_run
from tests.fakes import FakeMultiMail


@pytest.fixture
def multimail():
    return FakeMultiMail()


def test_a_backlog_longer_than_a_runs_pages_is_read_to_the_end_over_the_next_runs(db, multimail, monkeypatch):
    """A run that runs out of pages goes on where it stopped the next time: read from the top each time,
    the entries below a run's last page were never read (the soak: 526 decisions reported missing)."""
    from reviewqueue.audit import reconcile

    monkeypatch.setattr(reconcile, "MAX_PAGES", 2)
    monkeypatch.setattr(reconcile, "PAGE_LIMIT", 10)

    def decisions(first, last):
        for n in range(first, last + 1):
            multimail.add_audit_entry("oversight.approved", f"em_{n}")

    decisions(1, 5)
    assert reconciliation_run(client=multimail.client()).complete
    decisions(6, 50)  # 45 new entries: more than the 2 pages of 10 a run may read
    second = reconciliation_run(client=multimail.client())
    decisions(51, 55)  # arriving while the backlog is read
    third = reconciliation_run(client=multimail.client())
    fourth = reconciliation_run(client=multimail.client())

    assert (second.complete, third.complete, fourth.complete) == (False, False, True)
    assert (second.entries_read, third.entries_read, fourth.entries_read) == (20, 20, 10)
    assert MultiMailDecision.objects.count() == 55
    state = ReconciliationState.objects.get(source="multimail")
    assert (state.cursor, state.resume_cursor) == ("al_55", "")
