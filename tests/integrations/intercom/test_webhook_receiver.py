"""POST/HEAD /webhooks/intercom: verified before parsing, stored once, handling enqueued once."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from reviewqueue.integrations.inbound.models import InboundWebhook
from reviewqueue.integrations.intercom.signature import sign
from reviewqueue.integrations.intercom.webhooks import PUBLISHER
from tests.integrations.intercom.helpers import SECRET, fixture_bytes, notification, queued_handle_tasks, signed_headers

URL = "/webhooks/intercom"


@pytest.fixture(autouse=True)
def client_secret(settings):
    settings.INTERCOM_CLIENT_SECRET = SECRET


def post(client, raw: bytes, **headers):
    return client.post(URL, data=raw, content_type="application/json", **headers)


def test_head_validates_the_url(client):
    assert client.head(URL).status_code == 200


def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


@pytest.mark.django_db
def test_signed_real_format_notification_is_stored_and_its_handling_enqueued(client):
    raw = fixture_bytes()
    response = post(client, raw, **signed_headers(raw))
    assert response.status_code == 200
    assert response.json() == {"status": "accepted"}
    record = InboundWebhook.objects.get()
    assert record.source == "intercom"
    assert record.delivery_id == "notif_3b2f1c6e-0f1e-4a8d-9c4e-2d5f7a1b9e01"
    assert record.topic == "conversation.user.replied"
    assert record.status == InboundWebhook.Status.RECEIVED
    assert record.payload["data"]["item"]["id"] == "215469811370213"


@pytest.mark.django_db(transaction=True)
def test_five_concurrent_deliveries_of_one_notification_store_it_once_and_enqueue_once():
    raw = fixture_bytes()
    headers = signed_headers(raw)
    start = threading.Barrier(5)
    answers = []

    def deliver():
        try:
            start.wait()
            answers.append(post(Client(), raw, **headers).json()["status"])
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers) == ["accepted", "duplicate", "duplicate", "duplicate", "duplicate"]
    record = InboundWebhook.objects.get()
    PUBLISHER.flush()
    assert queued_handle_tasks(record.pk, remove=True) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha1=" + "0" * 40,
        "sha256=" + "0" * 64,
        "not-a-signature",
    ],
)
def test_missing_wrong_or_sha256_signature_is_refused_and_nothing_stored(client, header):
    raw = fixture_bytes()
    extra = {} if header is None else {"HTTP_X_HUB_SIGNATURE": header}
    response = post(client, raw, **extra)
    assert response.status_code == 401
    assert "X-Hub-Signature" in response.json()["error"]
    assert not InboundWebhook.objects.exists()


@pytest.mark.django_db
def test_signature_made_with_another_secret_is_refused(client):
    raw = fixture_bytes()
    assert post(client, raw, **signed_headers(raw, "someone-elses-secret")).status_code == 401
    assert not InboundWebhook.objects.exists()


@pytest.mark.django_db
def test_a_valid_sha256_hmac_of_the_body_is_still_refused(client):
    import hashlib
    import hmac

    raw = fixture_bytes()
    header = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert post(client, raw, HTTP_X_HUB_SIGNATURE=header).status_code == 401
    assert not InboundWebhook.objects.exists()


@pytest.mark.django_db
def test_signed_but_malformed_json_is_a_400_with_a_message(client):
    raw = b'{"type": "notification_event", "topic": '
    response = post(client, raw, **signed_headers(raw))
    assert response.status_code == 400
    assert response.json()["error"].startswith("the body is not valid JSON: ")
    assert not InboundWebhook.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("raw", [b"[1, 2]", b'{"id": "notif_x"}', b"\xff\xfe"])
def test_signed_body_that_is_not_a_notification_is_a_400(client, raw):
    response = post(client, raw, **signed_headers(raw))
    assert response.status_code == 400
    assert not InboundWebhook.objects.exists()


@pytest.mark.django_db
def test_conversation_topic_without_a_conversation_id_is_a_400(client):
    raw = json.dumps({"id": "notif_no_item", "topic": "conversation.user.replied", "data": {"item": {}}}).encode()
    response = post(client, raw, **signed_headers(raw))
    assert response.status_code == 400
    assert "data.item.id" in response.json()["error"]


@pytest.mark.django_db
def test_unknown_topic_is_accepted_stored_and_marked_ignored_without_enqueuing(client):
    raw = notification(id="notif_unknown_1", topic="contact.user.created")
    response = post(client, raw, **signed_headers(raw))
    assert response.status_code == 200
    record = InboundWebhook.objects.get()
    assert record.status == InboundWebhook.Status.IGNORED
    assert record.topic == "contact.user.created"
    PUBLISHER.flush()
    assert queued_handle_tasks(record.pk) == 0


def _note_notification(delivery_id: str, body: str) -> bytes:
    notification = json.loads(fixture_bytes())
    notification.update(id=delivery_id, topic="conversation.admin.noted")
    part = {**notification["data"]["item"]["conversation_parts"]["conversation_parts"][-1], "part_type": "note"}
    notification["data"]["item"]["conversation_parts"]["conversation_parts"].append({**part, "body": body})
    return json.dumps(notification).encode()


@pytest.mark.django_db(transaction=True)  # committed, so an enqueue after commit would really happen
def test_our_own_decision_note_is_stored_as_handled_without_enqueuing(client):
    raw = _note_notification("notif_own_note_1", "<p>Approved by Rita (reviewqueue decision 7)</p>")
    response = post(client, raw, **signed_headers(raw))
    assert response.status_code == 200
    record = InboundWebhook.objects.get()
    assert record.status == InboundWebhook.Status.PROCESSED
    PUBLISHER.flush()
    assert queued_handle_tasks(record.pk) == 0


@pytest.mark.django_db(transaction=True)
def test_a_teammates_note_is_enqueued_for_handling(client):
    raw = _note_notification("notif_teammate_note_1", "<p>Careful: VIP</p>")
    response = post(client, raw, **signed_headers(raw))
    assert response.status_code == 200
    record = InboundWebhook.objects.get()
    assert record.status == InboundWebhook.Status.RECEIVED
    PUBLISHER.flush()
    assert queued_handle_tasks(record.pk, remove=True) == 1


@pytest.mark.django_db
def test_ping_is_stored_as_processed(client):
    raw = json.dumps({"type": "notification_event", "id": "notif_ping_1", "topic": "ping", "data": {}}).encode()
    response = post(client, raw, **signed_headers(raw))
    assert response.status_code == 200
    assert InboundWebhook.objects.get().status == InboundWebhook.Status.PROCESSED


@pytest.mark.django_db
def test_notification_without_an_id_is_deduplicated_by_its_body(client):
    body = json.loads(fixture_bytes())
    del body["id"]
    raw = json.dumps(body).encode()
    assert post(client, raw, **signed_headers(raw)).json()["status"] == "accepted"
    assert post(client, raw, **signed_headers(raw)).json()["status"] == "duplicate"
    assert InboundWebhook.objects.get().delivery_id.startswith("sha256:")


@pytest.mark.django_db
def test_without_a_configured_secret_nothing_is_accepted(client, settings):
    settings.INTERCOM_CLIENT_SECRET = ""
    raw = fixture_bytes()
    response = post(client, raw, HTTP_X_HUB_SIGNATURE=sign(raw, ""))
    assert response.status_code == 503
    assert "INTERCOM_CLIENT_SECRET" in response.json()["error"]
    assert not InboundWebhook.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "raw", [b'{"id": "notif_nan", "topic": "ping", "x": NaN}', b'{"id": "n0", "topic": "ping\\u0000"}']
)
def test_signed_json_that_postgresql_cannot_store_is_a_400_not_a_500(client, raw):
    response = post(client, raw, **signed_headers(raw))
    assert response.status_code == 400
    assert not InboundWebhook.objects.exists()


@pytest.mark.django_db
def test_a_large_conversation_within_the_cap_is_accepted(client):
    from reviewqueue.integrations.intercom.webhooks import MAX_BODY

    body = json.loads(fixture_bytes())
    part = body["data"]["item"]["conversation_parts"]["conversation_parts"][0]
    body["data"]["item"]["conversation_parts"]["conversation_parts"] = [part | {"body": "x" * 1600}] * 500
    raw = json.dumps(body).encode()
    assert 0.9 * MAX_BODY < len(raw) <= MAX_BODY
    assert post(client, raw, **signed_headers(raw)).status_code == 200
    assert InboundWebhook.objects.count() == 1


@pytest.mark.django_db
def test_a_body_past_the_receivers_limit_is_a_413(client, monkeypatch):
    from reviewqueue.integrations.intercom import webhooks

    monkeypatch.setattr(webhooks, "MAX_BODY", 1000)
    raw = fixture_bytes()
    response = post(client, raw, **signed_headers(raw))
    assert response.status_code == 413
    assert not InboundWebhook.objects.exists()
