"""Finding 8: the Intercom receiver reads at most 1 MB, in chunks, and refuses more with a 413 before any HMAC.

Before, it read up to 20 MB in one read and computed the signature over all of it, so anyone could
make it hold and hash 20 MB per request without knowing the secret.
"""

import io
import json

import pytest

from reviewqueue.integrations.inbound.models import InboundWebhook
from reviewqueue.integrations.intercom.signature import sign
from reviewqueue.integrations.intercom.webhooks import intercom_webhook
from tests.integrations.intercom.helpers import fixture_bytes

SECRET = "f08-intercom-client-secret"
MB = 1_000_000


@pytest.fixture(autouse=True)
def client_secret(settings):
    settings.INTERCOM_CLIENT_SECRET = SECRET


class CountingInput(io.BytesIO):
    """wsgi.input that remembers the size of every read the receiver makes."""

    def __init__(self, raw: bytes):
        super().__init__(raw)
        self.reads: list[int] = []

    def read(self, size=-1, /):
        data = super().read(size)
        self.reads.append(len(data))
        return data


def call_receiver(raw: bytes, *, signature: str | None):
    """The receiver called as the web server would: its reads from the socket are counted."""
    from django.core.handlers.wsgi import WSGIRequest

    stream = CountingInput(raw)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/webhooks/intercom",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "443",
        "wsgi.url_scheme": "https",
        "wsgi.input": stream,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(raw)),
    }
    if signature is not None:
        environ["HTTP_X_HUB_SIGNATURE"] = signature
    return intercom_webhook(WSGIRequest(environ)), stream.reads


def notification_of_size(size: int) -> bytes:
    """The real-format fixture padded with a note so that its JSON is exactly `size` bytes."""
    body = json.loads(fixture_bytes())
    body["note"] = ""
    padding = size - len(json.dumps(body).encode())
    body["note"] = "x" * padding
    raw = json.dumps(body).encode()
    assert len(raw) == size
    return raw


@pytest.mark.django_db
def test_an_unsigned_body_over_1_mb_is_a_413_not_a_401(client):
    raw = notification_of_size(MB + 1)
    response = client.post("/webhooks/intercom", raw, content_type="application/json")
    assert response.status_code == 413
    assert str(MB) in response.json()["error"]
    assert not InboundWebhook.objects.exists()


@pytest.mark.django_db
def test_a_signed_body_over_1_mb_is_a_413(client):
    raw = notification_of_size(MB + 1)
    response = client.post(
        "/webhooks/intercom", raw, content_type="application/json", HTTP_X_HUB_SIGNATURE=sign(raw, SECRET)
    )
    assert response.status_code == 413
    assert not InboundWebhook.objects.exists()


@pytest.mark.django_db
def test_a_signed_body_of_exactly_1_mb_is_accepted(client):
    raw = notification_of_size(MB)
    response = client.post(
        "/webhooks/intercom", raw, content_type="application/json", HTTP_X_HUB_SIGNATURE=sign(raw, SECRET)
    )
    assert response.status_code == 200
    assert InboundWebhook.objects.count() == 1


@pytest.mark.django_db
def test_a_body_declared_larger_than_1_mb_is_not_read_at_all():
    raw = notification_of_size(3 * MB)
    response, reads = call_receiver(raw, signature=sign(raw, SECRET))
    assert response.status_code == 413
    assert sum(reads) == 0


@pytest.mark.django_db
def test_a_body_within_the_cap_is_read_in_chunks():
    raw = notification_of_size(900_000)
    response, reads = call_receiver(raw, signature=sign(raw, SECRET))
    assert response.status_code == 200
    assert sum(reads) == len(raw)
    assert max(reads) <= 64 * 1024 and len(reads) > 10
