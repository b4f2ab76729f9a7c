"""Writing the audit log. audit_record is the only writer of AuditEvent."""

import ipaddress
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from reviewqueue import keys
from reviewqueue.audit.chain import GENESIS_HASH, UnchainedEvent
from reviewqueue.audit.models import AuditCheckpoint, AuditEvent, AuditVerification
from reviewqueue.audit.verify import COLUMNS, checkpoint_signature, verify_chain

# Any constant works; it names the advisory lock that serializes appends so the chain cannot fork.
_APPEND_LOCK_ID = 0x52514155  # "RQAU"


@dataclass(frozen=True)
class Actor:
    type: str
    id: str = ""
    label: str = ""

    @classmethod
    def person(cls, user) -> "Actor":
        return cls(AuditEvent.ActorType.PERSON, str(user.pk), user.get_username())

    @classmethod
    def token(cls, token) -> "Actor":
        return cls(AuditEvent.ActorType.TOKEN, str(token.pk), token.name)

    @classmethod
    def system(cls, task: str) -> "Actor":
        return cls(AuditEvent.ActorType.SYSTEM, "", task)

    @classmethod
    def anonymous(cls, claimed_name: str = "") -> "Actor":
        return cls(AuditEvent.ActorType.ANONYMOUS, "", claimed_name[:255])


@dataclass(frozen=True)
class RequestOrigin:
    """Where a person's action came from, kept with the event."""

    ip: str | None = None
    user_agent: str = ""


def _stored_ip(ip: str | None) -> str | None:
    # Hash the address as the database will give it back (IPv6 normalised), or verification would fail.
    if not ip:
        return None
    try:
        ipaddress.ip_address(ip)
        return AuditEvent._meta.get_field("ip").get_prep_value(ip) or None
    except (ValueError, ValidationError):
        return None  # not an address: keep the event, drop the junk


@dataclass(frozen=True)
class AuditEntry:
    """One event to append with audit_record_many (the arguments of audit_record)."""

    actor: Actor
    action: str
    target_type: str = ""
    target_id: str | int = ""
    payload: dict | None = None
    origin: RequestOrigin | None = None


def audit_record(
    *,
    actor: Actor,
    action: str,
    target_type: str = "",
    target_id: str | int = "",
    payload: dict | None = None,
    origin: RequestOrigin | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append one event. Call it inside the transaction of the change it records (`at`: see audit_record_many)."""
    entry = AuditEntry(actor, action, target_type, target_id, payload, origin)
    return audit_record_many([entry], at=at)[0]


# One statement list, one round trip: the head is read by its own statement, after the lock is held
# (READ COMMITTED takes a snapshot per statement), so it always sees the last committed append.
_LOCK_AND_READ_HEAD = (
    f"SELECT pg_advisory_xact_lock({_APPEND_LOCK_ID}); "  # noqa: S608 (a constant)
    "SELECT seq, hash, created_at FROM audit_auditevent ORDER BY seq DESC LIMIT 1"
)
_INSERT = f"INSERT INTO audit_auditevent ({', '.join(COLUMNS)}) VALUES "  # noqa: S608 (constant names)
_ROW = "(%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::inet, %s, %s, %s)"
_DAWN = datetime.min.replace(tzinfo=UTC)  # the "previous event time" of an empty log
_ROWS_PER_INSERT = 1000  # 13,000 parameters a statement, well inside PostgreSQL's 65,535


@dataclass(frozen=True, slots=True)
class _Prepared:
    """An entry with everything that does not depend on the chain head worked out."""

    fields: tuple  # actor_type, actor_id, actor_label, action, target_type, target_id
    payload: dict
    payload_json: str
    ip: str | None
    user_agent: str
    unchained: UnchainedEvent


def _prepare(entry: AuditEntry) -> _Prepared:
    origin = entry.origin or RequestOrigin()
    # JSON round trip: the stored payload and the hashed payload must be the same value.
    payload_json = json.dumps(entry.payload or {}, cls=DjangoJSONEncoder)
    payload = json.loads(payload_json)
    actor = entry.actor
    fields = (actor.type, actor.id, actor.label, entry.action, entry.target_type, str(entry.target_id))
    ip, user_agent = _stored_ip(origin.ip), origin.user_agent[:512]
    unchained = UnchainedEvent.encode(
        actor_type=actor.type,
        actor_id=actor.id,
        actor_label=actor.label,
        action=entry.action,
        target_type=entry.target_type,
        target_id=fields[5],
        payload=payload,
        ip=ip,
        user_agent=user_agent,
    )
    return _Prepared(fields, payload, payload_json, ip, user_agent, unchained)


class AuditTimeBeforeHead(ValueError):
    """An explicit time earlier than the log's last event: the log only moves forward in time."""


def audit_record_many(entries: list[AuditEntry], *, at: datetime | None = None) -> list[AuditEvent]:
    """Append events in order, with one lock, one read of the head and one INSERT.

    Call it inside the transaction of the changes it records. The append lock is held until that
    transaction commits, so everything that does not need the head is done before taking it.

    `at` records when the change happened when that was not now: history replayed in time order
    onto a log that has nothing later (the `make run` demo's past week). It may not lie in the
    future, nor before the log's last event (AuditTimeBeforeHead): no event is ever slipped in
    before one already recorded.
    """
    if at is not None and at > datetime.now(UTC):
        raise ValueError(f"an audit event cannot be recorded in the future ({at.isoformat()})")
    prepared = [_prepare(entry) for entry in entries]
    if not prepared:
        return []
    # No savepoint of its own: an append that fails must fail the change it records.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(_LOCK_AND_READ_HEAD)
        cursor.nextset()
        head = cursor.fetchone()
        seq, prev_hash, latest = head if head else (0, GENESIS_HASH, _DAWN)
        latest = latest.astimezone(UTC)  # like now(UTC): the hash covers the timestamp's text, offset included
        if at is not None and at < latest:
            raise AuditTimeBeforeHead(f"{at.isoformat()} is before the log's last event ({latest.isoformat()})")
        rows, params = [], []
        for item in prepared:
            seq += 1
            # Never before the previous event: a clock stepped back, or another machine's clock
            # running behind, must not turn time backwards along the log (the auditor's time filters
            # rely on time order being seq order, see selectors._seq_bounds).
            created_at = latest = max(at.astimezone(UTC) if at else datetime.now(UTC), latest)
            event_hash = item.unchained.hash(seq=seq, created_at=created_at, prev_hash=prev_hash)
            row = (seq, created_at, *item.fields, item.payload, item.ip, item.user_agent, prev_hash, event_hash)
            rows.append(row)
            params.append((*row[:8], item.payload_json, *row[9:]))
            prev_hash = event_hash
        for start in range(0, len(params), _ROWS_PER_INSERT):
            chunk = params[start : start + _ROWS_PER_INSERT]
            cursor.execute(_INSERT + ", ".join([_ROW] * len(chunk)), [value for row in chunk for value in row])
    return [AuditEvent.from_db(connection.alias, COLUMNS, row) for row in rows]


def audit_checkpoint_store() -> AuditCheckpoint | None:
    """Sign and keep the current head (seq, hash); None while the log is empty."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Taken under the append lock, so the head cannot move between reading and signing.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_APPEND_LOCK_ID])
        head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        if head is None:
            return None
        seq, head_hash = head
        created_at = datetime.now(UTC)
        key = keys.current_key(keys.AUDIT_SIGNING)
        signature = checkpoint_signature(seq=seq, head_hash=head_hash, created_at=created_at, key=key.secret)
        return AuditCheckpoint.objects.create(
            seq=seq, head_hash=head_hash, created_at=created_at, signature=signature, key_id=key.id
        )


def audit_verification_start(
    *, started_by=None, label: str = "", origin: RequestOrigin | None = None
) -> AuditVerification:
    """Open a verification record (run it with audit_verification_run); a person starting one is audited."""
    with transaction.atomic():
        verification = AuditVerification.objects.create(
            started_at=datetime.now(UTC),
            started_by=started_by,
            started_by_label=label or (started_by.get_username() if started_by else ""),
        )
        if started_by is not None:
            audit_record(
                actor=Actor.person(started_by),
                action="audit.verification_started",
                target_type="audit_verification",
                target_id=verification.pk,
                origin=origin,
            )
    return verification


def audit_verification_run(*, verification_id: int) -> AuditVerification:
    """Walk the chain and store the outcome on the verification record."""
    verification = AuditVerification.objects.get(pk=verification_id)
    try:
        result = verify_chain()
    except Exception as error:
        AuditVerification.objects.filter(pk=verification_id).update(
            status=AuditVerification.Status.FAILED, finished_at=datetime.now(UTC), detail=f"could not finish: {error}"
        )
        raise
    verification.status = AuditVerification.Status.INTACT if result.intact else AuditVerification.Status.BROKEN
    verification.finished_at = datetime.now(UTC)
    verification.events_checked = result.events_checked
    verification.head_seq = result.head_seq
    verification.first_bad_seq = result.first_bad_seq
    verification.problem = str(result.problem or "")
    verification.detail = result.summary()
    verification.save()
    return verification


def export_record(*, user, export_format: str, filters: dict, origin: RequestOrigin | None = None) -> AuditEvent:
    """Audit that `user` exported the filtered log (before the first row leaves)."""
    return audit_record(
        actor=Actor.person(user),
        action="export.made",
        target_type="audit_log",
        payload={"format": export_format, "filters": {key: value for key, value in filters.items() if value}},
        origin=origin,
    )
