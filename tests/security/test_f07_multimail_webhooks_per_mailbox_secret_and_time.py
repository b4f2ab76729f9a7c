"""Finding 7: a MultiMail delivery is verified with its own mailbox's subscription secret, and is time-bound.

Before, any stored subscription secret verified any mailbox's events, and a captured delivery could
be played again whenever its dedupe row was gone. Now the envelope's `mailbox` picks the secret; the
signed `timestamp` must be within 5 minutes of now; stored deliveries are pruned after 30 days.
"""

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.conf import settings as django_settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone

from reviewqueue.celery import app as celery_app
from reviewqueue.integrations.inbound.models import InboundWebhook
from reviewqueue.integrations.multimail.signature import HEADER, sign
from reviewqueue.review.models import Draft
from reviewqueue.routing.crypto import secret_encrypt
from reviewqueue.routing.models import Mailbox
from reviewqueue.sandbox.multimail.app import Knobs
from reviewqueue.sandbox.multimail.state import SandboxState
from reviewqueue.sandbox.multimail.webhooks import WebhookSender

URL = "/webhooks/multimail"
SECRET_A, SECRET_B = "whsec_mailbox_a", "whsec_mailbox_b"


@pytest.fixture
def mailboxes(db, settings):
    """Two mailboxes, each subscribed from the mailboxes page with its own secret; no account-wide one."""
    settings.MULTIMAIL_WEBHOOK_SECRET = ""
    for mailbox_id, address, secret in (("mb_a", "a@x.test", SECRET_A), ("mb_b", "b@x.test", SECRET_B)):
        Mailbox.objects.create(mailbox_id=mailbox_id, address=address, webhook_secret_encrypted=secret_encrypt(secret))


def event(*, age: timedelta = timedelta(0), delivery_id: str = "evt_1", **envelope) -> dict:
    payload = {
        "id": delivery_id,
        "event_type": "oversight.pending",
        "mailbox_id": "mb_a",
        "message_id": "em_1",
        "timestamp": (datetime.now(UTC) - age).isoformat(),
    }
    return {key: value for key, value in {**payload, **envelope}.items() if value is not None}


def deliver(client, payload: dict, secret: str):
    raw = json.dumps(payload).encode()
    return client.post(URL, raw, content_type="application/json", headers={HEADER: sign(raw, secret)})


# --- the envelope's mailbox picks the secret -------------------------------------------------------------


def test_an_event_signed_with_its_own_mailboxs_secret_is_accepted(client, mailboxes):
    assert deliver(client, event(), SECRET_A).status_code == 202
    assert InboundWebhook.objects.filter(delivery_id="evt_1").exists()


def test_an_event_signed_with_another_mailboxs_secret_is_refused(client, mailboxes):
    response = deliver(client, event(mailbox_id="mb_b"), SECRET_A)
    assert response.status_code == 401
    assert "mailbox" in response.json()["error"]
    assert not InboundWebhook.objects.exists()


def test_the_envelope_may_name_the_mailbox_by_its_address_as_the_sandbox_does(client, mailboxes):
    assert deliver(client, event(mailbox="b@x.test", mailbox_id="mb_b"), SECRET_B).status_code == 202
    assert deliver(client, event(mailbox="b@x.test", mailbox_id=None, delivery_id="evt_2"), SECRET_A).status_code == 401


def test_an_envelope_naming_two_mailboxes_is_refused(client, mailboxes):
    response = deliver(client, event(mailbox="a@x.test", mailbox_id="mb_b"), SECRET_A)
    assert response.status_code == 400
    assert "more than one mailbox" in response.json()["error"]
    assert not InboundWebhook.objects.exists()


def test_an_event_naming_no_mailbox_is_verified_by_no_mailboxs_secret(client, mailboxes):
    response = deliver(client, event(mailbox_id=None), SECRET_A)
    assert response.status_code == 503  # only MULTIMAIL_WEBHOOK_SECRET could verify it, and it is not set
    assert "no subscription" in response.json()["error"]
    assert not InboundWebhook.objects.exists()


def test_the_account_wide_secret_still_verifies_every_mailbox(client, mailboxes, settings):
    settings.MULTIMAIL_WEBHOOK_SECRET = "whsec_account"
    assert deliver(client, event(mailbox_id="mb_b"), "whsec_account").status_code == 202


def test_an_event_cannot_act_on_a_draft_of_another_mailbox(client, mailboxes):
    draft = Draft.objects.create(email_id="em_of_b", mailbox_id="mb_b", source="webhook")
    from reviewqueue.integrations.multimail.events import webhook_event_handle

    payload = event(event_type="oversight.approved", message_id="em_of_b", status="approved")
    assert deliver(client, payload, SECRET_A).status_code == 202

    record = InboundWebhook.objects.get(delivery_id="evt_1")
    assert webhook_event_handle(record_id=record.pk) == InboundWebhook.Status.FAILED
    record.refresh_from_db()
    assert "another mailbox" in record.error
    draft.refresh_from_db()
    assert draft.is_pending


def test_the_sandbox_signs_a_mailbox_subscription_as_the_receiver_verifies_it(db, settings):
    """The sandbox's own sender posts into the receiver (in process, through WSGI): envelope, time, signature."""
    settings.MULTIMAIL_WEBHOOK_SECRET = ""
    state, actor = SandboxState(None), {"id": "test"}
    _, mailbox = state.mailbox_create(actor=actor, address_local="support")
    hook = state.webhook_create(
        actor=actor, url="https://testserver/webhooks/multimail", events=["oversight.pending"], mailbox_id=mailbox["id"]
    )
    Mailbox.objects.create(
        mailbox_id=mailbox["id"],
        address=mailbox["address"],
        webhook_secret_encrypted=secret_encrypt(hook["signing_secret"]),
    )
    state.send(actor=actor, mailbox_id=mailbox["id"], body={"to": ["c@example.com"], "subject": "Hi", "markdown": "Hi"})
    sender = WebhookSender(state, Knobs())
    sender._http = httpx.Client(transport=httpx.WSGITransport(app=WSGIHandler()))

    [delivery] = state.deliveries_due()
    # As Django's test client does: the request must not close the test's own database connection.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        sender._post(delivery)
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)

    record = InboundWebhook.objects.get(source="multimail", topic="oversight.pending")
    assert record.payload["mailbox"] == mailbox["address"] and record.payload["mailbox_id"] == mailbox["id"]
    assert "timestamp" in record.payload
    assert state.deliveries_page(limit=10, cursor=None)["items"][0]["status"] == "delivered"


# --- time ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("age", [timedelta(minutes=6), -timedelta(minutes=6), timedelta(days=31)])
def test_a_delivery_more_than_five_minutes_off_is_refused(client, mailboxes, age):
    response = deliver(client, event(age=age), SECRET_A)
    assert response.status_code == 400
    assert "5 minutes" in response.json()["error"]
    assert not InboundWebhook.objects.exists()


def test_a_delivery_within_five_minutes_is_accepted(client, mailboxes):
    assert deliver(client, event(age=timedelta(minutes=4)), SECRET_A).status_code == 202


@pytest.mark.parametrize("timestamp", [None, "yesterday", "2026-12-07T05:00:00"])
def test_a_delivery_without_a_readable_timestamp_is_refused(client, mailboxes, timestamp):
    payload = event()
    payload.pop("timestamp")
    if timestamp is not None:
        payload["timestamp"] = timestamp
    response = deliver(client, payload, SECRET_A)
    assert response.status_code == 400
    assert "timestamp" in response.json()["error"]


def test_epoch_seconds_and_milliseconds_are_read(client, mailboxes):
    now = datetime.now(UTC).timestamp()
    assert deliver(client, event(timestamp=int(now)), SECRET_A).status_code == 202
    assert deliver(client, event(timestamp=int(now * 1000), delivery_id="evt_ms"), SECRET_A).status_code == 202


# --- the dedupe table is pruned --------------------------------------------------------------------------


def test_deliveries_older_than_30_days_are_pruned_by_a_beat_task(db):
    from reviewqueue.integrations.inbound.tasks import inbound_webhooks_prune

    for delivery_id, days, source in (("old", 31, "multimail"), ("young", 29, "multimail"), ("ic", 31, "intercom")):
        record = InboundWebhook.objects.create(source=source, delivery_id=delivery_id, topic="t", payload={})
        InboundWebhook.objects.filter(pk=record.pk).update(received_at=timezone.now() - timedelta(days=days))

    assert inbound_webhooks_prune.apply().get() == 1
    assert set(InboundWebhook.objects.values_list("delivery_id", flat=True)) == {"young", "ic"}
    scheduled = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert inbound_webhooks_prune.name in scheduled and inbound_webhooks_prune.name in celery_app.tasks


def test_a_pruned_deliverys_replay_is_still_refused(client, mailboxes):
    """What pruning forgets, the timestamp refuses: a delivery from 31 days ago, its row long gone."""
    replay = event(age=timedelta(days=31), delivery_id="evt_pruned_long_ago")
    assert deliver(client, replay, SECRET_A).status_code == 400
    assert not InboundWebhook.objects.exists()
