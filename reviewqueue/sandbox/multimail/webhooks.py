"""Posts the sandbox's pending webhook deliveries, signed, from a background thread, with retries."""

from __future__ import annotations

import logging
import threading

import httpx

from reviewqueue.integrations.multimail.signature import HEADER, sign

logger = logging.getLogger(__name__)


class WebhookSender:
    """Ticks every `interval` seconds: lets sandbox time pass, then posts what is due."""

    def __init__(self, state, knobs, *, interval: float = 0.05):
        self.state = state
        self.knobs = knobs
        self.interval = interval
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
        for delivery in due:
            self._post(delivery)
        return len(due)

    def _post(self, delivery: dict) -> None:
        body = delivery["body"].encode()
        headers = {"Content-Type": "application/json", HEADER: sign(body, delivery["secret"])}
        try:
            status = self._http.post(delivery["url"], content=body, headers=headers).status_code
        except httpx.HTTPError as exc:
            logger.info("webhook %s to %s failed: %s", delivery["event_type"], delivery["url"], type(exc).__name__)
            status = None
        self.state.delivery_record(
            delivery_id=delivery["id"],
            response_status=status,
            max_attempts=self.knobs.webhook_max_attempts,
            retry_base=self.knobs.webhook_retry_seconds,
        )
