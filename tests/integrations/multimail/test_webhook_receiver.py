"""POST /webhooks/multimail: verified before parsed, stored once, handling enqueued after commit."""

import json
import threading
from datetime import UTC, datetime

import httpx
import pytest

from reviewqueue.integrations.inbound.models import InboundWebhook
from reviewqueue.integrations.multimail.signature import sign

SECRET = "whsec_receiver_tests"
URL = "/webhooks/multimail"


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.MULTIMAIL_WEBHOOK_SECRET = SECRET


def body_for(event_type="oversight.pending", delivery_id="evt_1", **extra) -> bytes:
    payload = {
        "event_type": event_type,
        "mailbox_id": "mb_1",
        "message_id": "em_1",
        "timestamp": datetime.now(UTC).isoformat(),
        **extra,
    }
    if delivery_id is not None:
        payload["id"] = delivery_id
    return json.dumps(payload).encode()


def post(client, raw: bytes, signature: str | None = "valid"):
    headers = {}
    if signature == "valid":
        headers["HTTP_X_MULTIMAIL_SIGNATURE"] = sign(raw, SECRET)
    elif signature is not None:
        headers["HTTP_X_MULTIMAIL_SIGNATURE"] = signature
    return client.post(URL, data=raw, content_type="application/json", **headers)


def test_valid_delivery_is_stored_and_its_handling_enqueued_on_the_broker(
    db, client, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(client, body_for())
    assert response.status_code == 202 and response.json() == {"status": "accepted"}
    record = InboundWebhook.objects.get()
    assert (record.source, record.delivery_id, record.topic, record.status) == (
        "multimail",
        "evt_1",
        "oversight.pending",
        "received",
    )
    assert len(callbacks) == 1
    assert broker.queued() == [("multimail_webhook_handle", [record.pk])]


def test_same_delivery_posted_five_times_is_stored_once(db, client, django_capture_on_commit_callbacks):
    raw = body_for()
    with django_capture_on_commit_callbacks() as callbacks:
        statuses = [post(client, raw).status_code for _ in range(5)]
    assert statuses == [202, 200, 200, 200, 200]
    assert InboundWebhook.objects.count() == 1
    assert len(callbacks) == 1


def test_delivery_without_id_is_deduplicated_by_body_hash(db, client):
    raw = body_for(delivery_id=None)
    assert post(client, raw).status_code == 202
    assert post(client, raw).status_code == 200
    assert InboundWebhook.objects.get().delivery_id.startswith("sha256:")


def test_same_delivery_posted_concurrently_against_a_live_server_is_stored_once(live_server, broker, settings):
    raw = body_for(delivery_id="evt_concurrent")
    # The session-wide live server built its middleware before plain_http: look like HTTPS behind a
    # proxy, which is trusted only when BEHIND_PROXY sets this (read at each request).
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    headers = {
        "X-MultiMail-Signature": "sha256=" + sign(raw, SECRET),
        "Content-Type": "application/json",
        "X-Forwarded-Proto": "https",
    }
    barrier = threading.Barrier(5)
    statuses = []

    def deliver():
        barrier.wait()
        statuses.append(httpx.post(live_server.url + URL, content=raw, headers=headers, timeout=10).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 200, 200, 200, 202]
    assert InboundWebhook.objects.filter(delivery_id="evt_concurrent").count() == 1
    assert len(broker.queued()) == 1


@pytest.mark.parametrize("signature", [None, "", "deadbeef", "sha256=" + "0" * 64])
def test_missing_or_wrong_signature_is_401_and_nothing_stored(db, client, signature):
    response = post(client, body_for(), signature=signature)
    assert response.status_code == 401
    assert "X-MultiMail-Signature" in response.json()["error"]
    assert not InboundWebhook.objects.exists()


def test_signature_for_a_different_body_is_refused(db, client):
    response = post(client, body_for(), signature=sign(body_for(delivery_id="evt_other"), SECRET))
    assert response.status_code == 401 and not InboundWebhook.objects.exists()


def test_malformed_json_is_400_and_nothing_stored(db, client):
    for raw in (b"{not json", b'["a", "list"]', b"\xff\xfe"):
        response = post(client, raw)
        assert response.status_code == 400, raw
        assert response.json()["error"]
    assert not InboundWebhook.objects.exists()


def test_unknown_event_is_stored_as_ignored_and_not_enqueued(db, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, body_for(event_type="message.complained", delivery_id="evt_9"))
    assert response.status_code == 202
    assert InboundWebhook.objects.get(delivery_id="evt_9").status == "ignored"
    assert callbacks == []


def test_unconfigured_secret_is_503_and_nothing_stored(db, client, settings):
    settings.MULTIMAIL_WEBHOOK_SECRET = ""
    response = post(client, body_for())
    assert response.status_code == 503 and "MULTIMAIL_WEBHOOK_SECRET" in response.json()["error"]
    assert not InboundWebhook.objects.exists()


def test_other_methods_are_refused(db, client):
    assert client.get(URL).status_code == 405
