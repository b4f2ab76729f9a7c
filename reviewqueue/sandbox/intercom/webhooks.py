"""Signed webhook delivery from the Intercom sandbox, off the request thread like Intercom's own.

Each conversation change becomes a `notification_event` carrying the conversation as it was at
that moment, signed `X-Hub-Signature: sha1=<HMAC-SHA1 of the body keyed by the client secret>`
with the same function the receiver verifies with, and posted to the configured URL.

Deliveries wait in a schedule rather than in line, so a slow retry holds back nothing else, and
the knobs play what contracts/intercom.md says Intercom does: a failed delivery is tried again
after `webhook_retry_delay` seconds (Intercom: about a minute), `webhook_duplicates` of the
deliveries arrive twice under the same id, and `webhook_reorder` of them are held back
REORDER_HOLD seconds so later ones overtake them.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from reviewqueue.integrations.intercom.signature import sign

logger = logging.getLogger(__name__)
ATTEMPTS = 3
REORDER_HOLD = 1.0  # seconds a reordered delivery waits: long enough for the next change to overtake it
DUPLICATE_GAP = 0.05  # seconds between a delivery and its duplicate


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


@dataclass(order=True)
class _Delivery:
    due: float  # time.monotonic() when it may go out
    order: int
    event: dict = field(compare=False)
    attempt: int = field(default=1, compare=False)


class WebhookSender:
    """`knobs` is read at each delivery (the sandbox's Knobs: webhook_url and the webhook_* knobs)."""

    def __init__(self, *, secret: str, knobs, clock: Callable[[], float] = time.time, rng=None):
        self.secret = secret
        self.knobs = knobs
        self.clock = clock
        self._rng = rng or random.Random()
        self._schedule: list[_Delivery] = []
        self._order = itertools.count()
        self._in_flight = 0
        self._stopping = False
        self._wake = threading.Condition()
        self._sent: list[
            dict
        ] = []  # {topic, conversation_id, id, status}: what went out, for tests and /_sandbox/state
        self._thread: threading.Thread | None = None
        self._http = httpx.Client(timeout=httpx.Timeout(5.0, connect=2.0))

    def send(self, *, topic: str, item: dict, app_id: str) -> None:
        if not self.knobs.webhook_url:
            return
        event = notification(topic=topic, item=item, app_id=app_id, created_at=int(self.clock()))
        due = time.monotonic()
        if self._rng.random() < self.knobs.webhook_reorder:
            due += REORDER_HOLD
        self._ensure_thread()
        self._put(_Delivery(due, next(self._order), event))
        if self._rng.random() < self.knobs.webhook_duplicates:
            self._put(_Delivery(due + DUPLICATE_GAP, next(self._order), json.loads(json.dumps(event))))

    def _put(self, delivery: _Delivery) -> None:
        with self._wake:
            heapq.heappush(self._schedule, delivery)
            self._wake.notify()

    def _ensure_thread(self) -> None:
        with self._wake:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="intercom-sandbox-webhooks", daemon=True)
                self._thread.start()

    def _next_due(self) -> _Delivery | None:
        """Wait for the earliest delivery to fall due; None once stopping."""
        with self._wake:
            while not self._stopping:
                wait = self._schedule[0].due - time.monotonic() if self._schedule else None
                if wait is not None and wait <= 0:
                    self._in_flight += 1
                    return heapq.heappop(self._schedule)
                self._wake.wait(timeout=wait)
            return None

    def _run(self) -> None:
        while (delivery := self._next_due()) is not None:
            try:
                self._deliver(delivery)
            finally:
                with self._wake:
                    self._in_flight -= 1
                    self._wake.notify_all()

    def _deliver(self, delivery: _Delivery) -> None:
        event = delivery.event
        event["delivery_attempts"] = delivery.attempt
        raw = json.dumps(event).encode()
        try:
            response = self._http.post(
                self.knobs.webhook_url,
                content=raw,
                headers={"Content-Type": "application/json", "X-Hub-Signature": sign(raw, self.secret)},
            )
            status = response.status_code
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        failed = not (isinstance(status, int) and status < 500)
        if failed and delivery.attempt < ATTEMPTS:
            retry_at = time.monotonic() + self.knobs.webhook_retry_delay
            self._put(_Delivery(retry_at, next(self._order), event, delivery.attempt + 1))
            return
        if not (isinstance(status, int) and status < 300):
            logger.warning("sandbox webhook %s %s not accepted: %s", event["topic"], event["id"], status)
        with self._wake:
            self._sent.append(
                {
                    "topic": event["topic"],
                    "conversation_id": event["data"]["item"]["id"],
                    "id": event["id"],
                    "status": status,
                }
            )

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every scheduled webhook has been delivered (or given up on)."""
        deadline = time.monotonic() + timeout
        with self._wake:
            while (self._schedule or self._in_flight) and time.monotonic() < deadline:
                self._wake.wait(timeout=max(0.0, min(0.05, deadline - time.monotonic())))

    def sent(self) -> list[dict]:
        with self._wake:
            return list(self._sent)

    def sent_count(self) -> int:
        with self._wake:
            return len(self._sent)

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
            thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout=5)
        self._http.close()
