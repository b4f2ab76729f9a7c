"""Posts the sandbox's pending webhook deliveries, signed, from a background thread, with retries.

The chaos knobs (app.Knobs) play a sender's at-least-once delivery and an attacker, each rolled once
per delivery: webhook_duplicate_rate posts an accepted delivery a second time under the same id,
webhook_reorder_rate holds one back REORDER_HOLD seconds so later events overtake it, and
webhook_forge_rate posts, besides it, a forged copy (a new id, turned into an approval, signed with a
secret that is not the subscription's). `chaos()` counts what was done (GET /_sandbox/webhook-chaos).
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
import uuid

import httpx

from reviewqueue.integrations.multimail.signature import HEADER, sign

logger = logging.getLogger(__name__)
REORDER_HOLD = 2.0  # seconds a held-back delivery waits: long enough for later events to overtake it
FORGED_SECRET = "whsec_forged_by_the_sandbox"  # never a subscription's: a forged copy must be refused


class WebhookSender:
    """Ticks every `interval` seconds: lets sandbox time pass, then posts what is due."""

    def __init__(self, state, knobs, *, interval: float = 0.05, rng=None):
        self.state = state
        self.knobs = knobs
        self.interval = interval
        self._rng = rng or random.Random()
        self._rolled: set[str] = set()  # deliveries whose chaos was rolled (once each)
        self._held: dict[str, float] = {}  # delivery id -> time.monotonic() it may go out
        self._chaos = {"duplicated": 0, "reordered": 0, "forged": 0, "forged_ids": []}
        self._chaos_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._http = httpx.Client(timeout=httpx.Timeout(5.0, connect=2.0))

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="multimail-sandbox-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._http.close()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # the sandbox keeps serving whatever one delivery does
                logger.exception("multimail sandbox webhook tick failed")

    def tick(self) -> int:
        """Post every due delivery once; returns how many were attempted."""
        due = self.state.deliveries_due()
        attempted = 0
        for delivery in due:
            if self._held_back(delivery):
                continue
            self._post(delivery)
            attempted += 1
        return attempted

    def chaos(self) -> dict:
        with self._chaos_lock:
            return {**self._chaos, "forged_ids": list(self._chaos["forged_ids"])}

    def _count(self, what: str, forged_id: str | None = None) -> None:
        with self._chaos_lock:
            self._chaos[what] += 1
            if forged_id:
                self._chaos["forged_ids"].append(forged_id)

    def _held_back(self, delivery: dict) -> bool:
        """Roll the delivery's reorder and forge knobs the first time it is due; True while it is held back."""
        now = time.monotonic()
        if delivery["id"] not in self._rolled:
            self._rolled.add(delivery["id"])
            if self.knobs.webhook_forge_rate and self._rng.random() < self.knobs.webhook_forge_rate:
                self._forge(delivery)
            if self.knobs.webhook_reorder_rate and self._rng.random() < self.knobs.webhook_reorder_rate:
                self._held[delivery["id"]] = now + REORDER_HOLD
                self._count("reordered")
        release = self._held.get(delivery["id"])
        if release is not None and release > now:
            return True
        self._held.pop(delivery["id"], None)
        return False

    def _forge(self, delivery: dict) -> None:
        event = json.loads(delivery["body"])
        forged_id = f"evt_forged_{uuid.uuid4().hex}"
        event.update(id=forged_id, event_type="oversight.approved")
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", HEADER: sign(body, FORGED_SECRET)}
        with contextlib.suppress(httpx.HTTPError):  # a forgery is tried once
            self._http.post(delivery["url"], content=body, headers=headers)
        self._count("forged", forged_id)

    def _post(self, delivery: dict) -> None:
        body = delivery["body"].encode()
        headers = {"Content-Type": "application/json", HEADER: sign(body, delivery["secret"])}
        try:
            status = self._http.post(delivery["url"], content=body, headers=headers).status_code
        except httpx.HTTPError as exc:
            logger.info("webhook %s to %s failed: %s", delivery["event_type"], delivery["url"], type(exc).__name__)
            status = None
        accepted = status is not None and 200 <= status < 300
        if accepted and self.knobs.webhook_duplicate_rate and self._rng.random() < self.knobs.webhook_duplicate_rate:
            try:  # the same delivery again, same id: the receiver must take it once
                self._http.post(delivery["url"], content=body, headers=headers)
                self._count("duplicated")
            except httpx.HTTPError:
                pass
        self.state.delivery_record(
            delivery_id=delivery["id"],
            response_status=status,
            max_attempts=self.knobs.webhook_max_attempts,
            retry_base=self.knobs.webhook_retry_seconds,
        )
