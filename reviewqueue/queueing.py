"""Queueing a task whose work is already committed in PostgreSQL: a broker that is down loses nothing.

Every durable work row (review's outbox items and fetches, callback deliveries, Slack deliveries) is
written first and queued after its commit; each app's sweeper queues again whatever is still due
once the broker is back, and the worker takes each row with a guarded update (reviewqueue/leases.py),
so a second message is harmless. An error from the broker at that point would only turn committed
work (a reviewer's decision, an admin's redelivery) into a failure for the caller: it is logged here
instead. Work that is NOT committed anywhere (a Slack button's payload) must not be sent this way.

Neutral on purpose: review/, callbacks/ and slack/ all queue through it, and it imports none of them.
"""

import logging

import kombu.exceptions

from reviewqueue.celery import app

log = logging.getLogger(__name__)


def send_committed(name: str, args: tuple, **options) -> bool:
    """Send task `name`; False (logged, left to the sweeper) when the broker cannot be reached."""
    try:
        app.send_task(name, args=args, **options)
    except kombu.exceptions.OperationalError as error:
        log.warning("not queued, left to the sweeper: %s%s: %s", name, args, error)
        return False
    return True
