"""A monitored mailbox's sends reach the spot checks from MultiMail's message.sent webhook too, not
only from the sweep's poll: review owns the event (one handler per type) and tells other apps through
its `email_sent` signal, which oversight connects in its AppConfig.ready(). Whoever sees a send first,
the webhook or the poll, it is recorded and sampled once."""

import threading

import pytest
from django.db import connection

from reviewqueue.integrations.inbound.models import InboundWebhook
from reviewqueue.integrations.multimail.events import webhook_event_handle
from reviewqueue.oversight.models import MonitoredSend
from reviewqueue.oversight.spot_checks import sends_learn
from reviewqueue.review.models import Draft
from reviewqueue.routing.models import Mailbox
from tests.oversight import test_spot_checks as spot

sandbox, monitored, send_many = spot.sandbox, spot.monitored, spot.send_many  # its fixtures and helper


def sent_ids(sandbox, mailbox_id: str) -> list[str]:
    page = sandbox.client.list_emails(mailbox_id=mailbox_id, status="approved_and_sent", limit=100)
    return [email.id for email in page.emails]


def webhook(mailbox_id: str, email_id: str) -> str:
    """A stored message.sent delivery handled through MultiMail's dispatch table, as the task does."""
    payload = {"event_type": "message.sent", "mailbox": mailbox_id, "message_id": email_id,
               "timestamp": "2026-12-07T10:00:00Z"}  # fmt: skip
    record = InboundWebhook.objects.create(
        source="multimail", delivery_id=f"sent-{email_id}-{InboundWebhook.objects.count()}",
        topic="message.sent", payload=payload,
    )  # fmt: skip
    return webhook_event_handle(record_id=record.pk)


def test_the_webhook_alone_records_and_samples_a_monitored_send(sandbox, monitored):
    send_many(sandbox, monitored, 3)
    for email_id in sent_ids(sandbox, monitored):
        assert webhook(monitored, email_id) == InboundWebhook.Status.PROCESSED
    sends = MonitoredSend.objects.filter(mailbox_id=monitored)
    assert sends.count() == 3
    assert sends.filter(sampled=True).count() == 3  # under the daily minimum of 5: every one
    assert all(send.markdown.startswith("Your order") and send.subject.startswith("Order") for send in sends)


def test_webhook_then_poll_and_poll_then_webhook_record_each_send_once(sandbox, monitored):
    send_many(sandbox, monitored, 4)
    first, *rest = sent_ids(sandbox, monitored)
    assert webhook(monitored, first) == InboundWebhook.Status.PROCESSED
    assert sends_learn(monitored) == 3  # the poll learns only the three the webhook did not
    for email_id in [first, *rest]:
        assert webhook(monitored, email_id) == InboundWebhook.Status.PROCESSED  # known: nothing new
    assert MonitoredSend.objects.filter(mailbox_id=monitored).count() == 4
    assert sorted(MonitoredSend.objects.values_list("email_id", flat=True)) == sorted([first, *rest])


def test_a_gated_mailbox_or_one_of_our_drafts_is_not_spot_checked(sandbox, monitored):
    send_many(sandbox, monitored, 2)
    ours, theirs = sent_ids(sandbox, monitored)
    Draft.objects.create(email_id=ours, mailbox_id=monitored, source="webhook", subject="Reviewed here")
    assert webhook(monitored, ours) == InboundWebhook.Status.PROCESSED  # our draft: review took notice
    Mailbox.objects.filter(mailbox_id=monitored).update(oversight_mode="gated_send")
    assert webhook(monitored, theirs) == InboundWebhook.Status.IGNORED
    assert not MonitoredSend.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_webhook_and_the_poll_racing_record_and_sample_each_send_once(sandbox, monitored):
    send_many(sandbox, monitored, 8)
    ids = sent_ids(sandbox, monitored)
    barrier, errors = threading.Barrier(2), []

    def run(step):
        try:
            barrier.wait()
            step()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    def webhooks():
        for email_id in ids:
            webhook(monitored, email_id)

    threads = [threading.Thread(target=run, args=(step,)) for step in (webhooks, lambda: sends_learn(monitored))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert MonitoredSend.objects.count() == 8
    assert sorted(MonitoredSend.objects.values_list("email_id", flat=True)) == sorted(ids)
    processed = InboundWebhook.objects.filter(topic="message.sent", status=InboundWebhook.Status.PROCESSED)
    assert processed.count() == 8
