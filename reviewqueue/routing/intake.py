"""Intake for AI agents: POST /api/v1/drafts with an intake token.

The request is validated strictly, routed to a mailbox, sent to MultiMail (where a gated mailbox
holds it for review) with an idempotency key derived from the token and the request, and handed to
the review queue. The same request twice gives the same draft and one MultiMail send: the
IntakeRecord row is created first under its unique key and locked while the send happens, so a
concurrent retry waits for the first and answers with its result.

Tagging the email with its conversation at MultiMail (a second call: MultiMail's send takes no
tags) is not needed for the answer, so it happens after commit, in a task that then queues the
draft's fetch (intake_followup). Intakes hand their follow-ups over in batches: each pushes its
record onto a Redis list, and only the first since the last batch started publishes the task that
takes the list (intake_followups), so a busy intake costs one task per batch, not one per draft.
"""

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.http import JsonResponse
from django.utils import timezone

from reviewqueue.accounts.http import request_origin
from reviewqueue.accounts.tokens import authenticate_bearer
from reviewqueue.audit.services import Actor, AuditEntry, RequestOrigin, audit_record, audit_record_many
from reviewqueue.integrations.intercom.services import snapshot_latest, snapshot_refresh
from reviewqueue.jsonbody import JsonBodyInvalid, json_body_parse
from reviewqueue.review import enqueue as review_enqueue
from reviewqueue.routing import enqueue
from reviewqueue.routing.models import IntakeRecord, IntakeToken, Mailbox, RoutingRuleSet, oversight_rank
from reviewqueue.routing.rules import KIND_PATTERN, KIND_RULE, DraftFacts, RuleSet, recipient_domains, route
from reviewqueue.routing.selectors import ruleset_active
from reviewqueue.text import UNSTORABLE_MESSAGE, is_storable

logger = logging.getLogger(__name__)

# Limits from MultiMail's send endpoint (multimail-openapi.json, SendEmailRequest).
MAX_RECIPIENTS = 50
MAX_SUBJECT = 998
MAX_MARKDOWN = 262_144
FIELDS = {"intercom_conversation_id", "to", "cc", "subject", "markdown", "kind"}
_CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# Follow-ups waiting for the batch task, as "<record id>:<refresh 0/1>", oldest first.
FOLLOWUPS_PENDING = "routing:intake-followups"
# Set while a batch task is queued and has not started: later intakes only push. It expires in case
# the task is lost; the next intake then queues another, which takes what this one left.
FOLLOWUPS_SCHEDULED = "routing:intake-followups:scheduled"
FOLLOWUPS_SCHEDULED_TTL = 60
FOLLOWUPS_BATCH = 100


class IntakeInvalid(Exception):
    def __init__(self, status: int, error: str, fields: dict[str, str] | None = None):
        super().__init__(error)
        self.status, self.error, self.fields = status, error, fields or {}

    def body(self) -> dict:
        return {"error": self.error, "fields": self.fields}


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
class IntakePayload:
    intercom_conversation_id: str
    to: tuple[str, ...]
    subject: str
    markdown: str
    cc: tuple[str, ...] = ()
    kind: str = ""

    def canonical(self) -> bytes:
        data = {
            "intercom_conversation_id": self.intercom_conversation_id,
            "to": list(self.to),
            "cc": list(self.cc),
            "subject": self.subject,
            "markdown": self.markdown,
            "kind": self.kind,
        }
        return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class IntakeResult:
    draft_id: int
    status: str
    email_id: str
    mailbox_id: str
    created: bool


# --- validation ----------------------------------------------------------------------------------


def intake_parse(request) -> IntakePayload:
    content_type = request.content_type or ""
    if content_type != "application/json":
        raise IntakeInvalid(415, "send the draft as JSON with Content-Type: application/json")
    try:
        data = json_body_parse(request.body)
    except RequestDataTooBig as error:
        raise IntakeInvalid(413, "the request body is too large") from error
    except JsonBodyInvalid as error:
        raise IntakeInvalid(400, str(error)) from error
    if not isinstance(data, dict):
        raise IntakeInvalid(400, "the body must be a JSON object")
    return payload_validate(data)


def payload_validate(data: dict) -> IntakePayload:
    fields: dict[str, str] = {}
    for name in sorted(set(data) - FIELDS):
        fields[name] = f"unknown field {name!r}; allowed: {', '.join(sorted(FIELDS))}"
    conversation_id = data.get("intercom_conversation_id")
    if isinstance(conversation_id, int) and not isinstance(conversation_id, bool):
        conversation_id = str(conversation_id)  # Intercom ids are digits; a template may send them unquoted
    if not isinstance(conversation_id, str) or not _CONVERSATION_ID.match(conversation_id):
        fields["intercom_conversation_id"] = "required: the Intercom conversation id (letters, digits, - or _)"
    to = _addresses(data, "to", fields, required=True)
    cc = _addresses(data, "cc", fields, required=False)
    if "to" not in fields and "cc" not in fields and len(to) + len(cc) > MAX_RECIPIENTS:
        fields["to"] = f"at most {MAX_RECIPIENTS} recipients in to and cc together ({len(to) + len(cc)} given)"
    subject = data.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        fields["subject"] = "required: a non-empty string"
    elif len(subject) > MAX_SUBJECT:
        fields["subject"] = f"at most {MAX_SUBJECT} characters ({len(subject)} given)"
    elif "\r" in subject or "\n" in subject:
        fields["subject"] = "must be a single line"
    elif not is_storable(subject):
        fields["subject"] = UNSTORABLE_MESSAGE
    markdown = data.get("markdown")
    if not isinstance(markdown, str) or not markdown.strip():
        fields["markdown"] = "required: the email body as a non-empty Markdown string"
    elif len(markdown) > MAX_MARKDOWN:
        fields["markdown"] = f"at most {MAX_MARKDOWN} characters ({len(markdown)} given)"
    elif not is_storable(markdown):
        fields["markdown"] = UNSTORABLE_MESSAGE
    kind = data.get("kind", "")
    if kind is None:
        kind = ""
    if not isinstance(kind, str) or (kind and not KIND_PATTERN.match(kind)):
        fields["kind"] = f"optional: {KIND_RULE}"
    if fields:
        raise IntakeInvalid(400, "invalid draft: " + ", ".join(sorted(fields)), fields)
    return IntakePayload(
        intercom_conversation_id=conversation_id, to=to, subject=subject, markdown=markdown, cc=cc, kind=kind
    )


def _addresses(data: dict, name: str, fields: dict, *, required: bool) -> tuple[str, ...]:
    value = data.get(name)
    if value is None and not required:
        return ()
    if not isinstance(value, list) or (required and not value):
        fields[name] = "required: a non-empty list of email addresses" if required else "a list of email addresses"
        return ()
    if len(value) > MAX_RECIPIENTS:
        fields[name] = f"at most {MAX_RECIPIENTS} recipients ({len(value)} given)"
        return ()
    for position, address in enumerate(value):
        try:
            if not isinstance(address, str):
                raise ValidationError("not a string")
            validate_email(address)
        except ValidationError:
            fields[name] = f"item {position} is not a valid email address"
            return ()
    return tuple(value)


# --- the service ---------------------------------------------------------------------------------


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
        snapshot = snapshot_latest(conversation_id)
        if snapshot is None and fetch:
            snapshot = snapshot_refresh(conversation_id=conversation_id)
        if snapshot is None:
            return "", frozenset()
        conversation = snapshot.conversation
        tags = frozenset((tag.name or "").lower() for tag in conversation.tags)
        return str(conversation.team_assignee_id or ""), tags
    except Exception:  # unreadable or unreachable: route without it (logged)
        logger.warning("intake: no conversation facts for %s", conversation_id, exc_info=True)
        return "", frozenset()


def intake_submit(*, token: IntakeToken, payload: IntakePayload, origin: RequestOrigin | None = None) -> IntakeResult:
    """Route, send and queue the draft. Raises IntakeInvalid (a kind the token may not submit),
    IntakeUnroutable (no routing rules yet) and IntakeRefused (audited: see _oversight_check)."""
    _kind_check(token, payload.kind)
    ruleset = ruleset_active()
    if ruleset is None:
        raise IntakeUnroutable("no routing rules yet: an admin must choose a default mailbox on /manage/routing/")
    facts = draft_facts(
        kind=payload.kind,
        conversation_id=payload.intercom_conversation_id,
        to=payload.to,
        fetch_conversation=ruleset_reads_conversation(ruleset),
    )
    try:
        return _submit(token=token, payload=payload, ruleset=ruleset, facts=facts, origin=origin)
    except IntakeRefused as refused:
        # _submit's transaction rolled back (no record, nothing sent); the refusal is kept on its own.
        _refusal_record(refused, token=token, payload=payload, origin=origin)
        raise


def _kind_check(token: IntakeToken, kind: str) -> None:
    if kind and kind not in token.kinds:
        allowed = ", ".join(token.kinds) or "none: leave kind out"
        message = f"this intake token may not submit kind {kind!r} (its kinds: {allowed})"
        raise IntakeInvalid(400, "invalid draft: kind", {"kind": message})


@transaction.atomic
def _submit(
    *, token: IntakeToken, payload: IntakePayload, ruleset, facts: DraftFacts, origin: RequestOrigin | None
) -> IntakeResult:
    key, request_hash = intake_key(token=token, payload=payload)
    record = _record_claim(key=key, request_hash=request_hash, token=token, payload=payload, facts=facts)
    if record.draft_id is not None:
        return _result(record, created=False)
    if not record.email_id:
        _route_and_send(record, payload, ruleset)
    actor = Actor.token(token)
    draft, draft_created, received = _draft_receive(record, actor)
    # One append for the draft's `draft.received` (when new) and this intake's event: the audit
    # log's append lock is held from here to the commit, and only one UPDATE follows.
    audit_record_many([*received, _accepted_entry(record, draft, payload, actor, origin)])
    record.draft_id, record.completed_at = draft.pk, timezone.now()
    _record_complete(record)
    transaction.on_commit(lambda: _enqueue_followup(record.pk, refresh=not draft_created))
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
    *, key: str, request_hash: str, token: IntakeToken, payload: IntakePayload, facts: DraftFacts
) -> IntakeRecord:
    """This request's IntakeRecord, locked until the commit.

    INSERT … ON CONFLICT DO NOTHING waits for a transaction that has inserted the same key: a
    concurrent retry of the same request blocks here until the first one commits (then takes its
    row, locked, and finds its result) or rolls back (then the insert goes through and this call
    does the work). Written out rather than through the ORM, which cannot return the id of an
    insert that may do nothing: one statement instead of a savepoint, an INSERT and its release.
    """
    record = IntakeRecord(
        idempotency_key=key,
        request_hash=request_hash,
        token=token,
        conversation_id=payload.intercom_conversation_id,
        kind=payload.kind,
        facts=facts.as_json(),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO routing_intakerecord (idempotency_key, request_hash, token_id, conversation_id, kind,"
            " facts, mailbox_id, email_id, created_at) VALUES (%s, %s, %s, %s, %s, %s::jsonb, '', '', %s)"
            " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            [
                record.idempotency_key,
                record.request_hash,
                record.token_id,
                record.conversation_id,
                record.kind,
                json.dumps(record.facts),
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


def _route_and_send(record: IntakeRecord, payload: IntakePayload, ruleset) -> None:
    from reviewqueue.integrations.multimail.client import get_multimail_client

    mailbox_id = route(DraftFacts.from_json(record.facts), RuleSet.from_model(ruleset))
    _oversight_check(mailbox_id, ruleset)
    sent = get_multimail_client().send(
        mailbox_id=mailbox_id,
        to=list(payload.to),
        cc=list(payload.cc) or None,
        subject=payload.subject,
        markdown=payload.markdown,
        idempotency_key=record.idempotency_key,
    )
    record.email_id, record.mailbox_id, record.routing_version = sent.id, mailbox_id, ruleset


def _oversight_check(mailbox_id: str, ruleset: RoutingRuleSet) -> None:
    """Raise IntakeRefused when the mailbox's mode, as last mirrored from MultiMail, is looser than the
    routing rules were saved against. This is what keeps a draft under review whatever the agent put in
    it: its kind, recipients and conversation (team, tags) all steer routing."""
    mode = Mailbox.objects.filter(mailbox_id=mailbox_id).values_list("oversight_mode", flat=True).first() or ""
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


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)  # thread-safe, with its own connection pool


def _enqueue_followup(record_id: int, *, refresh: bool) -> None:
    """Push the record for the next batch (one round trip); queue the batch task only when none waits.

    The push comes before the check: a batch task that has already cleared the flag takes the list
    after that, so it finds this record, and when the flag is still set its task has not started."""
    pipeline = _redis().pipeline(transaction=False)
    pipeline.rpush(FOLLOWUPS_PENDING, f"{record_id}:{int(refresh)}")
    pipeline.set(FOLLOWUPS_SCHEDULED, 1, nx=True, ex=FOLLOWUPS_SCHEDULED_TTL)
    _, scheduled_now = pipeline.execute()
    if scheduled_now:
        enqueue.intake_followups()


def intake_followups() -> int:
    """The batch task: follow up every pushed record, oldest first, until the list is empty; how many.

    A record taken off the list by a batch that then dies loses its tag (only logged when it fails,
    too) but not its fetch: the outbox sweeper fetches a draft nobody fetched."""
    client = _redis()
    client.delete(FOLLOWUPS_SCHEDULED)  # from now on a new intake queues the next batch
    done = 0
    while pending := client.lpop(FOLLOWUPS_PENDING, FOLLOWUPS_BATCH):
        refresh_by_id = dict(_pending_item(item) for item in pending)
        for record in IntakeRecord.objects.filter(pk__in=refresh_by_id).order_by("pk"):
            _follow_up(record, refresh=refresh_by_id[record.pk])
            done += 1
    return done


def _pending_item(item: bytes) -> tuple[int, bool]:
    record_id, refresh = item.decode().split(":")
    return int(record_id), refresh == "1"


def intake_followup(*, record_id: int, refresh: bool = False) -> None:
    """One record's follow-up (see _follow_up)."""
    _follow_up(IntakeRecord.objects.get(pk=record_id), refresh=refresh)


def _follow_up(record: IntakeRecord, *, refresh: bool) -> None:
    """After commit: tag the email with its conversation at MultiMail, then queue the draft's fetch.

    Tagging first puts the tag on before the draft is fetched, so before a reviewer normally sees it.
    The email's other tags are kept (add_tags). A failed tag is only logged, as it always was: the
    IntakeRecord links email and conversation on our side. The fetch is queued whatever happens
    (`refresh` when the draft existed before this intake); had this task been lost, the outbox
    sweeper would still fetch it.
    """
    from reviewqueue.integrations.multimail.client import MultiMailError, add_tags, get_multimail_client

    try:
        add_tags(
            get_multimail_client(),
            mailbox_id=record.mailbox_id,
            email_id=record.email_id,
            tags={"intercom_conversation_id": record.conversation_id},
        )
    except MultiMailError:
        logger.warning("intake: tagging email %s failed", record.email_id, exc_info=True)
    finally:
        review_enqueue.draft_fetch(record.draft_id, refresh)


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


# --- the endpoint --------------------------------------------------------------------------------


def intake_draft(request) -> JsonResponse:
    """POST /api/v1/drafts (dispatched here by the review API's collection view)."""
    if request.method != "POST":
        return JsonResponse({"error": "intake takes POST"}, status=405, headers={"Allow": "POST"})
    token = authenticate_bearer(request, IntakeToken.objects.all())
    if token is None:
        response = JsonResponse({"error": "a valid intake token is required (Authorization: Bearer …)"}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="reviewqueue-intake"'
        return response
    try:
        payload = intake_parse(request)
    except IntakeInvalid as invalid:
        return JsonResponse(invalid.body(), status=invalid.status)
    try:
        result = intake_submit(token=token, payload=payload, origin=request_origin(request))
    except IntakeInvalid as invalid:
        return JsonResponse(invalid.body(), status=invalid.status)
    except IntakeRefused as refused:
        return JsonResponse({"error": str(refused)}, status=409)
    except IntakeUnroutable as error:
        return JsonResponse({"error": str(error)}, status=503)
    except Exception as error:
        response = multimail_error_response(error)
        if response is None:
            raise
        return response
    body = {
        "id": result.draft_id,
        "status": result.status,
        "email_id": result.email_id,
        "mailbox_id": result.mailbox_id,
    }
    return JsonResponse(body, status=202 if result.created else 200)


def multimail_error_response(error: Exception) -> JsonResponse | None:
    """A clear JSON answer for a MultiMail failure; None when `error` is not one."""
    from reviewqueue.integrations.multimail import client as mm

    if not isinstance(error, mm.MultiMailError):
        return None
    logger.warning("intake: MultiMail refused: %s", error)
    if error.transient:  # the same send may go through later: say when, as the poll and the outbox would retry
        return _retry_later(error)
    if isinstance(error, mm.MultiMailNotConfigured):
        return JsonResponse({"error": f"intake is unavailable: {error}"}, status=503)
    if isinstance(error, mm.MultiMailBadRequest):
        return JsonResponse({"error": f"MultiMail refused the email: {_message(error)}"}, status=422)
    if isinstance(error, mm.MultiMailConflict):
        return JsonResponse({"error": f"MultiMail reports a conflict: {_message(error)}"}, status=409)
    # 401/403/404: our configuration is at fault, not the agent's request, and retrying will not mend it.
    return JsonResponse({"error": f"MultiMail failed: {_message(error)}"}, status=502)


def _retry_later(error) -> JsonResponse:
    """429 while MultiMail rate limits us, else 503; with MultiMail's Retry-After when it gave one."""
    if error.status == 429:
        response = JsonResponse({"error": "MultiMail is rate limiting sends; retry later"}, status=429)
    else:
        response = JsonResponse({"error": "MultiMail is unavailable; retry later"}, status=503)
    if error.retry_after:
        response["Retry-After"] = str(int(error.retry_after))
    return response


def _message(error) -> str:
    return str(getattr(error, "message", "") or error)[:500]
