"""The sandbox posts signed webhooks from a background thread, retries, and records deliveries;
our receiver, served on a real loopback port, verifies and stores them."""

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections

from reviewqueue.celery import app as celery_app
from reviewqueue.integrations.inbound.models import InboundWebhook
from reviewqueue.sandbox.multimail.app import Knobs, make_app
from reviewqueue.sandbox.server import serve_in_thread
from tests.livesystem import free_port, wait_for

from .conftest import ValidatingTransport, client_for


@pytest.fixture
def live_sandbox():
    app = make_app(None, Knobs(delivery_ms=0, webhook_retry_ms=20, webhook_max_attempts=3))
    yield app, client_for(ValidatingTransport(app))
    app.stop()


@pytest.fixture
def receiver(transactional_db, settings):
    """reviewqueue itself on a free loopback port (middleware built now, with plain_http applied)."""
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    celery_app.control.purge()
    django_app = WSGIHandler()

    def app(environ, start_response):
        # Each request runs on a new server thread: close its database connection before the
        # thread ends, so none is left open when the test database is dropped.
        try:
            return django_app(environ, start_response)
        finally:
            connections.close_all()

    with serve_in_thread(app) as server:
        yield f"{server.url}/webhooks/multimail"
    celery_app.control.purge()


def failed_deliveries(mm):
    return lambda: [d for d in mm.webhook_deliveries().deliveries if d.status == "failed"]


def test_oversight_pending_reaches_the_receiver_signed_and_is_stored_once(live_sandbox, receiver, settings):
    _, mm = live_sandbox
    webhook = mm.create_webhook(url=receiver, events=["oversight.pending", "message.delivered"])
    settings.MULTIMAIL_WEBHOOK_SECRET = webhook.signing_secret
    mailbox = mm.create_mailbox(address_local="hooks")
    sent = mm.send(mailbox_id=mailbox.id, to=["c@example.com"], subject="Hi", markdown="Hello")

    record = wait_for(
        lambda: InboundWebhook.objects.filter(topic="oversight.pending").first(),
        timeout=10,
        what="oversight.pending stored",
    )
    assert record.source == "multimail" and record.payload["message_id"] == sent.id
    assert record.payload["mailbox_id"] == mailbox.id and record.delivery_id == record.payload["id"]

    mm.decide(email_id=sent.id, action="approve", reason="ok")
    wait_for(
        lambda: InboundWebhook.objects.filter(topic="message.delivered").exists(),
        timeout=10,
        what="message.delivered stored",
    )

    def both_delivered():
        deliveries = mm.webhook_deliveries().deliveries
        return deliveries if len(deliveries) == 2 and all(d.status == "delivered" for d in deliveries) else None

    deliveries = wait_for(both_delivered, timeout=10, what="both deliveries delivered")
    assert {d.event_type for d in deliveries} == {"oversight.pending", "message.delivered"}
    assert all(d.response_status == 202 and d.attempts == 1 for d in deliveries)
    assert InboundWebhook.objects.count() == 2


def test_a_receiver_refusing_the_signature_gets_retries_then_the_delivery_fails(live_sandbox, receiver, settings):
    _, mm = live_sandbox
    mm.create_webhook(url=receiver, events=["oversight.pending"])
    settings.MULTIMAIL_WEBHOOK_SECRET = "whsec_not_the_one_the_sandbox_signs_with"
    mailbox = mm.create_mailbox(address_local="refused")
    mm.send(mailbox_id=mailbox.id, to=["c@example.com"], subject="Hi", markdown="Hello")

    [delivery] = wait_for(failed_deliveries(mm), timeout=10, what="the delivery failed")
    assert delivery.attempts == 3 and delivery.response_status == 401
    assert not InboundWebhook.objects.exists()


def test_unreachable_url_is_retried_and_recorded_failed(live_sandbox):
    _, mm = live_sandbox
    mm.create_webhook(url=f"http://127.0.0.1:{free_port()}/hook", events=["oversight.pending"])
    mailbox = mm.create_mailbox(address_local="nowhere")
    mm.send(mailbox_id=mailbox.id, to=["c@example.com"], subject="Hi", markdown="Hello")
    [delivery] = wait_for(failed_deliveries(mm), timeout=10, what="the delivery failed")
    assert delivery.attempts == 3 and delivery.response_status is None and delivery.last_attempt_at is not None


def test_webhooks_scoped_to_a_mailbox_only_get_its_events(live_sandbox):
    sandbox, mm = live_sandbox
    first = mm.create_mailbox(address_local="first")
    second = mm.create_mailbox(address_local="second")
    sandbox.stop()  # no posting: only which deliveries are recorded matters here
    mm.create_webhook(url="https://example.com/hook", events=["oversight.pending"], mailbox_id=first.id)
    mm.send(mailbox_id=second.id, to=["c@example.com"], subject="Hi", markdown="Hello")
    assert mm.webhook_deliveries().deliveries == []
    mm.send(mailbox_id=first.id, to=["c@example.com"], subject="Hi", markdown="Hello")
    [delivery] = mm.webhook_deliveries().deliveries
    assert delivery.event_type == "oversight.pending" and delivery.status == "pending"


def test_deleted_webhook_is_gone(live_sandbox):
    _, mm = live_sandbox
    webhook = mm.create_webhook(url="https://example.com/hook", events=["message.bounced"])
    mm.delete_webhook(webhook_id=webhook.id)
    assert mm.list_webhooks() == []
    with pytest.raises(Exception, match="404"):
        mm.get_webhook(webhook_id=webhook.id)


def test_webhook_urls_must_be_https_except_to_localhost(live_sandbox):
    _, mm = live_sandbox
    with pytest.raises(Exception, match="https"):
        mm.create_webhook(url="http://example.com/hook", events=["oversight.pending"])
    with pytest.raises(Exception, match="events"):
        mm.create_webhook(url="https://example.com/hook", events=["oversight.exploded"])
