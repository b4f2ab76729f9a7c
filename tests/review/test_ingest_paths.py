"""The three ways a draft arrives (webhook, poll, intake) make one draft between them."""

import pytest

from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor
from reviewqueue.integrations.inbound.services import inbound_store
from reviewqueue.integrations.multimail.events import webhook_event_handle
from reviewqueue.review.ingest import draft_receive
from reviewqueue.review.models import Draft
from reviewqueue.review.poll import pending_sync

pytestmark = pytest.mark.django_db(transaction=True)  # the poll fetches on threads, each with its own connection


def webhook_pending(email_id: str, delivery_id: str) -> None:
    payload = {"event_type": "oversight.pending", "message_id": email_id, "mailbox": "mbx_1"}
    record, _ = inbound_store(source="multimail", delivery_id=delivery_id, topic="oversight.pending", payload=payload)
    if record is not None:
        webhook_event_handle(record_id=record.pk)


def test_webhook_then_poll_then_intake_make_one_draft(broker, multimail, intercom):
    multimail.add_email("em_1")
    webhook_pending("em_1", "delivery-1")
    webhook_pending("em_1", "delivery-2")  # MultiMail retried the webhook under a new delivery id
    result = pending_sync(multimail=multimail.client(), intercom=intercom.client())
    draft, created = draft_receive(
        email_id="em_1", mailbox_id="mbx_1", source="intake", actor=Actor.system("intake"), conversation_id="c_9"
    )
    assert result.received == 0
    assert not created
    assert Draft.objects.count() == 1
    assert (draft.source, draft.conversation_id, draft.conversation_link) == ("webhook", "c_9", "intake")
    assert AuditEvent.objects.filter(action="draft.received").count() == 1


def test_the_poll_finds_what_the_webhook_lost(broker, multimail, intercom):
    multimail.add_email("em_1")
    multimail.add_email("em_2")
    webhook_pending("em_1", "delivery-1")  # the webhook for em_2 never came
    result = pending_sync(multimail=multimail.client(), intercom=intercom.client())
    assert result.received == 1
    assert set(Draft.objects.values_list("email_id", "source")) == {("em_1", "webhook"), ("em_2", "poll")}
    assert Draft.objects.filter(fetched_at__isnull=False).count() == 2  # the poll fetched the webhook's draft too
