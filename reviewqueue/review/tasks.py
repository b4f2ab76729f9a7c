"""Celery tasks of the review queue: thin, by id; the retry policy lives here (and in outbox.py)."""

import logging

from celery import shared_task

from reviewqueue.review import context, enqueue, ingest, linking, outbox, poll

logger = logging.getLogger(__name__)

FETCH_MAX_RETRIES = 8


@shared_task(bind=True, name="review.draft_fetch", max_retries=FETCH_MAX_RETRIES)
def draft_fetch_task(self, draft_id: int, refresh: bool = False) -> str:
    try:
        draft = ingest.draft_fetch(draft_id=draft_id, refresh=refresh)
    except ingest.FetchTransientError as error:
        if self.request.retries >= FETCH_MAX_RETRIES:
            return f"gave up: {error}"  # the sweeper and the next poll try again later
        raise self.retry(countdown=_fetch_retry_delay(self.request.retries)) from None
    return draft.status


@shared_task(name="review.draft_fetches", ignore_result=True)
def draft_fetches_task(drafts: list[list]) -> int:
    """Several drafts' fetches from one message ([draft id, refresh] each); how many were fetched.

    Each draft keeps draft_fetch_task's retries: one that fails transiently is queued on its own as that
    task's first retry. One that fails otherwise is logged and left to the outbox sweeper, as a failed
    draft_fetch_task would be, and the others are still fetched."""
    fetched = 0
    for draft_id, refresh in drafts:
        try:
            ingest.draft_fetch(draft_id=draft_id, refresh=refresh)
        except ingest.FetchTransientError:
            enqueue.draft_fetch(draft_id, refresh, countdown=_fetch_retry_delay(0), retries=1)
        except Exception:
            logger.exception("review.draft_fetches: draft %s not fetched, left to the sweeper", draft_id)
        else:
            fetched += 1
    return fetched


def _fetch_retry_delay(retries_so_far: int) -> int:
    return min(300, 2 ** (retries_so_far + 1))


# Best effort, no retries: a refresh that fails is left to the approval's own re-check, and a late
# one is of no use (the next page view queues another).
@shared_task(name="review.context_refresh", soft_time_limit=30, time_limit=40)
def context_refresh_task(draft_ids: list[int]) -> int:
    return context.drafts_context_refresh(draft_ids=draft_ids)


@shared_task(name="review.pending_sync")
def pending_sync_task() -> dict:
    result = poll.pending_sync()
    return {"skipped": result.skipped, "received": result.received, "errors": len(result.errors)}


# Well inside outbox.LEASE (150 s): a task still running when its lease lapses would be run twice.
@shared_task(name="review.outbox_run", soft_time_limit=50, time_limit=60)
def outbox_run_task(item_id: int) -> str:
    return outbox.outbox_run(item_id=item_id)


@shared_task(name="review.outbox_sweep")
def outbox_sweep_task(grace_seconds: float | None = None) -> int:
    from datetime import timedelta

    if outbox._broker_backlog() == 0:  # while messages wait, the fetch queued last time may be among them
        linking.link_again()
    if grace_seconds is None:
        return outbox.outbox_sweep()
    return outbox.outbox_sweep(grace=timedelta(seconds=grace_seconds))
