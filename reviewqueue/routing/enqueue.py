"""Queueing the routing component's background work, by task name.

Intake queues its follow-ups here rather than through reviewqueue.routing.tasks, which imports it:
the tasks call the services, the services only name the tasks. No task of ours is routed to a queue
of its own (no CELERY_TASK_ROUTES, no `queue=`), so sending by name is what `.delay()` did.
"""

from reviewqueue.celery import app


def intake_followups(*, countdown: float | None = None) -> None:
    app.send_task("routing.intake_followups", countdown=countdown)
