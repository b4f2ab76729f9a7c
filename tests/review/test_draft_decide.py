import pytest

from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import RequestOrigin
from reviewqueue.review.claims import draft_claim
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.errors import DraftAlreadyDecided, DraftClaimedByOther, InvalidDecision
from reviewqueue.review.models import Decision, Draft, OutboxItem
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_approving_records_who_decided_with_its_audit_event_and_outbox_rows(draft, reviewer):
    decision = draft_decide(
        draft=draft,
        reviewer=reviewer,
        action="approve",
        reason="",
        origin="web",
        request_origin=RequestOrigin(ip="10.0.0.7", user_agent="pytest"),
    )
    assert decision.reviewer_username == "rita"
    assert decision.reviewer_email == "rita@example.com"
    assert decision.ip == "10.0.0.7"
    assert decision.content_hash == draft.content_hash
    assert Draft.objects.get(pk=draft.pk).status == Draft.Status.DECIDED
    event = AuditEvent.objects.get(action="draft.decided")
    assert event.payload["decision_id"] == decision.pk
    assert event.payload["reviewer"]["username"] == "rita"
    assert event.payload["draft"]["subject"] == "About your order"
    kinds = set(OutboxItem.objects.filter(decision=decision).values_list("kind", flat=True))
    assert OutboxItem.Kind.DECIDE in kinds


def test_rejecting_without_a_reason_is_refused(draft, reviewer):
    with pytest.raises(InvalidDecision):
        draft_decide(draft=draft, reviewer=reviewer, action="reject", reason="  ", origin="web")
    assert not Decision.objects.exists()


def test_a_second_decision_names_the_first_decider(draft, reviewer, django_user_model):
    draft_decide(draft=draft, reviewer=reviewer, action="reject", reason="Wrong recipient", origin="web")
    other = make_user(django_user_model, "sam", "reviewer")
    with pytest.raises(DraftAlreadyDecided) as refused:
        draft_decide(draft=draft, reviewer=other, action="approve", reason="", origin="api")
    assert refused.value.decision.reviewer_username == "rita"
    assert "rejected by" in str(refused.value)
    assert Decision.objects.count() == 1


def test_a_reviewer_cannot_decide_a_draft_someone_else_claimed(draft, reviewer, django_user_model):
    other = make_user(django_user_model, "sam", "reviewer")
    draft_claim(draft=draft, reviewer=other)
    with pytest.raises(DraftClaimedByOther):
        draft_decide(draft=draft, reviewer=reviewer, action="approve", reason="", origin="web")
    assert not Decision.objects.exists()


def test_the_audit_append_is_the_last_write_so_the_log_lock_is_held_only_to_commit(draft, reviewer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        draft_decide(draft=draft, reviewer=reviewer, action="approve", reason="", origin="api")
    statements = [q["sql"] for q in queries.captured_queries]
    lock = next(n for n, sql in enumerate(statements) if "pg_advisory_xact_lock" in sql)
    after_lock = [sql for sql in statements[lock + 1 :] if not sql.startswith(("RELEASE SAVEPOINT", "COMMIT"))]
    assert len(after_lock) == 1 and after_lock[0].startswith("INSERT INTO audit_auditevent"), after_lock
