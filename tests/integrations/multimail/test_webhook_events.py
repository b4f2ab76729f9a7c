"""Handling a stored MultiMail delivery: dispatch by event type, then settle the record."""

import pytest

from reviewqueue.integrations.inbound.services import inbound_store
from reviewqueue.integrations.multimail.events import (
    PayloadError,
    email_id_of,
    handled_event_types,
    handler_for,
    handler_register,
    mailbox_id_of,
    webhook_event_handle,
)
from reviewqueue.integrations.multimail.tasks import multimail_webhook_handle
from reviewqueue.review import events as review_events


def stored(topic, payload=None, source="multimail"):
    payload = {"event_type": topic, "message_id": "em_1", "mailbox_id": "mb_1"} if payload is None else payload
    record, _ = inbound_store(source=source, delivery_id=f"{topic}-{id(payload)}", topic=topic, payload=payload)
    return record


def status_of(record):
    record.refresh_from_db()
    return record.status


def test_every_oversight_and_message_event_review_acts_on_has_the_handler_review_registered():
    """Other apps may register event types of their own (one handler per type); these are review's."""
    review_handlers = {
        "oversight.pending": review_events.oversight_pending,
        "oversight.approved": review_events.oversight_decided,
        "oversight.rejected": review_events.oversight_decided,
        "message.delivered": review_events.message_delivered,
        "message.bounced": review_events.message_bounced,
        "message.received": review_events.message_received,
    }
    assert review_handlers.keys() <= handled_event_types()
    assert {event: handler_for(event) for event in review_handlers} == review_handlers
    assert handler_for("message.complained") is None


def test_registering_the_same_handler_again_is_harmless_and_a_second_one_is_refused():
    review_events.multimail_handlers_register()  # as a second ready() would
    assert handler_for("message.bounced") is review_events.message_bounced
    with pytest.raises(ValueError, match=r"message\.bounced already has a handler"):
        handler_register("message.bounced", lambda payload: True)
    assert handler_for("message.bounced") is review_events.message_bounced


def test_dispatches_to_the_handler_for_the_event_and_marks_processed(db):
    seen = []
    record = stored("oversight.pending")
    result = webhook_event_handle(record_id=record.pk, handlers={"oversight.pending": lambda p: seen.append(p) or True})
    assert result == "processed" and status_of(record) == "processed"
    assert seen == [record.payload]


def test_handler_that_had_nothing_to_do_marks_ignored(db):
    record = stored("message.delivered")
    assert webhook_event_handle(record_id=record.pk, handlers={"message.delivered": lambda p: False}) == "ignored"
    assert status_of(record) == "ignored"


def test_unknown_event_is_marked_ignored(db):
    record = stored("message.complained")
    assert webhook_event_handle(record_id=record.pk, handlers={}) == "ignored"
    assert status_of(record) == "ignored"


def test_payload_without_an_email_id_is_marked_failed_with_the_reason(db):
    record = stored("oversight.pending", payload={"event_type": "oversight.pending", "mailbox_id": "mb_1"})
    assert webhook_event_handle(record_id=record.pk) == "failed"
    record.refresh_from_db()
    assert record.status == "failed" and "message_id" in record.error


def test_settled_record_is_not_handled_twice(db):
    calls = []
    record = stored("oversight.pending")
    handlers = {"oversight.pending": lambda p: calls.append(1) or True}
    webhook_event_handle(record_id=record.pk, handlers=handlers)
    webhook_event_handle(record_id=record.pk, handlers=handlers)
    assert calls == [1]


def test_records_of_another_source_are_not_touched(db):
    record = stored("oversight.pending", source="intercom")
    assert webhook_event_handle(record_id=record.pk, handlers={"oversight.pending": lambda p: True}) == "missing"
    assert status_of(record) == "received"


def test_task_runs_the_handling_by_record_id(db):
    record = stored("message.complained")
    assert multimail_webhook_handle.apply(args=(record.pk,)).get() == "ignored"
    assert status_of(record) == "ignored"


@pytest.mark.parametrize(
    ("payload", "email_id", "mailbox_id"),
    [
        ({"message_id": "em_1", "mailbox": "mb_1"}, "em_1", "mb_1"),
        ({"email_id": "em_2", "mailbox_id": "mb_2"}, "em_2", "mb_2"),
        ({"data": {"message_id": "em_3", "mailbox_id": "mb_3"}}, "em_3", "mb_3"),
        ({}, "", ""),
    ],
)
def test_ids_are_read_from_the_documented_and_tolerated_fields(payload, email_id, mailbox_id):
    assert email_id_of(payload) == email_id and mailbox_id_of(payload) == mailbox_id


def test_handlers_refuse_payloads_missing_what_they_need():
    with pytest.raises(PayloadError, match="mailbox"):
        review_events.oversight_pending({"event_type": "oversight.pending", "message_id": "em_1"})
    with pytest.raises(PayloadError, match="message_id"):
        review_events.message_bounced({"event_type": "message.bounced"})


def test_oversight_pending_receives_the_draft_through_the_review_core(db):
    from reviewqueue.audit.models import AuditEvent
    from reviewqueue.review.models import Draft

    payload = {
        "id": "evt_a",
        "event_type": "oversight.pending",
        "mailbox": "help@x.dev",
        "mailbox_id": "mb_7",
        "message_id": "em_77",
    }
    record, _ = inbound_store(source="multimail", delivery_id="evt_a", topic="oversight.pending", payload=payload)
    assert webhook_event_handle(record_id=record.pk) == "processed"
    draft = Draft.objects.get(email_id="em_77")
    assert (draft.mailbox_id, draft.source) == ("mb_7", "webhook")
    assert AuditEvent.objects.filter(action="draft.received", target_id=str(draft.pk)).exists()

    again, _ = inbound_store(
        source="multimail", delivery_id="evt_b", topic="oversight.pending", payload={**payload, "id": "evt_b"}
    )
    assert webhook_event_handle(record_id=again.pk) == "ignored"  # already received: nothing new
    assert Draft.objects.filter(email_id="em_77").count() == 1


def test_delivery_event_for_an_unknown_email_is_ignored_by_the_review_core(db):
    record = stored("message.delivered", payload={"event_type": "message.delivered", "message_id": "em_nobody"})
    assert webhook_event_handle(record_id=record.pk) == "ignored"


def test_redrive_re_enqueues_only_deliveries_left_received_too_long(db, broker):
    from datetime import timedelta

    from django.utils import timezone

    from reviewqueue.integrations.inbound.models import InboundWebhook
    from reviewqueue.integrations.multimail.tasks import multimail_webhooks_redrive

    broker.kept_messages_since(timezone.now() - timedelta(days=1))  # no loss: only time tells a lost message
    lost = stored("oversight.pending")
    fresh = stored("message.delivered")
    settled = stored("message.bounced")
    InboundWebhook.objects.filter(pk__in=[lost.pk, settled.pk]).update(received_at=timezone.now() - timedelta(hours=1))
    InboundWebhook.objects.filter(pk=settled.pk).update(status="processed")
    assert multimail_webhooks_redrive() == 1
    assert broker.queued() == [("multimail_webhook_handle", [lost.pk])]
    assert fresh.status == "received"  # too recent: its own task may still be on the way


def test_deliveries_stored_before_the_broker_lost_its_messages_are_redriven_at_once_and_once(db, broker):
    from datetime import timedelta

    from django.utils import timezone

    from reviewqueue.integrations.inbound.models import InboundWebhook
    from reviewqueue.integrations.multimail.tasks import multimail_webhooks_redrive

    broker.kept_messages_since(timezone.now() - timedelta(minutes=5))  # the loss, five minutes ago
    lost = stored("oversight.pending")
    after = stored("message.delivered")
    InboundWebhook.objects.filter(pk=lost.pk).update(received_at=timezone.now() - timedelta(minutes=6))
    InboundWebhook.objects.filter(pk=after.pk).update(received_at=timezone.now() - timedelta(minutes=4))

    assert multimail_webhooks_redrive() == 1  # six minutes, not the ten it waits for a message that may come
    assert multimail_webhooks_redrive() == 0  # once per loss
    assert broker.queued() == [("multimail_webhook_handle", [lost.pk])]  # `after` has its own message
