"""Shared bits for the Intercom tests: the replayed fixture, signing, reading our broker queue."""

import base64
import json
from pathlib import Path

import redis
from django.conf import settings

from reviewqueue.integrations.intercom.signature import sign

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "intercom"
SECRET = "test-intercom-client-secret"


def fixture_bytes(name: str = "conversation_user_replied.json") -> bytes:
    return (FIXTURES / name).read_bytes()


def notification(**changes) -> bytes:
    body = json.loads(fixture_bytes())
    body.update(changes)
    return json.dumps(body).encode()


def signed_headers(raw: bytes, secret: str = SECRET) -> dict:
    return {"HTTP_X_HUB_SIGNATURE": sign(raw, secret)}


def queued_handle_tasks(record_id: int, *, remove: bool = False) -> int:
    """How many `intercom_webhook_handle(record_id)` messages wait in the real broker queue."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    found = 0
    for raw in broker.lrange("celery", 0, -1):
        message = json.loads(raw)
        headers = message.get("headers", {})
        if headers.get("task") != "intercom_webhook_handle":
            continue
        args, _, _ = json.loads(base64.b64decode(message["body"]))
        if args == [record_id]:
            found += 1
            if remove:
                broker.lrem("celery", 0, raw)
    return found
