import pytest

from reviewqueue.audit.models import AuditEvent
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.models import Draft, OutboxItem
from tests.review.conftest import multimail_event, received_draft

pytestmark = pytest.mark.django_db


@pytest.fixture
def linked(db):
    return received_draft(
        conversation_id="c_7", conversation_link="tag", thread_id="thr_1", subject="Refund <b>now</b>"
    )


def test_approved_in_multimails_dashboard_shows_as_decided_elsewhere(linked, broker, multimail, use_fakes):
    multimail.add_email("em_1", status="approved")  # what reading the email back finds
    assert multimail_event("oversight.approved", "em_1", {"status": "approved"})
    draft = Draft.objects.get(pk=linked.pk)
    assert draft.status == Draft.Status.DECIDED_ELSEWHERE
    assert AuditEvent.objects.filter(action="draft.decided_elsewhere").count() == 1


def test_the_echo_of_our_own_decision_changes_nothing_but_the_status(linked, reviewer, broker):
    draft_decide(draft=linked, reviewer=reviewer, action="approve", reason="", origin="web")
    assert multimail_event("oversight.approved", "em_1", {})
    assert Draft.objects.get(pk=linked.pk).status == Draft.Status.DECIDED
    assert not AuditEvent.objects.filter(action="draft.decided_elsewhere").exists()


def test_delivery_is_recorded_once_and_told_to_the_conversation(linked, broker, django_capture_on_commit_callbacks):
    payload = {"timestamp": "2026-11-25T11:00:00Z"}
    with django_capture_on_commit_callbacks(execute=True):
        assert multimail_event("message.delivered", "em_1", payload)
        assert multimail_event("message.delivered", "em_1", payload)
    draft = Draft.objects.get(pk=linked.pk)
    assert draft.delivered_at.isoformat() == "2026-11-25T11:00:00+00:00"
    assert AuditEvent.objects.filter(action="email.delivered").count() == 1
    [note] = OutboxItem.objects.filter(kind="event_note")
    assert "delivered" in note.payload["body_html"]
    assert "&lt;b&gt;" in note.payload["body_html"]  # the subject is escaped in the note's HTML
    assert ("review.outbox_run", [note.pk]) in broker.queued()


def test_a_bounce_is_recorded_with_its_type(linked, broker):
    multimail_event("message.bounced", "em_1", {"bounce_type": "hard"})
    draft = Draft.objects.get(pk=linked.pk)
    assert draft.bounced_at is not None and draft.bounce_type == "hard"
    assert AuditEvent.objects.filter(action="email.bounced").count() == 1


def test_a_customer_reply_on_the_thread_is_recorded(linked, broker):
    assert multimail_event("message.received", "em_in_9", {"thread_id": "thr_1"})
    assert Draft.objects.get(pk=linked.pk).reply_received_at is not None
    assert AuditEvent.objects.filter(action="email.reply_received").count() == 1


def test_events_for_unknown_emails_and_topics_are_ignored(linked, broker):
    assert not multimail_event("message.delivered", "em_other", {})
    assert not multimail_event("message.complained", "em_1", {})
    assert not multimail_event("message.received", "em_in", {})
