"""Standard Webhooks signing (https://www.standardwebhooks.com, spec/standard-webhooks.md): the
`standardwebhooks` package signs; this module makes secrets and the three headers.

webhook-id: the message id, the same on every attempt; webhook-timestamp: the attempt's Unix time
in seconds; webhook-signature: "v1," + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")), the key
being the base64-decoded part of the secret after "whsec_".
"""

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec asks for 24 to 64 random bytes
ID_PREFIX = "msg_"


def secret_new() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def webhook_id_new() -> str:
    # No "." in an id: it is a delimiter of the signed content.
    return ID_PREFIX + secrets.token_urlsafe(18)


def sign(*, secret: str, webhook_id: str, timestamp: int, body: str) -> str:
    """The webhook-signature value, "v1,<base64>"."""
    return Webhook(secret).sign(msg_id=webhook_id, timestamp=datetime.fromtimestamp(timestamp, tz=UTC), data=body)


def signed_headers(*, secret: str, webhook_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret=secret, webhook_id=webhook_id, timestamp=timestamp, body=body),
    }


def verify(*, secret: str, headers: dict[str, str], body: str | bytes) -> dict:
    """What a receiver does (the sandbox agent, tests): the parsed body, or standardwebhooks'
    WebhookVerificationError (bad signature, missing header, timestamp more than 5 minutes off)."""
    return Webhook(secret).verify(body, headers)
