"""Queueing the review component's background work, by task name.

The services queue work here rather than through reviewqueue.review.tasks, which imports them: the
tasks call the services, the services only name the tasks. No task of ours is routed to a queue of
its own (no CELERY_TASK_ROUTES, no `queue=`), so sending by name is what `.delay()` did.
"""

from reviewqueue.queueing import send_best_effort, send_committed

FETCHES_PER_MESSAGE = 20


def draft_fetch(draft_id: int, refresh: bool = False, **options) -> None:
    _send("review.draft_fetch", (draft_id, refresh), **options)


def draft_fetches(drafts: list[tuple[int, bool]]) -> None:
    """Queue many drafts' fetches ((draft id, refresh) each), FETCHES_PER_MESSAGE to a message: a message
    costs Celery and the broker about what a fetch of its own did, and a batch in several messages is
    still spread over the worker's processes."""
    for start in range(0, len(drafts), FETCHES_PER_MESSAGE):
        _send("review.draft_fetches", ([list(draft) for draft in drafts[start : start + FETCHES_PER_MESSAGE]],))


def outbox_run(item_id: int, *, countdown: float | None = None) -> None:
    _send("review.outbox_run", (item_id,), countdown=countdown)


def context_refresh(draft_ids: list[int], *, expires: float) -> bool:
    """Re-read these drafts' conversations in the background (review/context.py). Committed nowhere and
    needed by nothing: one attempt, False when the broker could not take it (logged); a worker drops it
    unrun after `expires` seconds, when the reviewer has moved on."""
    return send_best_effort("review.context_refresh", (list(draft_ids),), expires=expires)


def _send(name: str, args: tuple, **options) -> None:
    """Queue a task whose work is already committed in PostgreSQL: a broker that is down loses nothing.

    The outbox item stays PENDING and the draft unfetched, and outbox_sweep queues them again once
    the broker is back (reviewqueue/queueing.py, shared with the callbacks and Slack deliveries).
    """
    send_committed(name, args, **options)
