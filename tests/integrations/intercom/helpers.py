"""Shared bits for the Intercom tests: the replayed fixture, signing, reading our broker queue."""

import base64
import json
from pathlib import Path

from reviewqueue.integrations.intercom.signature import sign
from tests.broker import QUEUE, Broker

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
    """How many times handling `record_id` waits in the real broker queue.

    Counted in both forms the receiver publishes: `intercom_webhook_handle(record_id)`, and
    `intercom_webhooks_fan_out([..., record_id, ...])` for a burst.
    """
    queue = Broker().redis
    found = 0
    for raw in queue.lrange(QUEUE, 0, -1):
        message = json.loads(raw)
        task = message.get("headers", {}).get("task")
        if task not in ("intercom_webhook_handle", "intercom_webhooks_fan_out"):
            continue
        args, _, _ = json.loads(base64.b64decode(message["body"]))
        ids = args if task == "intercom_webhook_handle" else args[0]
        if record_id in ids:
            found += ids.count(record_id)
            if remove:
                queue.lrem(QUEUE, 0, raw)
    return found
