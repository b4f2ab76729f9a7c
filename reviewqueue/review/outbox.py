"""Carrying out outbox items: at least once, idempotently, one worker per item at a time.

A worker takes an item with a guarded update (due and pending, or running with a lapsed lease);
only the worker whose update changed the row runs it. Transient failures, and errors nobody
foresaw, go back to pending with a backoff until MAX_ATTEMPTS; permanent ones, and those that ran
out of attempts, are marked failed with the error, for the admins' retry button. A
`decide` that answers 404 is reconciled by reading the email, never retried blindly. The
sweeper re-drives items whose broker message was lost (Redis flushed, worker killed). What each
kind of item does at the vendors is in outbox_steps.py.
"""

import logging
import random
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from reviewqueue.audit.services import Actor, audit_record
from reviewqueue.queueing import broker_messages_kept_since, lost_with_the_broker
from reviewqueue.review import enqueue
from reviewqueue.review.models import Draft, OutboxItem
from reviewqueue.review.outbox_steps import HANDLERS as _HANDLERS
from reviewqueue.review.outbox_steps import Permanent, Transient, _Clients
from reviewqueue.review.signals import send_decision_carried_out

log = logging.getLogger(__name__)

LEASE = timedelta(
    seconds=150
)  # longer than a task may run (CELERY_TASK_TIME_LIMIT): a lapsed lease means a dead worker
BACKOFF_BASE = 2.0  # seconds; doubles per attempt
BACKOFF_CAP = 300.0
MAX_ATTEMPTS = 15  # about half an hour of trying before an item is failed for a person to look at
SWEEP_GRACE = timedelta(seconds=30)  # an item due this long and not taken has lost its broker message...
SWEEP_GRACE_BACKLOGGED = timedelta(minutes=10)  # ...unless the queue still holds messages: it may be among them
SWEEP_BATCH = 500


_BLOCKING_DECIDE_STATUSES = ["pending", "running", "failed"]


def _runnable(item: OutboxItem) -> bool:
    """Every item of a decision after `decide` waits until MultiMail took the decision."""
    if item.decision_id is None or item.kind == OutboxItem.Kind.DECIDE:
        return True
    return not OutboxItem.objects.filter(
        decision_id=item.decision_id, kind=OutboxItem.Kind.DECIDE, status__in=_BLOCKING_DECIDE_STATUSES
    ).exists()


def _runnable_q() -> Q:
    """`_runnable` as a condition on the row, so the take checks it in the same statement."""
    open_decide = OutboxItem.objects.filter(
        decision_id=OuterRef("decision_id"), kind=OutboxItem.Kind.DECIDE, status__in=_BLOCKING_DECIDE_STATUSES
    )
    return Q(decision__isnull=True) | Q(kind=OutboxItem.Kind.DECIDE) | ~Exists(open_decide)


def _due(now) -> Q:
    return Q(status=OutboxItem.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=OutboxItem.Status.RUNNING, locked_until__lt=now
    )


def outbox_run(*, item_id: int, multimail=None, intercom=None, at: datetime | None = None) -> str:
    """Run one item if it is due and nobody else runs it. Returns what happened (for logs and tests).

    The take is one guarded update (due, runnable, this item); only then is the item read, with
    its draft and decision, for the handler: two statements on the common path. `at`: when it
    was carried out, if not now (history replayed in time order; see audit_record_many).
    """
    now = timezone.now()
    taken = OutboxItem.objects.filter(_due(now), _runnable_q(), pk=item_id).update(
        status=OutboxItem.Status.RUNNING, locked_until=now + LEASE, attempts=F("attempts") + 1
    )
    if not taken:
        return _not_taken_because(item_id)
    item = OutboxItem.objects.select_related("draft", "decision").get(pk=item_id)
    if item.attempts > MAX_ATTEMPTS:
        # Every attempt's worker died (killed, or past the hard time limit) before it could record
        # anything: the sweeper hands the item out on each lapsed lease, so the limit is kept here.
        _fail(item, f"gave up after {MAX_ATTEMPTS} attempts: {item.last_error or 'its worker never finished'}")
        return "failed"
    clients = _Clients(multimail, intercom)
    try:
        result = _HANDLERS[item.kind](item, clients)
    except Transient as error:
        return _retry_later(item, str(error), error.retry_after)
    except SoftTimeLimitExceeded:
        return _retry_later(item, "took longer than the task's time limit", None)
    except Permanent as error:
        _fail(item, str(error))
        return "failed"
    except Exception as error:
        # A bug or an answer no client expects: left RUNNING, the sweeper would re-drive it every
        # lease without limit. Spent as an attempt like a transient one, so it ends failed for a person.
        log.exception("outbox item raised an unforeseen error", extra={"item": item.pk, "kind": item.kind})
        return _retry_later(item, f"{type(error).__name__}: {error}", None)
    result = result or {}
    _done(item, result, at)
    if item.kind == OutboxItem.Kind.DECIDE:
        _announce_carried_out(item, result)
        _after_decide(item.decision_id, clients, at)
    return "done"


def _not_taken_because(item_id: int) -> str:
    item = OutboxItem.objects.filter(pk=item_id).first()
    if item is None:
        return "missing"
    if item.status in (OutboxItem.Status.DONE, OutboxItem.Status.FAILED):
        return item.status
    return "busy" if _runnable(item) else "waiting"


def _backoff(attempts: int, retry_after: float | None) -> float:
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1)) * random.uniform(0.8, 1.2)
    return max(delay, retry_after or 0)


def _retry_later(item: OutboxItem, error: str, retry_after: float | None) -> str:
    if item.attempts >= MAX_ATTEMPTS:
        _fail(item, f"gave up after {item.attempts} attempts: {error}")
        return "failed"
    delay = _backoff(item.attempts, retry_after)
    OutboxItem.objects.filter(pk=item.pk, status=OutboxItem.Status.RUNNING).update(
        status=OutboxItem.Status.PENDING,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        locked_until=None,
        last_error=error[:2000],
    )
    enqueue.outbox_run(item.pk, countdown=delay)
    return "retry"


def _fail(item: OutboxItem, error: str) -> None:
    with transaction.atomic():
        OutboxItem.objects.filter(pk=item.pk).update(
            status=OutboxItem.Status.FAILED, locked_until=None, last_error=error[:2000]
        )
        if item.kind == OutboxItem.Kind.DECIDE:
            audit_record(
                actor=Actor.system("review.outbox"),
                action="decide.failed",
                target_type="draft",
                target_id=item.draft_id,
                payload={"decision_id": item.decision_id, "outbox_item_id": item.pk, "error": error[:2000]},
            )
    log.warning("outbox item failed", extra={"item": item.pk, "kind": item.kind})


def _done(item: OutboxItem, result: dict, at: datetime | None) -> None:
    audit_action = result.pop("_audit", None)
    with transaction.atomic():
        OutboxItem.objects.filter(pk=item.pk).update(
            status=OutboxItem.Status.DONE, done_at=at or timezone.now(), locked_until=None, result=result, last_error=""
        )
        if audit_action:
            audit_record(
                actor=Actor.system("review.outbox"),
                action=audit_action,
                target_type="draft",
                target_id=item.draft_id,
                payload={"decision_id": item.decision_id, "outbox_item_id": item.pk, **result},
                at=at,
            )


def _announce_carried_out(item: OutboxItem, result: dict) -> None:
    """Tell other apps MultiMail took the decision (review/signals.py); the email is the final one."""
    send_decision_carried_out(
        decision_id=item.decision_id,
        draft_id=item.draft_id,
        action=item.decision.action,
        final_email_id=result.get("email_id") or item.draft.email_id,
        multimail_status=result.get("multimail_status", ""),
    )


def _after_decide(decision_id: int, clients: "_Clients", at: datetime | None) -> None:
    """MultiMail took the decision: the other items go to the broker, the note is written right here.

    The note is what people wait for (click-to-note), so it skips a broker round trip; the
    guarded take in outbox_run still keeps it to one runner, and the sweeper covers a crash here.
    """
    items = list(OutboxItem.objects.filter(decision_id=decision_id, status=OutboxItem.Status.PENDING))
    note = next((i for i in items if i.kind == OutboxItem.Kind.INTERCOM_NOTE), None)
    for item in items:
        if item is not note:
            enqueue.outbox_run(item.pk)
    if note is not None:
        outbox_run(item_id=note.pk, multimail=clients._multimail, intercom=clients._intercom, at=at)


def outbox_enqueue_next(*, decision_id: int) -> int:
    """Enqueue the items of a decision that can run now: `decide` first, the rest once it is done."""
    items = list(OutboxItem.objects.filter(decision_id=decision_id, status=OutboxItem.Status.PENDING))
    decide_open = (
        any(i.kind == OutboxItem.Kind.DECIDE for i in items)
        or OutboxItem.objects.filter(
            decision_id=decision_id, kind=OutboxItem.Kind.DECIDE, status__in=["running", "failed"]
        ).exists()
    )
    runnable = [i for i in items if i.kind == OutboxItem.Kind.DECIDE or not decide_open]
    for item in runnable:
        enqueue.outbox_run(item.pk)
    return len(runnable)


def outbox_sweep(*, grace: timedelta = SWEEP_GRACE) -> int:
    """Re-drive items whose broker message was lost: due for longer than `grace`, or running on a lapsed lease.

    Enqueueing an item twice is harmless: outbox_run takes it with a guarded update. But while the
    broker's queue still holds messages, an item due for a while may simply be waiting among them:
    re-driving it then only lengthens the queue (every sweep added a copy of every waiting item,
    which at scale was most of the work). So while the queue holds messages, only items due for
    longer than SWEEP_GRACE_BACKLOGGED are re-driven, and each is re-driven once per that time.
    Except what was due before the broker last lost its messages (restarted without persistence,
    flushed; reviewqueue/queueing.py broker_messages_kept_since): no message of it can be waiting, so it is
    re-driven at once, backlog or not; being due since now afterwards, it is re-driven once per loss.
    Drafts whose fetch message was lost are re-driven the same way: every one once the queue is empty
    (the pending poll fetches them too), and while it holds messages those created before the loss.
    """
    backlogged = _broker_backlog() > 0
    lost_before = broker_messages_kept_since()  # asked every sweep, so a loss is dated within a sweep of it
    now = timezone.now()  # after the loss's date: what this sweep re-drives is due after it, not re-driven again
    ids = _outbox_redrive(now, grace, backlogged, lost_before)
    unfetched = Draft.objects.filter(status=Draft.Status.PENDING, fetched_at__isnull=True)
    if not backlogged:
        draft_ids = unfetched.filter(created_at__lte=now - grace).values_list("pk", flat=True)[:SWEEP_BATCH]
    else:  # only those whose fetch message went with the broker's: at once, once per loss
        draft_ids = lost_with_the_broker("review.draft_fetch", unfetched, queued_at="created_at", limit=SWEEP_BATCH)
    for draft_id in draft_ids:
        enqueue.draft_fetch(draft_id)
    return len(ids)


def _outbox_redrive(now: datetime, grace: timedelta, backlogged: bool, lost_before: datetime | None) -> list[int]:
    waited_out = now - (max(grace, SWEEP_GRACE_BACKLOGGED) if backlogged else grace)
    if lost_before is not None:  # due before the loss: its message went with the broker's
        waited_out = max(waited_out, min(lost_before, now - grace))
    stale = Q(status=OutboxItem.Status.PENDING, next_attempt_at__lte=waited_out) | Q(
        status=OutboxItem.Status.RUNNING, locked_until__lt=now
    )
    # Items waiting on a decide that has not gone through (failed, or still retrying) are not re-driven:
    # they would only answer "waiting", and follow when their decide is done. Left out by the query, not
    # after it: waiting items are the oldest (a re-driven decide is due again from now), and a batch of them
    # filtered afterwards re-drove 4 items a sweep while 4,700 waited behind 500 blocked ones (the soak).
    ids = list(
        OutboxItem.objects.filter(stale, _runnable_q())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    # Due since now: the next sweep counts this item's grace from this re-drive, not from its first due time.
    OutboxItem.objects.filter(pk__in=ids, status=OutboxItem.Status.PENDING).update(next_attempt_at=now)
    for item_id in ids:
        enqueue.outbox_run(item_id)
    return ids


def _broker_backlog() -> int:
    """Messages waiting in the default queue, not yet taken by any worker (one round trip to the broker)."""
    from reviewqueue.celery import app

    with app.connection_for_read() as connection:
        try:
            declared = connection.default_channel.queue_declare(queue=app.conf.task_default_queue, passive=True)
        except connection.channel_errors:  # Redis drops an empty queue's key: "no such queue" means empty
            return 0
    return declared.message_count


# --- What each kind does ---------------------------------------------------------------------------
