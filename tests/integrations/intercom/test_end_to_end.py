"""Sandbox → signed webhook → our receiver (a live server) → handling → a fresh snapshot."""

import httpx
import pytest
from django.core.wsgi import get_wsgi_application
from django.db import connections

from reviewqueue.integrations.inbound.models import InboundWebhook
from reviewqueue.integrations.intercom.models import ConversationSnapshot
from reviewqueue.integrations.intercom.tasks import intercom_webhook_handle
from reviewqueue.integrations.intercom.webhooks import PUBLISHER
from reviewqueue.sandbox.intercom import defaults
from reviewqueue.sandbox.server import serve_in_thread
from tests.integrations.intercom.helpers import queued_handle_tasks


@pytest.fixture
def our_server(transactional_db, settings):
    """Our Django app served on a free loopback port (built after the test's settings apply)."""
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    django_app = get_wsgi_application()

    def app(environ, start_response):
        try:
            return django_app(environ, start_response)
        finally:  # each request runs on its own thread: leave no connection holding the test database
            connections.close_all()

    with serve_in_thread(app) as server:
        yield server


@pytest.mark.django_db(transaction=True)
def test_customer_reply_in_the_sandbox_reaches_our_receiver_and_refreshes_the_snapshot(
    our_server, settings, sandbox, customer_conversation
):
    settings.INTERCOM_CLIENT_SECRET = defaults.CLIENT_SECRET
    settings.INTERCOM_API_URL = sandbox.url
    settings.INTERCOM_ACCESS_TOKEN = defaults.ACCESS_TOKEN
    sandbox.knobs.update({"webhook_url": f"{our_server.url}/webhooks/intercom"})
    contact, created = customer_conversation

    headers = {"Authorization": f"Bearer {defaults.ACCESS_TOKEN}"}
    reply = {"message_type": "comment", "type": "user", "intercom_user_id": contact["id"], "body": "Any update?"}
    httpx.post(f"{sandbox.url}/conversations/{created['id']}/reply", json=reply, headers=headers).raise_for_status()
    sandbox.webhooks.drain()

    assert [w["status"] for w in sandbox.webhooks.sent()] == [200]
    record = InboundWebhook.objects.get(source="intercom")
    assert record.topic == "conversation.user.replied"
    PUBLISHER.flush()
    assert queued_handle_tasks(record.pk, remove=True) == 1

    intercom_webhook_handle.apply(args=[record.pk]).get()
    record.refresh_from_db()
    assert record.status == InboundWebhook.Status.PROCESSED
    snapshot = ConversationSnapshot.objects.get(conversation_id=created["id"])
    assert snapshot.conversation.parts[-1].body == "Any update?"
