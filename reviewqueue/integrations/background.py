"""Publish webhook handling tasks from a background thread, so a receiver answers without the broker.

A receiver stores the delivery, then (after commit) hands the row's id to a `BackgroundPublisher`
and answers. Publishing a Celery message costs about a millisecond of CPU, as much as the rest of
the request, and a busy background thread still slows request threads (they share the GIL). So
the publisher's thread lingers a moment (50 ms) after the first id, then sends every id waiting
as one fan-out task, which the worker turns back into one task per id: a burst of webhooks costs
a handful of publishes, not one each. A lone id is published on its own, 50 ms late.

If the process dies before the thread publishes, the stored row is still `received` and the
receiver's redrive task picks it up: nothing is lost, only delayed.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time

logger = logging.getLogger(__name__)


class BackgroundPublisher:
    def __init__(self, *, single, fan_out, max_batch: int = 500, linger: float = 0.05, name: str = "publisher"):
        self.single = single  # task(record_id)
        self.fan_out = fan_out  # task(record_ids): enqueues `single` for each
        self.max_batch = max_batch
        self.linger = linger  # seconds to wait after the first id for others to join it
        self.name = name
        self._lock = threading.Lock()
        self._queue: queue.Queue | None = None
        self._pid: int | None = None

    def _ready_queue(self) -> queue.Queue:
        # One thread per process: gunicorn forks workers after import, and threads do not survive a fork.
        with self._lock:
            if self._queue is None or self._pid != os.getpid():
                self._queue = queue.Queue()
                self._pid = os.getpid()
                threading.Thread(target=self._run, args=(self._queue,), name=self.name, daemon=True).start()
            return self._queue

    def submit(self, record_id: int) -> None:
        """Publish `single(record_id)` soon; returns at once."""
        self._ready_queue().put(record_id)

    def flush(self, timeout: float = 10.0) -> None:
        """Block until every id submitted so far is published (tests, orderly shutdown)."""
        done = threading.Event()
        self._ready_queue().put(done)
        done.wait(timeout)

    def _run(self, pending: queue.Queue) -> None:
        while True:
            batch, markers = [], []
            item = pending.get()
            if self.linger and not isinstance(item, threading.Event):
                time.sleep(self.linger)  # let a burst gather (sleeping releases the GIL)
            while True:
                (markers if isinstance(item, threading.Event) else batch).append(item)
                if len(batch) >= self.max_batch:
                    break
                try:
                    item = pending.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._publish(batch)
            for marker in markers:
                marker.set()

    def _publish(self, ids: list[int]) -> None:
        try:
            if len(ids) == 1:
                self.single.delay(ids[0])
            else:
                self.fan_out.delay(ids)
        except Exception:  # broker down: the rows stay `received`; the redrive task retries them later
            logger.exception(
                "could not enqueue %s for %d record(s); left for the redrive task", self.single.name, len(ids)
            )
