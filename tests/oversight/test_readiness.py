"""The verdict at each threshold's edge (the default policy: 200 decisions over 28 days, 98% unedited
in the last 14 days, no safety or policy rejection in them, verify_audit clean)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from reviewqueue.audit.models import AuditVerification
from reviewqueue.oversight.readiness import readiness_verdict

from .factories import seed_decision

pytestmark = pytest.mark.django_db


def at(days_ago: int) -> datetime:
    return datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=days_ago)


@pytest.fixture
def verified(db):
    now = timezone.now()
    return AuditVerification.objects.create(started_at=now, finished_at=now, status=AuditVerification.Status.INTACT)


def history(reviewer, *, total=200, first_days_ago=27, recent_rejects=0, reason="Tone not appropriate"):
    """`total` decisions: one `first_days_ago` days ago, the rest in the last 14 days (rejections among them)."""
    seed_decision(reviewer, decided_at=at(first_days_ago))
    for index in range(total - 1):
        rejected = index < recent_rejects
        seed_decision(reviewer, decided_at=at(index % 14), action="reject" if rejected else "approve",
                      reason=reason if rejected else "")  # fmt: skip


def criteria(verdict) -> dict:
    return {c.name: c.met for c in verdict.criteria}


def test_ready_at_exactly_200_decisions_28_days_and_98_percent(reviewer, verified):
    history(reviewer, total=200, first_days_ago=27, recent_rejects=3)  # 199 recent: 196/199 = 98.49%
    verdict = readiness_verdict("mbx_support")
    assert verdict.ready, verdict.summary
    assert verdict.summary.startswith("Ready: 200 decisions (needs 200); 28 days since the first decision")


def test_199_decisions_is_not_ready(reviewer, verified):
    history(reviewer, total=199)
    verdict = readiness_verdict("mbx_support")
    assert criteria(verdict) == {"decisions": False, "history": True, "approved_unedited": True,
                                 "no_safety_rejection": True, "verify_audit": True}  # fmt: skip
    assert verdict.summary == "Not ready: 199 decisions (needs 200)"


def test_27_days_of_history_is_not_ready(reviewer, verified):
    history(reviewer, first_days_ago=26)
    verdict = readiness_verdict("mbx_support")
    assert verdict.summary == "Not ready: 27 days since the first decision (needs 28)"


def test_just_under_98_percent_unedited_names_the_share(reviewer, verified):
    history(reviewer, total=200, recent_rejects=4)  # 195/199 recent = 97.99%
    verdict = readiness_verdict("mbx_support")
    assert verdict.summary == "Not ready: 98.0% approved unedited in the last 14 days (needs 98%)"
    assert criteria(verdict)["approved_unedited"] is False


def test_the_issue_example_wording(reviewer, verified):
    seed_decision(reviewer, decided_at=at(40))
    for index in range(1000):
        seed_decision(reviewer, decided_at=at(index % 14), action="reject" if index < 39 else "approve",
                      reason="Tone not appropriate")  # fmt: skip
    verdict = readiness_verdict("mbx_support")
    assert verdict.summary == "Not ready: 96.1% approved unedited in the last 14 days (needs 98%)"


def test_one_safety_rejection_in_the_window_blocks_but_an_older_one_does_not(reviewer, verified):
    history(reviewer, total=200, recent_rejects=1, reason="Contains sensitive or internal data")
    verdict = readiness_verdict("mbx_support")
    assert verdict.summary == "Not ready: 1 rejection with a safety or policy reason in the last 14 days (needs none)"


def test_a_free_text_reason_naming_policy_blocks(reviewer, verified):
    history(reviewer, total=200, recent_rejects=1, reason="breaks our refund Policy")
    assert criteria(readiness_verdict("mbx_support"))["no_safety_rejection"] is False


def test_a_safety_rejection_15_days_ago_is_outside_the_window(reviewer, verified):
    history(reviewer, total=200)
    seed_decision(reviewer, decided_at=at(14), action="reject", reason="Contains sensitive or internal data")
    assert readiness_verdict("mbx_support").ready


def test_verify_audit_must_have_run_clean(reviewer):
    history(reviewer, total=200)
    assert readiness_verdict("mbx_support").summary == "Not ready: verify_audit has never run (needs a clean run)"
    now = timezone.now()
    AuditVerification.objects.create(started_at=now, finished_at=now, status=AuditVerification.Status.BROKEN)
    assert "verify_audit broken" in readiness_verdict("mbx_support").summary
