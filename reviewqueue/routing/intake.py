"""Intake for AI agents: a validated draft (intake_payload.py) from an intake token, routed and sent.

The draft is routed to a mailbox, sent to MultiMail (where a gated mailbox holds it for review)
with an idempotency key derived from the token and the request, and handed to the review queue.
The same request twice gives the same draft and one MultiMail send: the IntakeRecord row is
created first under its unique key and locked while the send happens, so a concurrent retry waits
for the first and answers with its result. After commit, followups.py tags the email and queues
the draft's fetch. The endpoint is intake_api.py.
"""

import hashlib
import json
import logging
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from reviewqueue.audit.services import Actor, AuditEntry, RequestOrigin, audit_record, audit_record_many
from reviewqueue.integrations.intercom.services import snapshot_latest_team_and_tags, snapshot_refresh
from reviewqueue.routing.followups import enqueue_followup
from reviewqueue.routing.intake_cache import IntakeReads, intake_reads
from reviewqueue.routing.intake_payload import IntakeInvalid, IntakePayload
from reviewqueue.routing.models import IntakeRecord, IntakeToken, RoutingRuleSet, oversight_rank
from reviewqueue.routing.rules import DraftFacts, recipient_domains, route

logger = logging.getLogger(__name__)


class IntakeUnroutable(Exception):
    pass


class IntakeRefused(Exception):
    """The mailbox the draft routes to is now looser than its routing rules were saved against: the email
    would leave with less review than the admin agreed to (whatever kind, recipients or conversation the
    agent chose to land it there)."""

    def __init__(self, *, mailbox_id: str, mode: str, saved_mode: str, ruleset: RoutingRuleSet):
        self.mailbox_id, self.mode, self.saved_mode, self.version = mailbox_id, mode, saved_mode, ruleset.version
        super().__init__(
            f"refused: this draft routes to mailbox {mailbox_id}, which is now {mode or 'of unknown oversight mode'}, "
            f"looser than {saved_mode} when routing version {ruleset.version} was saved, so the email would leave "
            "without the review it was routed for; an admin must tighten the mailbox or save the routing rules again"
        )


@dataclass(frozen=True)
class IntakeResult:
    draft_id: int
    status: str
    email_id: str
    mailbox_id: str
    created: bool


def intake_key(*, token: IntakeToken, payload: IntakePayload) -> tuple[str, str]:
    """(idempotency key, request hash): the same token sending the same draft gets the same key."""
    request_hash = hashlib.sha256(payload.canonical()).hexdigest()
    key = hashlib.sha256(f"{token.pk}:{request_hash}".encode()).hexdigest()[:48]
    return "rq-intake-" + key, request_hash


def draft_facts(*, kind: str, conversation_id: str, to, fetch_conversation: bool = False) -> DraftFacts:
    team, tags = _conversation_team_and_tags(conversation_id, fetch=fetch_conversation)
    return DraftFacts(kind=kind, intercom_team=team, conversation_tags=tags, recipient_domains=recipient_domains(to))


def ruleset_reads_conversation(ruleset) -> bool:
    """Whether any rule looks at the Intercom team or tags (only then is the conversation worth fetching)."""
    return ruleset is not None and any(r.get("intercom_team") or r.get("conversation_tag") for r in ruleset.rules)


def _conversation_team_and_tags(conversation_id: str, *, fetch: bool) -> tuple[str, frozenset[str]]:
    # The conversation as last seen (Intercom webhooks keep it fresh); fetched once only when no
    # snapshot exists yet and a rule needs it. Intercom failing never stops intake: such a draft
    # routes as if the conversation had no team and no tags.
    try:
        latest = snapshot_latest_team_and_tags(conversation_id)
        if latest is not None:
            return latest
        if not fetch:
            return "", frozenset()
        conversation = snapshot_refresh(conversation_id=conversation_id).conversation
        tags = frozenset((tag.name or "").lower() for tag in conversation.tags)
        return str(conversation.team_assignee_id or ""), tags
    except Exception:  # unreadable or unreachable: route without it (logged)
        logger.warning("intake: no conversation facts for %s", conversation_id, exc_info=True)
        return "", frozenset()


def intake_submit(
    *,
    token: IntakeToken,
    payload: IntakePayload,
    origin: RequestOrigin | None = None,
    reads: IntakeReads | None = None,
) -> IntakeResult:
    """Route, send and queue the draft. Raises IntakeInvalid (a kind the token may not submit),
    IntakeUnroutable (no routing rules yet) and IntakeRefused (audited: see _oversight_check).
    `reads`: the rule set and mailbox modes as of this request (intake_cache.py; read now if not given)."""
    _kind_check(token, payload.kind)
    _revision_check(token, payload)
    reads = reads or intake_reads()
    if reads.ruleset() is None:
        raise IntakeUnroutable("no routing rules yet: an admin must choose a default mailbox on /manage/routing/")
    ruleset, _ = reads.ruleset()
    facts = draft_facts(
        kind=payload.kind,
        conversation_id=payload.intercom_conversation_id,
        to=payload.to,
        fetch_conversation=ruleset_reads_conversation(ruleset),
    )
    try:
        return _submit(token=token, payload=payload, reads=reads, facts=facts, origin=origin)
    except IntakeRefused as refused:
        # _submit's transaction rolled back (no record, nothing sent); the refusal is kept on its own.
        _refusal_record(refused, token=token, payload=payload, origin=origin)
        raise


def _kind_check(token: IntakeToken, kind: str) -> None:
    if kind and kind not in token.kinds:
        allowed = ", ".join(token.kinds) or "none: leave kind out"
        message = f"this intake token may not submit kind {kind!r} (its kinds: {allowed})"
        raise IntakeInvalid(400, "invalid draft: kind", {"kind": message})


def _revision_check(token: IntakeToken, payload: IntakePayload):
    """A revision must answer a request for changes on a draft this token submitted (review/revisions.py)."""
    from reviewqueue.review.revisions import RevisionRefused, revision_check

    if payload.revision_of is None:
        return None
    try:
        return revision_check(token_id=token.pk, previous_id=payload.revision_of)
    except RevisionRefused as error:
        raise IntakeInvalid(400, "invalid draft: revision_of", {"revision_of": str(error)}) from error


@transaction.atomic
def _submit(
    *, token: IntakeToken, payload: IntakePayload, reads: IntakeReads, facts: DraftFacts, origin: RequestOrigin | None
) -> IntakeResult:
    key, request_hash = intake_key(token=token, payload=payload)
    ruleset, rules = reads.ruleset()
    routed = (route(facts, rules), ruleset)
    record = _record_claim(key=key, request_hash=request_hash, token=token, payload=payload, facts=facts, routed=routed)
    if record.draft_id is not None:
        return _result(record, created=False)
    if not record.email_id:
        _route_and_send(record, payload, reads)
    actor = Actor.token(token)
    draft, draft_created, received = _draft_receive(record, actor)
    if payload.revision_of is not None and draft_created:
        from reviewqueue.review.revisions import revision_link

        revision_link(draft=draft, previous=_revision_check(token, payload), actor=actor)
    # One append for the draft's `draft.received` (when new) and this intake's event: the audit
    # log's append lock is held from here to the commit, and only one UPDATE follows.
    audit_record_many([*received, _accepted_entry(record, draft, payload, actor, origin)])
    record.draft_id, record.completed_at = draft.pk, timezone.now()
    _record_complete(record)
    transaction.on_commit(lambda: enqueue_followup(record.pk, refresh=not draft_created))
    return _result(record, created=True, status=draft.status)


@transaction.atomic
def _refusal_record(
    refused: IntakeRefused, *, token: IntakeToken, payload: IntakePayload, origin: RequestOrigin | None
) -> None:
    audit_record(
        actor=Actor.token(token),
        action="intake.refused",
        target_type="mailbox",
        target_id=refused.mailbox_id,
        payload={
            "conversation_id": payload.intercom_conversation_id,
            "kind": payload.kind,
            "mailbox_id": refused.mailbox_id,
            "oversight_mode": refused.mode,
            "saved_oversight_mode": refused.saved_mode,
            "routing_version": refused.version,
            "to": list(payload.to),
            "cc": list(payload.cc),
            "subject": payload.subject,
        },
        origin=origin,
    )


def _accepted_entry(
    record: IntakeRecord, draft, payload: IntakePayload, actor: Actor, origin: RequestOrigin | None
) -> AuditEntry:
    return AuditEntry(
        actor=actor,
        action="intake.accepted",
        target_type="draft",
        target_id=draft.pk,
        payload={
            "intake_record_id": record.pk,
            "conversation_id": record.conversation_id,
            "kind": record.kind,
            "mailbox_id": record.mailbox_id,
            "routing_version": record.routing_version.version if record.routing_version else None,
            "email_id": record.email_id,
            "to": list(payload.to),
            "cc": list(payload.cc),
            "subject": payload.subject,
        },
        origin=origin,
    )


def _record_claim(
    *,
    key: str,
    request_hash: str,
    token: IntakeToken,
    payload: IntakePayload,
    facts: DraftFacts,
    routed: tuple[str, RoutingRuleSet],
) -> IntakeRecord:
    """This request's IntakeRecord, locked until the commit.

    INSERT … ON CONFLICT DO NOTHING waits for a transaction that has inserted the same key: a
    concurrent retry of the same request blocks here until the first one commits (then takes its
    row, locked, and finds its result) or rolls back (then the insert goes through and this call
    does the work). Written out rather than through the ORM, which cannot return the id of an
    insert that may do nothing: one statement instead of a savepoint, an INSERT and its release.

    `routed`: the mailbox and the rule set that chose it, written now, so that completing the row
    (_record_complete) changes no indexed column and PostgreSQL updates it in place (a HOT update)
    rather than adding a new entry to each of its indexes.
    """
    record = IntakeRecord(
        idempotency_key=key,
        request_hash=request_hash,
        token=token,
        conversation_id=payload.intercom_conversation_id,
        kind=payload.kind,
        facts=facts.as_json(),
        mailbox_id=routed[0],
        routing_version=routed[1],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO routing_intakerecord (idempotency_key, request_hash, token_id, conversation_id, kind,"
            " facts, mailbox_id, routing_version_id, email_id, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, %s, '', %s)"
            " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            [
                record.idempotency_key,
                record.request_hash,
                record.token_id,
                record.conversation_id,
                record.kind,
                json.dumps(record.facts),
                record.mailbox_id,
                record.routing_version_id,
                record.created_at,
            ],
        )
        inserted = cursor.fetchone()
    if inserted is None:
        return IntakeRecord.objects.select_for_update().get(idempotency_key=key)
    record.pk = inserted[0]
    return record


def _record_complete(record: IntakeRecord) -> None:
    """Store what the record became. Runs under the audit log's append lock, which every other
    intake is waiting for: a plain UPDATE by primary key costs a fifth of the CPU of save()."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE routing_intakerecord SET email_id = %s, mailbox_id = %s, routing_version_id = %s,"
            " draft_id = %s, completed_at = %s WHERE id = %s",
            [
                record.email_id,
                record.mailbox_id,
                record.routing_version_id,
                record.draft_id,
                record.completed_at,
                record.pk,
            ],
        )


def _route_and_send(record: IntakeRecord, payload: IntakePayload, reads: IntakeReads) -> None:
    from reviewqueue.integrations.multimail.client import get_multimail_client

    ruleset, rules = reads.ruleset()
    mailbox_id = route(DraftFacts.from_json(record.facts), rules)
    _oversight_check(mailbox_id, ruleset, mode=reads.mailbox_mode(mailbox_id))
    sent = get_multimail_client().send(
        mailbox_id=mailbox_id,
        to=list(payload.to),
        cc=list(payload.cc) or None,
        subject=payload.subject,
        markdown=payload.markdown,
        idempotency_key=record.idempotency_key,
    )
    record.email_id, record.mailbox_id, record.routing_version = sent.id, mailbox_id, ruleset


def _oversight_check(mailbox_id: str, ruleset: RoutingRuleSet, *, mode: str) -> None:
    """Raise IntakeRefused when the mailbox's mode, as last mirrored from MultiMail, is looser than the
    routing rules were saved against. This is what keeps a draft under review whatever the agent put in
    it: its kind, recipients and conversation (team, tags) all steer routing."""
    saved_mode = ruleset.saved_mode(mailbox_id)
    if oversight_rank(mode) > oversight_rank(saved_mode):
        raise IntakeRefused(mailbox_id=mailbox_id, mode=mode, saved_mode=saved_mode, ruleset=ruleset)


def _draft_receive(record: IntakeRecord, actor: Actor) -> tuple:
    """(draft, created, its `draft.received` event when new): the caller appends that event with its own."""
    from reviewqueue.review.ingest import draft_receive, draft_received_entry

    draft, created = draft_receive(
        email_id=record.email_id,
        mailbox_id=record.mailbox_id,
        source="intake",
        conversation_id=record.conversation_id,
        conversation_link="intake",
        # The version number (RoutingRuleSet.version), which the routing pages show, not the row's pk.
        routing_version_number=record.routing_version.version if record.routing_version else None,
        actor=actor,
        fetch=False,  # intake_followup queues the fetch once the email is tagged
        audit=False,
    )
    return draft, created, [draft_received_entry(draft, actor)] if created else []


def _result(record: IntakeRecord, *, created: bool, status: str | None = None) -> IntakeResult:
    if status is None:
        from reviewqueue.review.models import Draft

        status = Draft.objects.filter(pk=record.draft_id).values_list("status", flat=True).first() or "unknown"
    return IntakeResult(
        draft_id=record.draft_id,
        status=str(status),
        email_id=record.email_id,
        mailbox_id=record.mailbox_id,
        created=created,
    )
