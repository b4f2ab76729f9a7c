"""Ingest: a draft MultiMail holds for approval is received, fetched, and snapshotted with its conversation.

For other engineers
-------------------
- `draft_receive(...)` — the single ingest entry point (webhook, poll, intake).
- `drafts_context_changed(conversation_id=, snapshot_id=) -> int` — after an Intercom snapshot refresh
  (on_conversation_refreshed receives Intercom's signal for it).
"""

import functools
import time
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from reviewqueue.audit.services import Actor, AuditEntry, audit_record, audit_record_many
from reviewqueue.integrations.multimail import statuses
from reviewqueue.review import enqueue
from reviewqueue.review.clients import intercom_client, multimail_client
from reviewqueue.review.edits import edit_nudge, edit_of_for_email, edited_version_fields
from reviewqueue.review.flags import content_hash, draft_flags
from reviewqueue.review.models import Claim, Draft, multimail_status_to_store
from reviewqueue.review.revisions import revision_waiting_since
from reviewqueue.review.signals import send_draft_ready


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
    draft = Draft(
        email_id=email_id,
        mailbox_id=mailbox_id,
        source=source,
        conversation_id=conversation_id or "",
        conversation_link=conversation_link if conversation_id else "",
        routing_version_number=routing_version_number,
        **({"created_at": at, "updated_at": at, "waiting_since": at} if at else {}),
    )
    if source != Draft.Source.INTAKE:  # an agent's intake is never an edit's send
        _known_edited_version(draft)
    if _draft_insert(draft):
        if audit:
            audit_record_many([draft_received_entry(draft, actor)], at=at)
        if fetch:
            transaction.on_commit(lambda: enqueue.draft_fetch(draft.pk))
        return draft, True
    # The unique email_id: it was received before (or just now, concurrently: the insert waited for that
    # transaction's commit, so the row is visible to this next statement).
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
            transaction.on_commit(lambda: enqueue.draft_fetch(draft.pk, refresh=True))
    return draft, False


def _known_edited_version(draft: Draft) -> None:
    """An email the outbox sent for an approval with edits, once its id is recorded, is never a draft to
    review: it arrives as the edited version (fetched all the same, to be shown; review/edits.py)."""
    original_id = edit_of_for_email(draft.email_id)
    if original_id is not None:
        draft.status, draft.edit_of_id = Draft.Status.EDITED_VERSION, original_id


@functools.cache
def _draft_insert_sql() -> tuple[str, tuple]:
    fields = tuple(field for field in Draft._meta.concrete_fields if not field.primary_key)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    table = connection.ops.quote_name(Draft._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT (email_id) DO NOTHING RETURNING id"  # noqa: S608 (the model's own names)
    return sql, fields


def _draft_insert(draft: Draft) -> bool:
    """Insert the new draft unless its email_id is taken; True (and draft.pk set) when inserted.

    One statement where Draft.objects.create needs a savepoint around its INSERT to survive the
    duplicate (three round trips and the ORM's save machinery, on every intake, webhook and poll).
    """
    sql, fields = _draft_insert_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [field.get_db_prep_save(field.pre_save(draft, True), connection) for field in fields])
        inserted = cursor.fetchone()
    if inserted is None:
        return False
    draft.pk = inserted[0]
    draft._state.adding, draft._state.db = False, connection.alias
    return True


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

    unfetched_edit = draft.status == Draft.Status.EDITED_VERSION and draft.fetched_at is None
    if (draft.fetched_at is not None and not refresh) or not (draft.is_pending or unfetched_edit):
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
    fields["waiting_since"] = revision_waiting_since(draft, fields["waiting_since"])
    snapshot = snapshot_store(conversation=conversation, at=at) if conversation is not None else None
    fields["latest_snapshot_id"] = snapshot.pk if snapshot else None
    _draft_update_fetched(draft.pk, fields)
    fields.update(_edited_version_store(draft, fields))
    fields["snapshot_id"] = draft.snapshot_id or fields["latest_snapshot_id"]
    for name, value in fields.items():
        setattr(draft, name, value)
    transaction.on_commit(lambda: send_draft_ready(draft_id=draft.pk))  # e.g. the Slack app's review request


def _edited_version_store(draft: Draft, fields: dict) -> dict:
    """An email the outbox sent for an edited approval is not a new draft to review (review/edits.py)."""
    found = edited_version_fields(
        email_id=draft.email_id, mailbox_id=draft.mailbox_id, tags=fields["tags"], hashed=fields["content_hash"]
    )
    if not found:
        return {}
    decision_id = found.pop("_decision_id")
    Draft.objects.filter(pk=draft.pk).update(**found)
    ids = edit_nudge(decision_id)
    transaction.on_commit(lambda: [enqueue.outbox_run(item_id) for item_id in ids])
    return found


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


def on_conversation_refreshed(sender, *, conversation_id: str, snapshot_id: int, **kwargs) -> int:
    """The receiver of Intercom's conversation_refreshed signal (connected in apps.py)."""
    return drafts_context_changed(conversation_id=conversation_id, snapshot_id=snapshot_id)


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
            if draft.latest_snapshot_id == snapshot.pk and draft.snapshot_id is not None:
                # Already stored from this snapshot (a re-read that found the conversation unchanged):
                # the same flags again, and a bumped updated_at would send the row to every open queue page.
                continue
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
                waiting_since=revision_waiting_since(
                    draft, conversation.waiting_since or draft.received_at or draft.created_at
                ),
                updated_at=timezone.now(),
                **flags.as_fields(),
            )
            changed += draft.latest_snapshot_id != snapshot.pk
    return changed
