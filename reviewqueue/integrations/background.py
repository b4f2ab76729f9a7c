"""Hand work to a background thread so a webhook answers without waiting on the broker.

A webhook receiver stores the delivery, then enqueues its handling task after commit. Publishing
to Redis takes a round trip (more on a cold connection); doing it here keeps the response fast.
If the process dies before the thread publishes, the stored row is still `received`, and the
receiver's redrive task picks it up: nothing is lost, only delayed.
"""

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_executor_pid: int | None = None


def _pool() -> ThreadPoolExecutor:
    # One pool per process: gunicorn forks workers after import, and threads do not survive a fork.
    global _executor, _executor_pid
    with _lock:
        if _executor is None or _executor_pid != os.getpid():
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="enqueue")
            _executor_pid = os.getpid()
        return _executor


def _publish(task, args: tuple) -> None:
    try:
        task.delay(*args)
    except Exception:  # broker down: the row stays `received`; the redrive task retries it later
        logger.exception("could not enqueue %s%r; left for the redrive task", task.name, args)


def enqueue_in_background(task, *args) -> None:
    """`task.delay(*args)` from a background thread; returns at once."""
    _pool().submit(_publish, task, args)


def wait_for_background_enqueues() -> None:
    """Block until everything submitted so far is published (tests, orderly shutdown)."""
    _pool().submit(lambda: None).result()  # one worker thread: it runs in order
