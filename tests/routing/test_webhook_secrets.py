"""Deliveries signed with their mailbox's subscription secret (from the mailboxes page) pass the MultiMail receiver."""

import json
from datetime import UTC, datetime

from reviewqueue.integrations.inbound.models import InboundWebhook
from reviewqueue.integrations.multimail.signature import HEADER, sign
from reviewqueue.routing.crypto import secret_encrypt
from reviewqueue.routing.models import Mailbox


def deliver(client, secret):
    body = json.dumps(
        {
            "id": "evt_1",
            "event_type": "message.delivered",
            "mailbox_id": "mb_1",
            "message_id": "em_1",
            "timestamp": datetime.now(UTC).isoformat(),
        }
    ).encode()
    return client.post(
        "/webhooks/multimail", body, content_type="application/json", headers={HEADER: sign(body, secret)}
    )


def test_a_subscription_secret_verifies_deliveries(client, db, settings):
    settings.MULTIMAIL_WEBHOOK_SECRET = ""
    Mailbox.objects.create(
        mailbox_id="mb_1",
        address="a@x.test",
        webhook_subscription_id="wh_1",
        webhook_secret_encrypted=secret_encrypt("whsec_from_the_page"),
    )
    assert deliver(client, "whsec_from_the_page").status_code in (200, 202)
    assert InboundWebhook.objects.filter(delivery_id="evt_1").exists()
    assert deliver(client, "whsec_someone_else").status_code == 401


def test_the_configured_secret_still_works_beside_subscription_secrets(client, db, settings):
    settings.MULTIMAIL_WEBHOOK_SECRET = "whsec_configured"
    Mailbox.objects.create(
        mailbox_id="mb_1", address="a@x.test", webhook_secret_encrypted=secret_encrypt("whsec_from_the_page")
    )
    assert deliver(client, "whsec_configured").status_code in (200, 202)
