"""Standard Webhooks signatures: the spec's published vector, and what a receiver checks."""

import base64
import json
import time
from pathlib import Path

import pytest
from standardwebhooks import WebhookVerificationError

from reviewqueue.callbacks import signing

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "contracts" / "standard-webhooks-vectors.json").read_text())


@pytest.mark.parametrize("vector", VECTORS["sign"])
def test_the_published_vector(vector):
    assert (
        signing.sign(
            secret=vector["secret"], webhook_id=vector["msg_id"], timestamp=vector["timestamp"], body=vector["payload"]
        )
        == vector["signature"]
    )


def test_the_signature_is_hmac_sha256_of_id_timestamp_body_keyed_by_the_decoded_secret():
    import hashlib
    import hmac

    secret = signing.secret_new()
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = hmac.new(key, b'msg_1.1700000000.{"a":1}', hashlib.sha256).digest()
    signature = signing.sign(secret=secret, webhook_id="msg_1", timestamp=1700000000, body='{"a":1}')
    assert signature == "v1," + base64.b64encode(expected).decode()


def test_a_new_secret_is_whsec_and_32_random_bytes():
    first, second = signing.secret_new(), signing.secret_new()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


def test_webhook_ids_have_no_dot():
    ids = {signing.webhook_id_new() for _ in range(200)}
    assert len(ids) == 200
    assert all(i.startswith("msg_") and "." not in i for i in ids)


def test_a_receiver_verifies_our_headers_and_refuses_a_tampered_body():
    secret = signing.secret_new()
    body = '{"type":"draft.approved"}'
    headers = signing.signed_headers(secret=secret, webhook_id="msg_x", timestamp=int(time.time()), body=body)
    assert signing.verify(secret=secret, headers=headers, body=body) == {"type": "draft.approved"}
    with pytest.raises(WebhookVerificationError):
        signing.verify(secret=secret, headers=headers, body='{"type":"draft.rejected"}')
    with pytest.raises(WebhookVerificationError):
        signing.verify(secret=signing.secret_new(), headers=headers, body=body)


def test_the_published_bad_signature_is_refused():
    vector = VECTORS["sign"][0]
    headers = {
        "webhook-id": vector["msg_id"],
        "webhook-timestamp": str(int(time.time())),
        "webhook-signature": VECTORS["invalid_signature"],
    }
    with pytest.raises(WebhookVerificationError):
        signing.verify(secret=vector["secret"], headers=headers, body=vector["payload"])
