"""Queue the callbacks' tasks by name (Celery's send_task), so services need not import tasks.py.

A delivery is committed before it is queued: a broker that is down leaves it pending for
delivery.deliveries_sweep (reviewqueue/queueing.py), so a decision or an admin's redelivery never
fails on it.
"""

from reviewqueue.queueing import send_committed


def delivery_run(delivery_id: int, *, countdown: float | None = None) -> None:
    send_committed("callbacks.deliver", (delivery_id,), countdown=countdown)
