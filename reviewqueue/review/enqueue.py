"""Queueing the review component's background work, by task name.

The services queue work here rather than through reviewqueue.review.tasks, which imports them: the
tasks call the services, the services only name the tasks. No task of ours is routed to a queue of
its own (no CELERY_TASK_ROUTES, no `queue=`), so sending by name is what `.delay()` did.
"""

from reviewqueue.celery import app


def draft_fetch(draft_id: int, refresh: bool = False, *, producer=None) -> None:
    app.send_task("review.draft_fetch", args=(draft_id, refresh), producer=producer)


def publishing():
    """One broker producer for many sends (`producer=`), instead of one taken from the pool per send."""
    return app.producer_or_acquire()


def outbox_run(item_id: int, *, countdown: float | None = None) -> None:
    app.send_task("review.outbox_run", args=(item_id,), countdown=countdown)
