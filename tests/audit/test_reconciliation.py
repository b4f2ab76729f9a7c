"""Reconciliation reads MultiMail's audit log (the shared fake, tests/fakes.py) and lists disagreements."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reviewqueue.audit.models import AuditEvent, MultiMailDecision, ReconciliationFinding, ReconciliationState
from reviewqueue.audit.reconcile import reconciliation_run
from tests.fakes import FakeMultiMail

from .factories import record_decision


@pytest.fixture
def multimail():
    return FakeMultiMail()


def _later(minutes: int) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def test_a_decision_made_in_multimail_alone_is_listed_as_outside_reviewqueue(db, multimail):
    record_decision(decision_id=1, draft_id=10)  # email em_10, decided here
    multimail.add_audit_entry("oversight.approved_and_sent", "em_10")
    multimail.add_audit_entry("oversight.rejected", "em_99")  # nobody in reviewqueue decided em_99
    multimail.add_audit_entry("mailbox.updated", "mbx_1", resource_type="mailbox")
    report = reconciliation_run(client=multimail.client())
    assert (report.entries_read, report.decisions_stored, report.outside_found) == (3, 2, 1)
    finding = ReconciliationFinding.objects.get()
    assert (finding.kind, finding.email_id, finding.multimail_action) == (
        "outside_reviewqueue",
        "em_99",
        "oversight.rejected",
    )


def test_our_decision_missing_at_multimail_is_listed_only_after_the_grace_period(db, multimail):
    decided = record_decision(decision_id=1, draft_id=10)
    reconciliation_run(client=multimail.client())
    assert not ReconciliationFinding.objects.exists()  # still within the grace period

    reconciliation_run(client=multimail.client(), now=_later(20))
    finding = ReconciliationFinding.objects.get()
    assert (finding.kind, finding.email_id, finding.event_seq) == ("not_at_multimail", "em_10", decided.seq)

    multimail.add_audit_entry("oversight.approved", "em_10")  # it lands late
    report = reconciliation_run(client=multimail.client(), now=_later(25))
    assert report.resolved == 1
    assert ReconciliationFinding.objects.get().resolved_at is not None


def test_each_run_reads_only_new_entries_and_pages_through_them(db, multimail):
    for n in range(250):
        multimail.add_audit_entry("oversight.approved", f"em_{n}")
    first = reconciliation_run(client=multimail.client())
    assert first.entries_read == 250 and first.complete
    assert len(multimail.requests) == 3  # 100 + 100 + 50
    assert MultiMailDecision.objects.count() == 250
    assert ReconciliationState.objects.get(source="multimail").cursor == "al_250"

    multimail.add_audit_entry("oversight.rejected", "em_new")
    second = reconciliation_run(client=multimail.client())
    assert (second.entries_read, second.decisions_stored) == (1, 1)
    assert ReconciliationState.objects.get(source="multimail").cursor == "al_251"


def _queries_of_a_quiet_run(multimail, history: int, *, start: int) -> int:
    """Queries of a run with nothing new, after `history` decisions of ours that MultiMail recorded."""
    for n in range(start, start + history):
        record_decision(decision_id=n, draft_id=n)
        multimail.add_audit_entry("oversight.approved", f"em_{n}")
    reconciliation_run(client=multimail.client(), now=_later(20 + start))  # checks them all once
    with CaptureQueriesContext(connection) as queries:
        report = reconciliation_run(client=multimail.client(), now=_later(21 + start))
    assert (report.entries_read, report.outside_found, report.not_at_multimail_found) == (0, 0, 0)
    return len(queries)


def test_a_run_looks_only_at_what_is_new_however_long_the_history(db, multimail):
    small = _queries_of_a_quiet_run(multimail, 5, start=0)
    assert MultiMailDecision.objects.filter(checked_at__isnull=True).count() == 0
    assert _queries_of_a_quiet_run(multimail, 1500, start=100) == small  # more than one chunk of 1,000
    assert not ReconciliationFinding.objects.exists()


def test_an_entry_arriving_after_its_decision_was_checked_is_still_matched(db, multimail):
    record_decision(decision_id=1, draft_id=10)
    multimail.add_audit_entry("oversight.rejected", "em_77")  # outside reviewqueue
    reconciliation_run(client=multimail.client(), now=_later(20))  # em_10 missing at MultiMail: a finding
    multimail.add_audit_entry("oversight.approved", "em_10")
    multimail.add_audit_entry("oversight.approved", "em_78")  # another outside one, after the first run
    report = reconciliation_run(client=multimail.client(), now=_later(21))
    assert (report.outside_found, report.resolved) == (1, 1)
    findings = {(f.kind, f.email_id, f.resolved_at is not None) for f in ReconciliationFinding.objects.all()}
    assert findings == {
        ("outside_reviewqueue", "em_77", False),
        ("outside_reviewqueue", "em_78", False),
        ("not_at_multimail", "em_10", True),  # resolved once its entry arrived
    }


def test_every_run_is_audited(db, multimail):
    multimail.add_audit_entry("oversight.rejected", "em_5")
    reconciliation_run(client=multimail.client())
    event = AuditEvent.objects.get(action="audit.reconciled")
    assert event.actor_type == "system"
    assert event.payload["outside_found"] == 1 and event.payload["entries_read"] == 1


def test_without_an_admin_key_the_run_is_skipped_with_a_reason(db, multimail):
    report = reconciliation_run(client=multimail.client(admin_api_key=""))
    assert "MULTIMAIL_ADMIN_API_KEY" in report.skipped
    assert multimail.requests == [] and not AuditEvent.objects.exists()


def test_auditors_see_the_findings(auditor_client, db, multimail):
    multimail.add_audit_entry("oversight.rejected", "em_77")
    reconciliation_run(client=multimail.client())
    response = auditor_client.get("/audit/reconciliation/")
    assert response.status_code == 200
    assert "em_77" in response.content.decode() and "Decided outside reviewqueue" in response.content.decode()
