"""The poll of MultiMail's pending list: the safety net for lost webhooks (also `manage.py sync_pending`)."""

import contextlib
import dataclasses
import logging
import queue
import threading
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone

from reviewqueue.audit.services import Actor, audit_record, audit_record_many
from reviewqueue.integrations.multimail import statuses
from reviewqueue.review.clients import intercom_client, multimail_client
from reviewqueue.review.ingest import (
    _draft_fetch_remote,
    _draft_store_fetch,
    _drafts_store_fetched,
    _Fetched,
    _mark_decided_elsewhere,
    draft_receive,
    draft_received_entry,
)
from reviewqueue.review.models import Draft

log = logging.getLogger(__name__)

INGEST_CONCURRENCY = 16  # simultaneous fetches during a poll (I/O bound: threads)

POLL_LOCK_KEY = "reviewqueue:review:poll-lock"
LAST_POLL_KEY = "reviewqueue:review:last-poll"


@dataclass
class SyncResult:
    skipped: bool = False  # another poll held the lock
    pending: int = 0  # what MultiMail listed
    received: int = 0  # new drafts
    fetched: int = 0
    decided_elsewhere: int = 0
    returned_to_review: int = 0  # marked decided elsewhere, yet MultiMail still holds them
    errors: list[str] = field(default_factory=list)


def pending_sync(*, multimail=None, intercom=None, concurrency: int = INGEST_CONCURRENCY) -> SyncResult:
    """One pull of MultiMail's pending list. Only one runs at a time across workers (a Redis lock).

    New drafts are received and fetched concurrently (threads, bounded by `concurrency`); pending
    drafts MultiMail no longer lists are read back and, when MultiMail says they are no longer
    waiting, shown as decided elsewhere; drafts shown as decided elsewhere that MultiMail lists are
    read back and, when MultiMail says they still wait, returned to review.
    """
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    lock = client.lock(POLL_LOCK_KEY, timeout=max(60, settings.POLL_INTERVAL * 4), blocking=False)
    if not lock.acquire(blocking=False):
        return SyncResult(skipped=True)
    try:
        result = _pending_sync_locked(multimail, intercom, concurrency)
        # MultiMail answered the pending list: the safety net is running (a draft that failed to
        # load is in result.errors and is tried again next time; it does not make the poll stale).
        poll_record_success()
        return result
    finally:
        # A lock that expired meanwhile (a very slow poll) has nothing to release.
        with contextlib.suppress(redis.exceptions.LockError):
            lock.release()


def _pending_sync_locked(multimail, intercom, concurrency: int) -> SyncResult:
    multimail = multimail or multimail_client()
    if intercom is None:
        # One shared client for every fetch of the poll; without Intercom configured each draft
        # still arrives, and says why its conversation is missing.
        with contextlib.suppress(Exception):
            intercom = intercom_client()
    started = timezone.now()
    _intercom_warm(intercom)
    listed = multimail.pending()
    result = SyncResult(pending=len(listed))
    listed_ids = {email.id for email in listed}
    known = set(Draft.objects.filter(email_id__in=listed_ids).values_list("email_id", flat=True))
    new = [email for email in listed if email.id not in known]

    writer = _StoreWriter()

    def fetch(draft):
        draft = draft if isinstance(draft, Draft) else Draft.objects.get(pk=draft)
        fetched = _draft_fetch_remote(draft, refresh=False, multimail=multimail, intercom=intercom)
        if isinstance(fetched, _Fetched):
            writer.put(fetched)  # counted when stored
            return "handed over"
        return "fetched"

    def check_gone(draft_id):
        return "decided_elsewhere" if draft_check_decided_elsewhere(draft_id=draft_id, multimail=multimail) else "kept"

    def check_back(draft_id):
        return "returned_to_review" if draft_check_pending_again(draft_id=draft_id, multimail=multimail) else "kept"

    def jobs():
        # New drafts are received a batch at a time (one transaction each) while earlier ones are
        # already being fetched, so receiving overlaps the network waits instead of adding to them.
        # The other two lists are read only then: the new drafts' fetches need not wait for them.
        for batch in _receive_batches(new, first=concurrency):
            for draft in _drafts_receive_batch(batch):
                result.received += 1
                yield fetch, draft
        unfetched = Draft.objects.filter(status=Draft.Status.PENDING, fetched_at__isnull=True, email_id__in=known)
        for draft_id in list(unfetched.values_list("pk", flat=True)):
            yield fetch, draft_id
        # created_at before the poll began: never one this poll (or a webhook meanwhile) just received.
        gone = Draft.objects.filter(status=Draft.Status.PENDING, created_at__lt=started).exclude(
            email_id__in=listed_ids
        )
        for draft_id in list(gone.values_list("pk", flat=True)):
            yield check_gone, draft_id
        # Known drafts are not received again, but one marked decided elsewhere that MultiMail still
        # lists was taken out of review on a word MultiMail's list now contradicts.
        listed_back = Draft.objects.filter(status=Draft.Status.DECIDED_ELSEWHERE, email_id__in=known)
        for draft_id in list(listed_back.values_list("pk", flat=True)):
            yield check_back, draft_id

    try:
        outcomes = _run_bounded(jobs(), concurrency)
    finally:
        outcomes_stored = writer.close()
    for outcome in outcomes + outcomes_stored:
        if isinstance(outcome, Exception):
            result.errors.append(f"{type(outcome).__name__}: {outcome}")
        elif outcome == "fetched":
            result.fetched += 1
        elif outcome == "decided_elsewhere":
            result.decided_elsewhere += 1
        elif outcome == "returned_to_review":
            result.returned_to_review += 1
    return result


STORE_BATCH = 50
STORE_THREADS = 2  # the store waits on the database more than it computes: two overlap the waits


class _StoreWriter:
    """Stores what the fetch threads hand over, a batch per transaction, on threads of their own.

    The fetch threads go straight back to the network instead of waiting on the database, and
    a batch of drafts costs one commit instead of one each. A batch that fails is stored again
    draft by draft, so one bad draft fails alone.
    """

    def __init__(self, threads: int = STORE_THREADS):
        # Bounded: when the database falls behind, the fetch threads wait instead of piling up emails.
        self._queue: queue.Queue = queue.Queue(maxsize=STORE_BATCH * 4)
        self._outcomes: list = []
        self._threads = [
            threading.Thread(target=self._run, name=f"ingest-store-{n}", daemon=True) for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def put(self, fetched: _Fetched) -> None:
        self._queue.put(fetched)

    def close(self) -> list:
        """Store what is left; the outcome of each draft handed over ("fetched" or the exception)."""
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        return self._outcomes

    def _run(self) -> None:
        try:
            while (batch := self._next_batch()) is not None:
                self._store(batch)
        finally:
            connection.close()

    def _next_batch(self) -> list[_Fetched] | None:
        """What is waiting (at least one item), up to STORE_BATCH; None once this thread's end mark came."""
        first = self._queue.get()
        if first is None:
            return None
        batch = [first]
        while len(batch) < STORE_BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)  # another thread's end mark (or ours, next time): after this batch
                break
            batch.append(item)
        return batch

    def _store(self, batch: list[_Fetched]) -> None:
        try:
            _drafts_store_fetched(batch)
            self._outcomes.extend(["fetched"] * len(batch))
            return
        except Exception as error:  # retried one by one below, where each failure is reported alone
            log.warning("ingest store batch failed; storing its drafts one by one", extra={"error": repr(error)})
        for item in batch:
            try:
                # Afresh from the database: the failed batch left its changes on the objects in memory.
                _draft_store_fetch(dataclasses.replace(item, draft=Draft.objects.get(pk=item.draft.pk)))
                self._outcomes.append("fetched")
            except Exception as error:
                log.warning("ingest store failed", extra={"error": repr(error)})
                self._outcomes.append(error)


def _intercom_warm(intercom) -> None:
    """Ask Intercom who we are (GET /me, which the client keeps per process) while MultiMail lists.

    Every conversation fetch needs the answer; without this the first fetch threads would all find
    it missing at once and each ask (one call per thread for one answer). Not waited for: a slow or
    failing Intercom must not hold up the poll, and each fetch still asks if it has no answer.
    """
    if intercom is not None:
        threading.Thread(target=_quietly, args=(intercom.me,), name="ingest-intercom-me", daemon=True).start()


def _quietly(function) -> None:
    with contextlib.suppress(Exception):  # the fetch that needs it reports the failure with its draft
        function()


RECEIVE_BATCH = 100


def _receive_batches(emails: list, *, first: int) -> list[list]:
    """A first batch just big enough to set every fetch thread going, then RECEIVE_BATCH at a time."""
    if not emails:
        return []
    first = max(1, min(first, RECEIVE_BATCH))
    rest = emails[first:]
    return [emails[:first]] + [rest[i : i + RECEIVE_BATCH] for i in range(0, len(rest), RECEIVE_BATCH)]


def _drafts_receive_batch(emails) -> list[Draft]:
    """Receive listed drafts in one transaction; those that are new.

    The webhook may deliver one of them at the same moment: then the batch falls back to
    draft_receive one by one, which settles each race on the unique email id.
    """
    actor = Actor.system("review.poll")
    try:
        with transaction.atomic():
            drafts = Draft.objects.bulk_create(
                [Draft(email_id=e.id, mailbox_id=e.mailbox_id, source=Draft.Source.POLL) for e in emails]
            )
            audit_record_many([draft_received_entry(draft, actor) for draft in drafts])
        return drafts
    except IntegrityError:
        created = []
        for email in emails:
            draft, new = draft_receive(
                email_id=email.id, mailbox_id=email.mailbox_id, source="poll", actor=actor, fetch=False
            )
            if new:
                created.append(draft)
        return created


def _run_bounded(jobs, concurrency: int) -> list:
    """Run (function, argument) jobs on `concurrency` threads; each result or exception, in completion order.

    Plain threads rather than an executor: each keeps its database connection for all its jobs
    and closes it when the work runs out (a connection per job would cost a connect each).
    """
    work: queue.Queue = queue.Queue(maxsize=concurrency * 4)
    results: list = []

    def worker():
        try:
            while (job := work.get()) is not None:
                function, argument = job
                try:
                    results.append(function(argument))
                except Exception as error:  # reported by the caller; one bad draft must not stop the others
                    log.warning("ingest job failed", extra={"error": repr(error)})
                    results.append(error)
        finally:
            connection.close()

    close_old_connections()
    threads = [threading.Thread(target=worker, name=f"ingest-{n}", daemon=True) for n in range(max(1, concurrency))]
    for thread in threads:
        thread.start()
    try:
        for job in jobs:
            work.put(job)
    finally:
        for _ in threads:
            work.put(None)
        for thread in threads:
            thread.join()
    return results


def draft_check_decided_elsewhere(*, draft_id: int, multimail=None) -> bool:
    """A pending draft MultiMail may have stopped holding (no longer listed, or an event says it was
    decided): read it back; True when it was marked decided elsewhere."""
    from reviewqueue.integrations.multimail.client import MultiMailNotFound

    multimail = multimail or multimail_client()
    draft = Draft.objects.get(pk=draft_id)
    try:
        email = multimail.get_email(mailbox_id=draft.mailbox_id, email_id=draft.email_id)
    except MultiMailNotFound:
        email = _GoneEmail(status="not found (deleted or expired)")
    if email.status in statuses.AWAITING_DECISION:
        return False
    with transaction.atomic():
        locked = Draft.objects.select_for_update().get(pk=draft_id)
        return locked.is_pending and _mark_decided_elsewhere(locked, email)


def draft_check_pending_again(*, draft_id: int, multimail=None) -> bool:
    """A draft marked decided elsewhere that MultiMail lists as pending: read it back; True when
    MultiMail's copy still waits for a person and the draft went back to the queue (audited)."""
    from reviewqueue.integrations.multimail.client import MultiMailNotFound

    multimail = multimail or multimail_client()
    draft = Draft.objects.get(pk=draft_id)
    try:
        email = multimail.get_email(mailbox_id=draft.mailbox_id, email_id=draft.email_id)
    except MultiMailNotFound:
        return False
    if email.status not in statuses.AWAITING_DECISION:
        return False
    with transaction.atomic():
        returned = Draft.objects.filter(pk=draft_id, status=Draft.Status.DECIDED_ELSEWHERE).update(
            status=Draft.Status.PENDING, email_status=email.status, status_detail="", updated_at=timezone.now()
        )
        if returned:
            audit_record(
                actor=Actor.system("review.sync"),
                action="draft.returned_to_review",
                target_type="draft",
                target_id=draft_id,
                payload={
                    "email_id": draft.email_id,
                    "multimail_status": email.status,
                    "was_decided_elsewhere": draft.status_detail,
                },
            )
    return bool(returned)


@dataclass(frozen=True)
class _GoneEmail:
    status: str
    approved_by: str = ""
    approved_at: datetime | None = None


def poll_record_success() -> None:
    from django.core.cache import cache

    cache.set(LAST_POLL_KEY, timezone.now().isoformat(), timeout=None)


def poll_last_success() -> datetime | None:
    from django.core.cache import cache

    value = cache.get(LAST_POLL_KEY)
    return datetime.fromisoformat(value) if value else None
