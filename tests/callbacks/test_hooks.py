"""What queues a callback: a decision MultiMail took (through the real outbox), MultiMail's later
events (delivered, bounced through review's handlers; sent through ours), once per draft and event,
and only for drafts an intake token with a callback submitted."""

import json

import pytest

from reviewqueue.callbacks.models import CallbackDelivery
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.models import Draft, OutboxItem
from reviewqueue.review.outbox import outbox_run
from reviewqueue.review.signals import send_decision_carried_out
from tests.callbacks.conftest import issued_token, submitted_draft, with_callback
from tests.review.conftest import multimail_event, received_draft

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(lenient):
    token = issued_token()
    with_callback(token, "http://127.0.0.1:9/callbacks")
    return token


@pytest.fixture
def draft(agent, multimail, intercom, use_fakes):
    contact = intercom.add_contact("customer@example.com")
    intercom.add_conversation("c_7", contact=contact)
    multimail.add_email("em_1", tags={"intercom_conversation_id": "c_7"})
    return submitted_draft(agent, conversation_id="c_7", conversation_link="tag", subject="Your refund")


def named(reviewer):
    reviewer.first_name, reviewer.last_name = "Rita", "Reyes"
    reviewer.save()
    return reviewer


def carry_out(multimail, intercom):
    mm, ic = multimail.client(), intercom.client()
    for item in OutboxItem.objects.order_by("pk"):
        outbox_run(item_id=item.pk, multimail=mm, intercom=ic)


@pytest.fixture
def event(django_capture_on_commit_callbacks):
    """MultiMail's webhook event handled, and what it left for after its commit run (review's signals)."""

    def handle(event_type: str, email_id: str, payload: dict) -> bool:
        with django_capture_on_commit_callbacks(execute=True):
            return multimail_event(event_type, email_id, payload)

    return handle


def body(delivery: CallbackDelivery) -> dict:
    return json.loads(delivery.body)


def test_a_rejection_carried_out_queues_draft_rejected_with_the_decision(broker, draft, reviewer, multimail, intercom):
    decision = draft_decide(draft=draft, reviewer=named(reviewer), action="reject", reason="Wrong tone", origin="web")
    assert not CallbackDelivery.objects.exists()  # nothing reached MultiMail yet
    carry_out(multimail, intercom)
    [delivery] = CallbackDelivery.objects.all()
    assert (delivery.event, delivery.draft_id, delivery.status) == ("draft.rejected", draft.pk, "pending")
    sent = body(delivery)
    assert sent["type"] == "draft.rejected"
    data = sent["data"]
    assert (data["draft_id"], data["email_id"], data["conversation_id"]) == (draft.pk, "em_1", "c_7")
    assert data["decision"]["id"] == decision.pk
    assert data["decision"]["reviewer"] == {"username": "rita", "name": "Rita Reyes"}
    assert data["decision"]["reason"] == "Wrong tone" and data["decision"]["edited"] is False
    assert data["decision"]["final_content_hash"] == draft.content_hash
    assert data["decision"]["multimail_status"] == "rejected" and data["decision"]["decided_at"]


def test_changes_requested_carries_the_feedback(broker, draft, reviewer, multimail, intercom):
    draft_decide(
        draft=draft, reviewer=named(reviewer), action="request_changes", reason="Refund is 45 EUR", origin="web"
    )
    carry_out(multimail, intercom)
    [delivery] = CallbackDelivery.objects.all()
    assert delivery.event == "draft.changes_requested"
    assert body(delivery)["data"]["decision"]["reason"] == "Refund is 45 EUR"
    assert body(delivery)["data"]["decision"]["action"] == "request_changes"


def test_an_approval_queues_draft_approved(broker, draft, reviewer, multimail, intercom):
    draft_decide(draft=draft, reviewer=reviewer, action="approve", reason="", origin="web", confirm_changed=True)
    carry_out(multimail, intercom)
    assert list(CallbackDelivery.objects.values_list("event", flat=True)) == ["draft.approved"]


def test_the_signal_sent_twice_queues_one_callback(broker, draft, reviewer, multimail, intercom):
    """An outbox step re-driven after a killed worker announces the decision again."""
    decision = draft_decide(draft=draft, reviewer=reviewer, action="reject", reason="No", origin="web")
    carry_out(multimail, intercom)
    send_decision_carried_out(
        decision_id=decision.pk, draft_id=draft.pk, action="reject", final_email_id="em_1", multimail_status="rejected"
    )
    assert CallbackDelivery.objects.count() == 1


def test_no_callback_for_a_draft_not_submitted_through_intake(broker, lenient, reviewer):
    draft = received_draft(email_id="em_webhook")
    send_decision_carried_out(
        decision_id=0, draft_id=draft.pk, action="reject", final_email_id="em_webhook", multimail_status="rejected"
    )
    assert not CallbackDelivery.objects.exists()


def test_no_callback_for_a_token_without_one(broker, lenient, event):
    draft = submitted_draft(issued_token("silent agent"))
    assert event("message.delivered", draft.email_id, {"timestamp": "2026-12-07T10:00:00Z"})
    assert not CallbackDelivery.objects.exists()


def test_delivered_and_bounced_come_from_multimails_events(broker, agent, event):
    draft = submitted_draft(agent)
    assert event("message.delivered", "em_1", {"timestamp": "2026-12-07T10:00:00Z"})
    assert event("message.delivered", "em_1", {"timestamp": "2026-12-07T10:00:00Z"})  # repeated
    other = submitted_draft(agent, email_id="em_2")
    assert event("message.bounced", "em_2", {"bounce_type": "hard", "timestamp": "2026-12-07T10:01:00Z"})
    delivered, bounced = CallbackDelivery.objects.order_by("pk")
    assert (delivered.event, delivered.draft_id) == ("draft.delivered", draft.pk)
    assert body(delivered)["timestamp"] == "2026-12-07T10:00:00+00:00"
    assert body(delivered)["data"]["email"]["delivered_at"] == "2026-12-07T10:00:00+00:00"
    assert (bounced.event, bounced.draft_id) == ("draft.bounced", other.pk)
    assert body(bounced)["data"]["email"]["bounce_type"] == "hard"


def test_sent_comes_from_multimails_message_sent(broker, agent, event):
    draft = submitted_draft(agent, thread_id="th_1")
    assert event("message.sent", "em_1", {"timestamp": "2026-12-07T09:59:00Z"})
    assert event("message.sent", "em_1", {"timestamp": "2026-12-07T09:59:00Z"})
    [sent] = CallbackDelivery.objects.all()
    assert (sent.event, sent.draft_id) == ("draft.sent", draft.pk)
    assert body(sent)["data"]["email"]["sent_at"] == "2026-12-07T09:59:00+00:00"
    assert not event("message.sent", "em_unknown", {})
    assert not event("message.sent", "em_other", {"thread_id": "th_1"})  # its thread, not the draft


def test_other_apps_hear_of_sent_through_reviews_signal(broker, agent, event):
    from reviewqueue.review.signals import email_event_recorded

    heard = []

    def listener(**kwargs):
        heard.append((kwargs["draft_id"], kwargs["event"]))

    email_event_recorded.connect(listener)
    try:
        draft = submitted_draft(agent)
        assert event("message.sent", "em_1", {})
    finally:
        email_event_recorded.disconnect(listener)
    assert heard == [(draft.pk, "draft.sent")]


def test_message_sent_for_another_mailboxs_draft_is_refused(broker, agent, event):
    from reviewqueue.integrations.multimail.events import PayloadError
    from reviewqueue.routing.models import Mailbox

    Mailbox.objects.create(mailbox_id="mbx_other", address="other@acme.test")
    submitted_draft(agent)  # in mbx_1
    with pytest.raises(PayloadError, match="another mailbox"):
        event("message.sent", "em_1", {"mailbox_id": "mbx_other"})
    assert not CallbackDelivery.objects.exists()


def test_events_on_an_edited_copy_are_told_about_the_agents_draft(broker, agent, event):
    """Approve with edits sends a new email; its delivery is the agent's draft's delivery."""
    original = submitted_draft(agent)
    copy = received_draft(email_id="em_edited")
    Draft.objects.filter(pk=copy.pk).update(edit_of=original)
    assert event("message.delivered", "em_edited", {"timestamp": "2026-12-07T10:00:00Z"})
    [delivered] = CallbackDelivery.objects.all()
    assert delivered.draft_id == original.pk and delivered.event == "draft.delivered"
    assert body(delivered)["data"]["email"]["delivered_at"] == "2026-12-07T10:00:00+00:00"
