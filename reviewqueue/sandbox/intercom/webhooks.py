"""Signed webhook delivery from the Intercom sandbox, off the request thread like Intercom's own.

Each conversation change becomes a `notification_event` carrying the conversation as it was at
that moment, signed `X-Hub-Signature: sha1=<HMAC-SHA1 of the body keyed by the client secret>`
with the same function the receiver verifies with, and posted to the configured URL. A failed
delivery is tried again a few times (Intercom retries too), so receivers see duplicates.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable

import httpx

from reviewqueue.integrations.intercom.signature import sign

logger = logging.getLogger(__name__)
ATTEMPTS = 3
RETRY_DELAY = 1.0


def notification(*, topic: str, item: dict, app_id: str, created_at: int) -> dict:
    return {
        "type": "notification_event",
        "app_id": app_id,
        "data": {"type": "notification_event_data", "item": item},
        "links": {},
        "id": f"notif_{uuid.uuid4()}",
        "topic": topic,
        "delivery_status": "pending",
        "delivery_attempts": 1,
        "delivered_at": 0,
        "first_sent_at": created_at,
        "created_at": created_at,
        "self": None,
    }


class WebhookSender:
    def __init__(self, *, secret: str, url: Callable[[], str], clock: Callable[[], float] = time.time):
        self.secret = secret
        self.url = url
        self.clock = clock
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._sent: list[dict] = []  # {topic, conversation_id, status}: what went out, for tests and /_sandbox/state
        self._thread: threading.Thread | None = None
        self._http = httpx.Client(timeout=httpx.Timeout(5.0, connect=2.0))

    def send(self, *, topic: str, item: dict, app_id: str) -> None:
        if not self.url():
            return
        event = notification(topic=topic, item=item, app_id=app_id, created_at=int(self.clock()))
        self._ensure_thread()
        self._queue.put(event)

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="intercom-sandbox-webhooks", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            try:
                if event is None:
                    return
                self._deliver(event)
            finally:
                self._queue.task_done()

    def _deliver(self, event: dict) -> None:
        status = None
        for attempt in range(1, ATTEMPTS + 1):
            event["delivery_attempts"] = attempt
            raw = json.dumps(event).encode()
            try:
                response = self._http.post(
                    self.url(),
                    content=raw,
                    headers={"Content-Type": "application/json", "X-Hub-Signature": sign(raw, self.secret)},
                )
                status = response.status_code
                if status < 500:
                    break
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            if attempt < ATTEMPTS:
                time.sleep(RETRY_DELAY)
        if not (isinstance(status, int) and status < 300):
            logger.warning("sandbox webhook %s %s not accepted: %s", event["topic"], event["id"], status)
        with self._lock:
            self._sent.append(
                {"topic": event["topic"], "conversation_id": event["data"]["item"]["id"], "status": status}
            )

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every queued webhook has been delivered (or given up on)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def sent(self) -> list[dict]:
        with self._lock:
            return list(self._sent)

    def sent_count(self) -> int:
        with self._lock:
            return len(self._sent)

    def stop(self) -> None:
        with self._lock:
            running = self._thread is not None and self._thread.is_alive()
        if running:
            self._queue.put(None)
            self._thread.join(timeout=5)
        self._http.close()
