"""Every write of the review queue: ingest, claims, decisions, later MultiMail events.

For the pages and the API (what a view calls and what it must handle)
--------------------------------------------------------------------
- `draft_claim(draft=, reviewer=, take_over=False) -> Claim`
    raises DraftClaimedByOther(claim) when another reviewer holds a live claim (`claim.holder`,
    `claim.expires_at`); pass take_over=True after the person confirmed, which is audited as
    `draft.claim_taken_over`. Claiming your own claim again extends it. DraftNotPending when the
    draft left the queue.
- `draft_release(draft=, reviewer=) -> bool` — drops the reviewer's own claim (False if none).
- `draft_decide(draft=, reviewer=, action="approve"|"reject", reason=, origin="web"|"api",
   shown_snapshot_id=None, confirm_changed=False, request_origin=RequestOrigin(ip, ua)) -> Decision`
    * reject needs a reason (presets in review/reasons.py: PRESET_REJECT_REASONS, plus free text);
      else InvalidDecision (a ValueError; message for the person).
    * DraftAlreadyDecided(decision): someone decided first — `decision.reviewer_label`,
      `decision.decided_at`, `decision.action`; str(error) is "already approved by X at T UTC".
      The API answers 409 with it.
    * DraftClaimedByOther(claim): someone else holds a live claim; take it over first.
    * ConversationChangedSinceOpened(changes, snapshot_id): approving when the conversation has a
      newer snapshot than `shown_snapshot_id` (the `draft.latest_snapshot_id` the page or the API
      showed; None, "shown none", is older than any). Show `error.changes` and ask again; the second
      submit passes confirm_changed=True (and the new snapshot id), which the decision records.
      Rejecting never asks. Approving on a snapshot older than CONTEXT_MAX_AGE first re-reads the
      conversation from Intercom (one quick GET); when Intercom does not answer, the approval goes
      through and the decision records why the context could not be re-checked.
    * DraftContentNotIn(draft): the draft's content has not been fetched yet.
    * DraftNotPending(draft): decided in MultiMail's dashboard, cancelled, or failed to load.
    All of these subclass ReviewError. On success the draft's status is "decided" and the outbox
    carries the decision out after commit.
- Reads live in review/selectors.py (queue_page, draft_detail, queue_neighbour_id).

For other engineers
-------------------
- `draft_receive(...)` — the single ingest entry point (webhook, poll, intake).
- `drafts_context_changed(conversation_id=, snapshot_id=) -> int` — Intercom calls it after a refresh.
- `draft_event_from_multimail(event_type=, email_id=, payload=) -> bool` — MultiMail's webhook task.
- `outbox_retry(item=, actor=) -> OutboxItem` — the admins' retry button for a failed outbox item.
"""

import contextlib
import dataclasses
import functools
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone
from django.utils.html import escape

from reviewqueue.audit.services import Actor, AuditEntry, RequestOrigin, audit_record, audit_record_many
from reviewqueue.integrations.multimail import statuses
from reviewqueue.review.clients import intercom_client, multimail_client
from reviewqueue.review.errors import (
    ConversationChangedSinceOpened,
    DraftAlreadyDecided,
    DraftClaimedByOther,
    DraftContentNotIn,
    DraftNotPending,
    InvalidDecision,
    ReviewError,
)
from reviewqueue.review.flags import content_hash, conversation_changes, draft_flags
from reviewqueue.review.models import Claim, Decision, Draft, OutboxItem, multimail_status_to_store

__all__ = [
    "ConversationChangedSinceOpened",
    "DraftAlreadyDecided",
    "DraftClaimedByOther",
    "DraftContentNotIn",
    "DraftNotPending",
    "InvalidDecision",
    "ReviewError",
]

log = logging.getLogger(__name__)

INGEST_CONCURRENCY = 16  # simultaneous fetches during a poll (I/O bound: threads)


# --- Ingest -------------------------------------------------------------------------------------


def draft_receive(
    *,
    email_id: str,
    mailbox_id: str,
    source: str,
    actor: Actor,
    conversation_id: str | None = None,
    conversation_link: str = "",
    routing_version_number: int | None = None,
    fetch: bool = True,
    audit: bool = True,
    at: datetime | None = None,
) -> tuple[Draft, bool]:
    """Record that MultiMail holds `email_id` for approval. Idempotent: (draft, created).

    A new draft is audited as `draft.received` (`audit=False`: the caller appends
    draft_received_entry itself, with its own events, in one append); after commit a task fetches
    the full email and the conversation (`fetch=False` when the caller fetches itself, as the poll
    does). A repeat with a conversation from our own intake upgrades a guessed or missing link.
    `at`: when it was received, if not now (history replayed in time order; see audit_record_many).
    """
    if source not in Draft.Source.values:
        raise ValueError(f"unknown draft source {source!r}")
    if conversation_link not in Draft.ConversationLink.values:
        raise ValueError(f"unknown conversation link {conversation_link!r}")
    if conversation_id and not conversation_link:
        conversation_link = Draft.ConversationLink.INTAKE
    try:
        with transaction.atomic():
            draft = Draft.objects.create(
                email_id=email_id,
                mailbox_id=mailbox_id,
                source=source,
                conversation_id=conversation_id or "",
                conversation_link=conversation_link if conversation_id else "",
                routing_version_number=routing_version_number,
                **({"created_at": at, "updated_at": at, "waiting_since": at} if at else {}),
            )
            if audit:
                audit_record_many([draft_received_entry(draft, actor)], at=at)
            if fetch:
                transaction.on_commit(lambda: _enqueue_fetch(draft.pk))
            return draft, True
    except IntegrityError:  # the unique email_id: it was received before (or just now, concurrently)
        pass
    draft = Draft.objects.get(email_id=email_id)
    intake_upgrade = conversation_id and conversation_link == Draft.ConversationLink.INTAKE
    if intake_upgrade and draft.conversation_link != Draft.ConversationLink.INTAKE and draft.is_pending:
        Draft.objects.filter(pk=draft.pk).update(
            conversation_id=conversation_id,
            conversation_link=Draft.ConversationLink.INTAKE,
            routing_version_number=routing_version_number,
            updated_at=timezone.now(),
        )
        draft.refresh_from_db()
        if fetch:
            transaction.on_commit(lambda: _enqueue_fetch(draft.pk, refresh=True))
    return draft, False


def _enqueue_fetch(draft_id: int, refresh: bool = False) -> None:
    from reviewqueue.review.tasks import draft_fetch_task

    draft_fetch_task.delay(draft_id, refresh)


class FetchTransientError(Exception):
    """A fetch that may succeed later (MultiMail or Intercom unavailable, rate limited)."""


def draft_fetch(
    *, draft_id: int, refresh: bool = False, multimail=None, intercom=None, draft=None, at: datetime | None = None
) -> Draft:
    """Load the full email, link its conversation, snapshot it and compute the flags.

    Network first, then one short transaction. MultiMail 404 marks the draft failed (visible);
    transient errors raise FetchTransientError for the caller's retry. An Intercom failure leaves
    the draft reviewable without its conversation (fetch_error says why); the next refresh retries.
    `at`: when it was fetched, if not now (history replayed in time order; see audit_record_many).
    """
    if draft is None or draft.pk != draft_id:  # the poll passes the drafts it has just created
        draft = Draft.objects.get(pk=draft_id)
    fetched = _draft_fetch_remote(draft, refresh=refresh, multimail=multimail, intercom=intercom)
    return _draft_store_fetch(fetched, at) if isinstance(fetched, _Fetched) else fetched


@dataclass(frozen=True)
class _Fetched:
    """What the network said about a draft, waiting to be stored."""

    draft: Draft
    email: object  # the MultiMail client's Email
    conversation_id: str
    link: str
    conversation: object | None  # the Intercom client's Conversation
    problem: str


def _draft_fetch_remote(draft: Draft, *, refresh: bool, multimail, intercom) -> "_Fetched | Draft":
    """The network half of draft_fetch: a _Fetched to store, or the draft when there is nothing to store."""
    from reviewqueue.integrations.multimail.client import MultiMailError, MultiMailNotFound

    if (draft.fetched_at is not None and not refresh) or not draft.is_pending:
        return draft  # fetched already, or decided: what the reviewer saw stays as it was
    multimail = multimail or multimail_client()
    try:
        email = multimail.get_email(mailbox_id=draft.mailbox_id, email_id=draft.email_id)
    except MultiMailNotFound:
        return _draft_fetch_failed(draft, "MultiMail has no such email (404)")
    except MultiMailError as error:
        if error.transient:
            raise FetchTransientError(str(error)) from error
        return _draft_fetch_failed(draft, f"MultiMail refused the fetch: {error}")

    conversation_id, link = draft.conversation_id, draft.conversation_link
    problems = []
    if link != Draft.ConversationLink.INTAKE:
        try:
            conversation_id, link = _link_conversation(email, intercom)
        except Exception as error:  # Intercom trouble must not keep the draft out of the queue
            problems.append(f"conversation search failed: {error}")
            conversation_id, link = draft.conversation_id, draft.conversation_link
    conversation = None
    if conversation_id:
        try:
            conversation = (intercom or intercom_client()).get_conversation(conversation_id)
        except Exception as error:
            problems.append(f"conversation {conversation_id} could not be loaded: {error}")
    return _Fetched(draft, email, conversation_id, link, conversation, "; ".join(problems))


def _draft_fetch_failed(draft: Draft, reason: str) -> Draft:
    Draft.objects.filter(pk=draft.pk, status=Draft.Status.PENDING).update(
        status=Draft.Status.FAILED, fetch_error=reason, fetched_at=timezone.now(), updated_at=timezone.now()
    )
    draft.refresh_from_db()
    return draft


def _link_conversation(email, intercom) -> tuple[str, str]:
    """The email's intercom_conversation_id tag, else the recipient's most recent open conversation (a guess)."""
    tagged = (email.tags or {}).get("intercom_conversation_id", "")
    if tagged:
        return str(tagged), Draft.ConversationLink.TAG
    if not email.to:
        return "", ""
    intercom = intercom or intercom_client()
    latest = intercom.find_open_conversation(email=email.to[0])
    return (latest.id, Draft.ConversationLink.GUESS) if latest is not None else ("", "")


_MAILBOX_IDENTITY_TTL = 60.0  # seconds; a poll of thousands of drafts in a few mailboxes asks once per mailbox
_mailbox_identities: dict[str, tuple[float, tuple[str, str]]] = {}


def _mailbox_identity(mailbox_id: str) -> tuple[str, str]:
    """The mailbox's address and display name from the routing mirror, when it has them."""
    from reviewqueue.routing.models import Mailbox

    cached = _mailbox_identities.get(mailbox_id)
    if cached is not None and time.monotonic() - cached[0] < _MAILBOX_IDENTITY_TTL:
        return cached[1]
    mailbox = Mailbox.objects.filter(mailbox_id=mailbox_id).values_list("address", "display_name").first()
    identity = tuple(mailbox) if mailbox else ("", "")
    _mailbox_identities[mailbox_id] = (time.monotonic(), identity)
    return identity


def _own_domains(*addresses: str) -> set[str]:
    return {a.rsplit("@", 1)[-1].lower() for a in addresses if a and "@" in a}


def _draft_store_fetch(fetched: _Fetched, at: datetime | None = None) -> Draft:
    """Store the fetched email, and the conversation as a snapshot, in one transaction (one commit)."""
    with transaction.atomic():
        _draft_write_fetch(fetched, at)
        _draft_settle_if_decided(fetched)
    return fetched.draft


def _drafts_store_fetched(batch: list[_Fetched]) -> None:
    """Store several fetched drafts in one transaction (one commit).

    Snapshot locks in one order, then draft rows by id (as drafts_context_changed locks them), so
    two transactions taking the same locks cannot deadlock; the audit lock (a draft decided
    elsewhere is audited) only after every draft row, the order a reviewer's decision takes them
    in (its draft row, then the audit lock).
    """
    from reviewqueue.integrations.intercom.services import snapshot_lock_key

    batch = sorted(batch, key=lambda item: (snapshot_lock_key(item.conversation_id or ""), item.draft.pk))
    with transaction.atomic():
        for item in batch:
            _draft_write_fetch(item)
        for item in batch:
            _draft_settle_if_decided(item)


def _draft_settle_if_decided(fetched: _Fetched) -> None:
    draft, email = fetched.draft, fetched.email
    if draft.is_pending and email.status and email.status not in statuses.AWAITING_DECISION:
        _mark_decided_elsewhere(draft, email)


def _draft_write_fetch(fetched: _Fetched, at: datetime | None = None) -> None:
    """Inside a transaction: the snapshot and the draft's fetched fields (the draft object follows)."""
    from reviewqueue.integrations.intercom.services import snapshot_store

    draft, email, conversation = fetched.draft, fetched.email, fetched.conversation
    conversation_id, link, problem = fetched.conversation_id, fetched.link, fetched.problem
    address, display_name = _mailbox_identity(draft.mailbox_id)
    attachments = [{"name": a.name, "content_type": a.content_type, "size": a.size} for a in email.attachments]
    written_at = email.received_at or draft.created_at
    flags = draft_flags(
        to=list(email.to),
        markdown=email.markdown or "",
        attachments=attachments,
        spam_verdict=email.spam_verdict or "",
        written_at=written_at,
        conversation=conversation,
        own_domains=_own_domains(email.from_address, address),
    )
    now = at or timezone.now()
    fields = {
        "mailbox_address": address or email.from_address or "",
        "mailbox_display_name": display_name,
        "from_address": email.from_address or "",
        "to": list(email.to),
        "cc": list(email.cc or []),
        "subject": email.subject or "",
        "markdown": email.markdown or "",
        "attachments": attachments,
        "tags": dict(email.tags or {}),
        "spam_verdict": email.spam_verdict or "",
        "spam_score": email.spam_score,
        "received_at": email.received_at,
        "email_status": multimail_status_to_store(email.status or ""),
        "thread_id": email.thread_id or "",
        "content_hash": content_hash(
            from_address=email.from_address or "",
            to=list(email.to),
            cc=list(email.cc or []),
            subject=email.subject or "",
            markdown=email.markdown or "",
            attachments=attachments,
        ),
        "conversation_id": conversation_id or "",
        "conversation_link": link if conversation_id else "",
        "waiting_since": (conversation.waiting_since if conversation else None) or written_at,
        "fetched_at": now,
        "fetch_error": problem,
        "updated_at": now,
        **flags.as_fields(),
    }
    snapshot = snapshot_store(conversation=conversation, at=at) if conversation is not None else None
    fields["latest_snapshot_id"] = snapshot.pk if snapshot else None
    _draft_update_fetched(draft.pk, fields)
    fields["snapshot_id"] = draft.snapshot_id or fields["latest_snapshot_id"]
    for name, value in fields.items():
        setattr(draft, name, value)


def _draft_update_fetched(draft_id: int, fields: dict) -> None:
    """UPDATE the draft's fetched fields, and its snapshot unless it has one (what .update() would
    write, without building the query each time: a poll writes thousands of drafts alike)."""
    names = tuple(fields)
    values = [_DRAFT_FIELDS[name].get_db_prep_save(fields[name], connection) for name in names]
    with connection.cursor() as cursor:
        cursor.execute(_fetched_update_sql(names), [*values, fields["latest_snapshot_id"], draft_id])


_DRAFT_FIELDS = {f.name: f for f in Draft._meta.concrete_fields}


@functools.cache
def _fetched_update_sql(names: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    columns = [quote(_DRAFT_FIELDS[name].column) for name in names]
    # The snapshot taken at ingest is kept: a refresh never replaces it.
    snapshot = quote(_DRAFT_FIELDS["snapshot_id"].column)
    assignments = [f"{column} = %s" for column in columns] + [f"{snapshot} = COALESCE({snapshot}, %s)"]
    table, key = quote(Draft._meta.db_table), quote(Draft._meta.pk.column)
    return f"UPDATE {table} SET {', '.join(assignments)} WHERE {key} = %s"  # noqa: S608 (the model's own names)


def _mark_decided_elsewhere(draft: Draft, email) -> bool:
    """Inside a transaction holding the draft's lock: MultiMail says it is no longer pending."""
    detail = f"MultiMail status: {email.status}"
    if getattr(email, "approved_by", None):
        detail += f" (approved by {email.approved_by}"
        detail += f" at {email.approved_at:%Y-%m-%d %H:%M:%S} UTC)" if getattr(email, "approved_at", None) else ")"
    email_status = multimail_status_to_store(email.status)
    changed = Draft.objects.filter(pk=draft.pk, status=Draft.Status.PENDING).update(
        status=Draft.Status.DECIDED_ELSEWHERE,
        email_status=email_status,
        status_detail=detail,
        updated_at=timezone.now(),
    )
    if changed:
        Claim.objects.filter(draft_id=draft.pk).delete()
        audit_record(
            actor=Actor.system("review.sync"),
            action="draft.decided_elsewhere",
            target_type="draft",
            target_id=draft.pk,
            payload={"email_id": draft.email_id, "multimail_status": email.status, "detail": detail},
        )
        draft.status, draft.status_detail, draft.email_status = Draft.Status.DECIDED_ELSEWHERE, detail, email_status
    return bool(changed)


def drafts_context_changed(*, conversation_id: str, snapshot_id: int) -> int:
    """A conversation has a new snapshot: refresh the flags and sort key of its pending drafts.

    Returns how many pending drafts now point at a snapshot other than the one they had.
    """
    from reviewqueue.integrations.intercom.models import ConversationSnapshot

    snapshot = ConversationSnapshot.objects.filter(pk=snapshot_id, conversation_id=conversation_id).first()
    if snapshot is None:
        return 0
    conversation = snapshot.conversation
    changed = 0
    with transaction.atomic():
        drafts = (
            Draft.objects.select_for_update()
            .filter(conversation_id=conversation_id, status=Draft.Status.PENDING, fetched_at__isnull=False)
            .order_by("pk")  # the order the poll's store batches lock drafts in
        )
        for draft in drafts:
            if draft.latest_snapshot_id is not None and draft.latest_snapshot_id > snapshot.pk:
                continue  # an older snapshot arriving late never replaces a newer one
            flags = draft_flags(
                to=draft.to,
                markdown=draft.markdown,
                attachments=draft.attachments,
                spam_verdict=draft.spam_verdict,
                written_at=draft.received_at or draft.created_at,
                conversation=conversation,
                own_domains=_own_domains(draft.from_address, draft.mailbox_address),
            )
            Draft.objects.filter(pk=draft.pk).update(
                latest_snapshot_id=snapshot.pk,
                snapshot_id=draft.snapshot_id or snapshot.pk,
                waiting_since=conversation.waiting_since or draft.received_at or draft.created_at,
                updated_at=timezone.now(),
                **flags.as_fields(),
            )
            changed += draft.latest_snapshot_id != snapshot.pk
    return changed


# --- The poll (safety net for lost webhooks; also `manage.py sync_pending`) ----------------------

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


def draft_received_entry(draft: Draft, actor: Actor) -> AuditEntry:
    """The `draft.received` event of a new draft."""
    payload = {
        "email_id": draft.email_id,
        "mailbox_id": draft.mailbox_id,
        "source": draft.source,
        "conversation_id": draft.conversation_id,
        "routing_version_id": draft.routing_version_number,  # the name audit records already written use
    }
    return AuditEntry(actor, "draft.received", "draft", draft.pk, payload)


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


# --- Claims -------------------------------------------------------------------------------------


def _claim_ttl() -> timedelta:
    return timedelta(seconds=settings.CLAIM_TTL)


def _lock_pending_draft(draft: Draft) -> Draft:
    locked = Draft.objects.select_for_update().get(pk=draft.pk)
    decision = Decision.objects.filter(draft_id=locked.pk).first()
    if decision is not None:
        raise DraftAlreadyDecided(decision)
    if not locked.is_pending:
        raise DraftNotPending(locked)
    return locked


def draft_claim(
    *, draft: Draft, reviewer, take_over: bool = False, request_origin: RequestOrigin | None = None
) -> Claim:
    """Hold a draft for CLAIM_TTL. Race-safe: the draft row is locked while the claim is decided."""
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_pending_draft(draft)
        claim = Claim.objects.select_related("holder").filter(draft_id=locked.pk).first()
        previous = claim.holder if claim is not None and claim.is_live(now) else None
        if previous is not None and previous.pk != reviewer.pk and not take_over:
            raise DraftClaimedByOther(claim)
        if claim is None:
            claim = Claim.objects.create(draft=locked, holder=reviewer, claimed_at=now, expires_at=now + _claim_ttl())
        else:
            claim.holder, claim.expires_at = reviewer, now + _claim_ttl()
            if previous is None or previous.pk != reviewer.pk:
                claim.claimed_at = now
            claim.save(update_fields=["holder", "claimed_at", "expires_at"])
        if previous is not None and previous.pk == reviewer.pk:
            return claim  # extending one's own claim is not news
        taken_over = previous is not None
        audit_record(
            actor=Actor.person(reviewer),
            action="draft.claim_taken_over" if taken_over else "draft.claimed",
            target_type="draft",
            target_id=locked.pk,
            payload={
                "email_id": locked.email_id,
                "expires_at": claim.expires_at,
                **({"previous_holder": {"id": previous.pk, "username": previous.get_username()}} if taken_over else {}),
            },
            origin=request_origin,
        )
    return claim


def draft_release(*, draft: Draft, reviewer, request_origin: RequestOrigin | None = None) -> bool:
    """Drop the reviewer's own claim. False when they held none."""
    with transaction.atomic():
        deleted, _ = Claim.objects.filter(draft_id=draft.pk, holder=reviewer).delete()
        if deleted:
            audit_record(
                actor=Actor.person(reviewer),
                action="draft.released",
                target_type="draft",
                target_id=draft.pk,
                payload={"email_id": draft.email_id},
                origin=request_origin,
            )
    return bool(deleted)


# --- Decide -------------------------------------------------------------------------------------


def draft_decide(
    *,
    draft: Draft,
    reviewer,
    action: str,
    reason: str,
    origin: str,
    shown_snapshot_id: int | None = None,
    confirm_changed: bool = False,
    request_origin: RequestOrigin | None = None,
    at: datetime | None = None,
) -> Decision:
    """The one decision on a draft, with its audit event and outbox rows, in one transaction.

    Concurrent deciders serialize on the draft's row lock; the unique constraint on
    Decision.draft backs it up. Losers get DraftAlreadyDecided naming the winner. `at`: when it
    was decided, if not now (history replayed in time order; see audit_record_many).
    """
    reason = (reason or "").strip()
    if action not in Decision.Action.values:
        raise InvalidDecision("action must be approve or reject")
    if action == Decision.Action.REJECT and not reason:
        raise InvalidDecision("a rejection needs a reason")
    if origin not in Decision.Origin.values:
        raise InvalidDecision("origin must be web or api")
    request_origin = request_origin or RequestOrigin()
    confirm_changed = confirm_changed and action == Decision.Action.APPROVE
    guarded = action == Decision.Action.APPROVE and not confirm_changed
    recheck_error = _conversation_recheck(draft) if guarded else ""  # network: before the transaction
    evidence = _Evidence(shown_snapshot_id, confirm_changed, recheck_error)
    try:
        with transaction.atomic():
            locked = _lock_pending_draft(draft)
            if locked.fetched_at is None:
                raise DraftContentNotIn(locked)
            claim = Claim.objects.select_related("holder").filter(draft_id=locked.pk).first()
            if claim is not None and claim.is_live() and claim.holder_id != reviewer.pk:
                raise DraftClaimedByOther(claim)
            if guarded:
                _check_conversation_unchanged(locked, shown_snapshot_id)
            decision = _decision_write(
                locked, reviewer, action, reason, origin, evidence, request_origin, at or timezone.now()
            )
    except IntegrityError:  # the unique constraint caught a race the lock did not (defence in depth)
        raise DraftAlreadyDecided(Decision.objects.get(draft_id=draft.pk)) from None
    draft.status = Draft.Status.DECIDED
    return decision


@dataclass(frozen=True)
class _Evidence:
    """What a decision records about the conversation the person saw."""

    shown_snapshot_id: int | None  # None: they were shown no snapshot
    confirmed_changed: bool  # approved past the check, after being told what changed
    context_recheck_error: str  # why Intercom could not re-check a stale snapshot ("" when it did or needed not)


# A person waits on the re-check: one attempt, and an answer within this or none.
CONTEXT_RECHECK_TIMEOUT = 3.0  # seconds


def _conversation_recheck(draft: Draft) -> str:
    """Before an approval, re-read a conversation whose latest snapshot was last confirmed by Intercom
    more than CONTEXT_MAX_AGE ago.

    The check against the snapshot shown trusts Intercom's webhooks to say the customer wrote
    again; a lost webhook leaves a stale snapshot that looks current. A new state is stored as the
    latest snapshot (its drafts re-flagged), so the check that follows refuses the approval and
    shows what changed. Returns why Intercom could not answer ("" when it did, or when the snapshot
    is fresh enough): the approval then goes ahead, and the decision records that.
    """
    from reviewqueue.integrations.intercom.client import IntercomError
    from reviewqueue.integrations.intercom.models import ConversationSnapshot
    from reviewqueue.integrations.intercom.services import snapshot_store

    if not draft.conversation_id or not draft.is_pending or draft.fetched_at is None:
        return ""  # nothing to re-check, or the decision is refused anyway
    checked_at = (
        ConversationSnapshot.objects.filter(pk=draft.latest_snapshot_id).values_list("checked_at", flat=True).first()
    )
    if checked_at is None or timezone.now() - checked_at < timedelta(seconds=settings.CONTEXT_MAX_AGE):
        return ""  # no conversation was shown (the page said so), or what was shown is recent enough
    try:
        conversation = intercom_client().quick(timeout=CONTEXT_RECHECK_TIMEOUT).get_conversation(draft.conversation_id)
    except IntercomError as error:
        log.warning("conversation re-check failed", extra={"draft_id": draft.pk, "error": repr(error)})
        return f"Intercom could not re-check conversation {draft.conversation_id}: {error}"
    snapshot = snapshot_store(conversation=conversation)
    drafts_context_changed(conversation_id=draft.conversation_id, snapshot_id=snapshot.pk)
    return ""


def _check_conversation_unchanged(draft: Draft, shown_snapshot_id: int | None) -> None:
    """An approval stands on the latest snapshot: one shown earlier, or none shown, is refused with the changes."""
    latest = draft.latest_snapshot_id
    if latest is None or latest == shown_snapshot_id:
        return
    from reviewqueue.integrations.intercom.models import ConversationSnapshot

    snapshots = {s.pk: s for s in ConversationSnapshot.objects.filter(pk__in=[shown_snapshot_id, latest])}
    old, new = snapshots.get(shown_snapshot_id), snapshots.get(latest)
    changes = conversation_changes(old.conversation if old else None, new.conversation if new else None)
    raise ConversationChangedSinceOpened(changes, latest)


def decision_reason_text(decision: Decision) -> str:
    """The `reason` MultiMail keeps: it knows only our API key, so the person is named here."""
    who = decision.reviewer_label
    if decision.reviewer_email:
        who += f" <{decision.reviewer_email}>"
    text = f"{decision.verb} by {who} in reviewqueue (decision {decision.pk})"
    return f"{text}: {decision.reason}" if decision.reason else text


def _decision_write(draft, reviewer, action, reason, origin, evidence: _Evidence, request_origin, now) -> Decision:
    decision = Decision.objects.create(
        draft=draft,
        action=action,
        reason=reason,
        origin=origin,
        reviewer=reviewer,
        reviewer_username=reviewer.get_username(),
        reviewer_name=reviewer.get_full_name(),
        reviewer_email=reviewer.email or "",
        decided_at=now,
        ip=request_origin.ip,
        user_agent=(request_origin.user_agent or "")[:512],
        content_hash=draft.content_hash,
        snapshot_id=evidence.shown_snapshot_id,
        confirmed_changed=evidence.confirmed_changed,
        context_recheck_error=evidence.context_recheck_error,
    )
    Draft.objects.filter(pk=draft.pk).update(status=Draft.Status.DECIDED, updated_at=now)
    Claim.objects.filter(draft_id=draft.pk).delete()
    OutboxItem.objects.bulk_create(_decision_outbox_items(decision, draft))
    # Last: the audit append holds the log's lock until commit, so nothing else waits behind it.
    audit_record(
        actor=Actor.person(reviewer),
        action="draft.decided",
        target_type="draft",
        target_id=draft.pk,
        payload=_decided_payload(decision, draft),
        origin=request_origin,
        at=now,
    )
    transaction.on_commit(lambda: _enqueue_outbox(decision.pk))
    return decision


def _decided_payload(decision: Decision, draft: Draft) -> dict:
    return {
        "decision_id": decision.pk,
        "draft_id": draft.pk,
        "email_id": draft.email_id,
        "action": decision.action,
        "reason": decision.reason,
        "reviewer": {
            "id": decision.reviewer_id,
            "username": decision.reviewer_username,
            "name": decision.reviewer_name,
            "email": decision.reviewer_email,
        },
        "decided_at": decision.decided_at,
        "content_hash": decision.content_hash,
        "draft": {
            "from": draft.from_address,
            "to": draft.to,
            "cc": draft.cc,
            "subject": draft.subject,
            "markdown": draft.markdown,
            "attachments": draft.attachments,
        },
        "snapshot_id": decision.snapshot_id,
        "latest_snapshot_id": draft.latest_snapshot_id,
        "confirmed_changed": decision.confirmed_changed,
        "context_recheck_error": decision.context_recheck_error,
        "conversation_id": draft.conversation_id,
        "mailbox_id": draft.mailbox_id,
        "routing_version_id": draft.routing_version_number,  # the name audit records already written use
        "draft_received_at": draft.received_at or draft.created_at,
        "ip": decision.ip,
        "user_agent": decision.user_agent,
        "origin": decision.origin,
    }


def send_key_configured() -> bool:
    """Tagging the email needs MultiMail's send scope; without that key the tags are skipped."""
    return multimail_client().has_key("send")


def _decision_outbox_items(decision: Decision, draft: Draft) -> list[OutboxItem]:
    kind = OutboxItem.Kind
    items = [OutboxItem(kind=kind.DECIDE, sequence=0, payload={"reason": decision_reason_text(decision)})]
    if send_key_configured():
        tags = {"reviewed_by": decision.reviewer_username, "review_decision_id": str(decision.pk)}
        items.append(OutboxItem(kind=kind.TAG_EMAIL, sequence=1, payload={"tags": tags}))
    if draft.conversation_id:
        items.append(OutboxItem(kind=kind.INTERCOM_NOTE, sequence=2, payload={"body_html": _decision_note(decision)}))
        tag = "email-approved" if decision.action == Decision.Action.APPROVE else "email-rejected"
        items.append(OutboxItem(kind=kind.INTERCOM_TAG, sequence=3, payload={"tag": tag}))
    for item in items:
        item.draft, item.decision = draft, decision
    return items


def _decision_note(decision: Decision) -> str:
    draft = decision.draft
    recipients = ", ".join(draft.to) or "(no recipient)"
    head = f"Email «{escape(draft.subject)}» to {escape(recipients)}"
    if decision.action == Decision.Action.APPROVE:
        return (
            f"<p>{head} approved by {escape(decision.reviewer_label)} at {decision.decided_at:%Y-%m-%d %H:%M} UTC</p>"
        )
    return f"<p>{head} rejected by {escape(decision.reviewer_label)}: {escape(decision.reason)}</p>"


def _enqueue_outbox(decision_id: int) -> None:
    """Enqueue the first runnable items of a decision (the rest follow as each one finishes)."""
    from reviewqueue.review.outbox import outbox_enqueue_next

    outbox_enqueue_next(decision_id=decision_id)


# --- Later MultiMail events ------------------------------------------------------------------------


def draft_event_from_multimail(*, event_type: str, email_id: str, payload: dict) -> bool:
    """Apply a MultiMail webhook event to its draft. True when a draft took notice.

    oversight.approved/rejected on a draft still pending here → read back from MultiMail, and
    decided elsewhere when MultiMail no longer holds it;
    message.delivered/bounced → recorded and told to the conversation (once);
    message.received on the draft's thread → the customer replied (recorded, told once).
    oversight.pending → received (the webhook fast path), when the payload names the mailbox.
    """
    handler = _EVENT_HANDLERS.get(event_type)
    if handler is None:
        return False
    return handler(email_id, payload or {})


def _event_pending(email_id: str, payload: dict) -> bool:
    mailbox_id = payload.get("mailbox_id") or payload.get("mailbox") or ""
    if isinstance(mailbox_id, dict):
        mailbox_id = mailbox_id.get("id", "")
    if not email_id or not mailbox_id:
        return False
    draft_receive(email_id=email_id, mailbox_id=str(mailbox_id), source="webhook", actor=Actor.system("multimail"))
    return True


def _event_decided(email_id: str, payload: dict) -> bool:
    """oversight.approved/rejected: believed only once MultiMail's own copy of the email says so.

    A signed event is still only the payload's word, and taking a draft out of review is for good
    (the poll skips drafts it knows): the email is read back, and the draft is marked decided
    elsewhere only when MultiMail no longer holds it. For a draft decided here, the outbox records
    MultiMail's answer itself.
    """
    draft = Draft.objects.filter(email_id=email_id).first()
    if draft is None:
        return False
    if draft.is_pending:
        draft_check_decided_elsewhere(draft_id=draft.pk)
    return True


def _draft_for_event(email_id: str, payload: dict) -> Draft | None:
    draft = Draft.objects.filter(email_id=email_id).first() if email_id else None
    thread_id = payload.get("thread_id") or ""
    if draft is None and thread_id:
        draft = Draft.objects.filter(thread_id=thread_id).order_by("-pk").first()
    return draft


def _event_timestamp(payload: dict) -> datetime:
    from django.utils.dateparse import parse_datetime

    raw = payload.get("timestamp") or payload.get("created_at")
    parsed = parse_datetime(raw) if isinstance(raw, str) else None
    return parsed or timezone.now()


def _event_record(*, email_id: str, payload: dict, field_name: str, action: str, note: str, extra=None) -> bool:
    draft = _draft_for_event(email_id, payload)
    if draft is None:
        return False
    when = _event_timestamp(payload)
    with transaction.atomic():
        updated = Draft.objects.filter(pk=draft.pk, **{f"{field_name}__isnull": True}).update(
            **{field_name: when}, **(extra or {}), updated_at=timezone.now()
        )
        if not updated:
            return True  # already recorded: a repeated or reordered delivery
        if draft.conversation_id:
            item = OutboxItem.objects.create(
                kind=OutboxItem.Kind.EVENT_NOTE,
                draft=draft,
                payload={"body_html": note.format(subject=escape(draft.subject))},
            )
            transaction.on_commit(lambda: _enqueue_item(item.pk))
        # Last: the audit append holds the log's lock until commit, so nothing else waits behind it.
        audit_record(
            actor=Actor.system("multimail"),
            action=action,
            target_type="draft",
            target_id=draft.pk,
            payload={"email_id": draft.email_id, "event_email_id": email_id, "at": when, **(extra or {})},
        )
    return True


def _enqueue_item(item_id: int) -> None:
    from reviewqueue.review.tasks import outbox_run_task

    outbox_run_task.delay(item_id)


def _event_delivered(email_id: str, payload: dict) -> bool:
    return _event_record(
        email_id=email_id,
        payload=payload,
        field_name="delivered_at",
        action="email.delivered",
        note="<p>Email «{subject}» was delivered.</p>",
    )


def _event_bounced(email_id: str, payload: dict) -> bool:
    bounce_type = str(payload.get("bounce_type") or "")[:64]
    return _event_record(
        email_id=email_id,
        payload=payload,
        field_name="bounced_at",
        action="email.bounced",
        note="<p>Email «{subject}» bounced" + (f" ({escape(bounce_type)})" if bounce_type else "") + ".</p>",
        extra={"bounce_type": bounce_type},
    )


def _event_reply(email_id: str, payload: dict) -> bool:
    if not payload.get("thread_id"):
        return False  # an inbound message is a reply to a draft only when it names the thread
    return _event_record(
        email_id=email_id,
        payload=payload,
        field_name="reply_received_at",
        action="email.reply_received",
        note="<p>The customer replied by email to «{subject}».</p>",
    )


_EVENT_HANDLERS = {
    "oversight.pending": _event_pending,
    "oversight.approved": _event_decided,
    "oversight.rejected": _event_decided,
    "message.delivered": _event_delivered,
    "message.bounced": _event_bounced,
    "message.received": _event_reply,
}


# --- Outbox administration ---------------------------------------------------------------------------


def outbox_retry(*, item: OutboxItem, actor: Actor) -> OutboxItem:
    """An admin's retry of a failed outbox item: due now, attempts reset, audited; enqueued after commit."""
    with transaction.atomic():
        changed = OutboxItem.objects.filter(pk=item.pk, status=OutboxItem.Status.FAILED).update(
            status=OutboxItem.Status.PENDING, attempts=0, next_attempt_at=timezone.now(), locked_until=None
        )
        if changed:
            audit_record(
                actor=actor,
                action="outbox.retried",
                target_type="draft",
                target_id=item.draft_id,
                payload={"outbox_item_id": item.pk, "kind": item.kind, "last_error": item.last_error},
            )
            transaction.on_commit(lambda: _enqueue_item(item.pk))
    item.refresh_from_db()
    return item
