"""Writing the audit log. audit_record is the only writer of AuditEvent."""

import ipaddress
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from reviewqueue.audit.chain import GENESIS_HASH, event_hash
from reviewqueue.audit.models import AuditCheckpoint, AuditEvent, AuditVerification
from reviewqueue.audit.verify import checkpoint_signature, verify_chain

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


def audit_record(
    *,
    actor: Actor,
    action: str,
    target_type: str = "",
    target_id: str | int = "",
    payload: dict | None = None,
    origin: RequestOrigin | None = None,
) -> AuditEvent:
    """Append one event. Call it inside the transaction of the change it records."""
    origin = origin or RequestOrigin()
    # JSON round trip: the stored payload and the hashed payload must be the same value.
    clean_payload = json.loads(json.dumps(payload or {}, cls=DjangoJSONEncoder))
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_APPEND_LOCK_ID])
        last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
        fields = {
            "seq": seq,
            "created_at": datetime.now(UTC),
            "actor_type": actor.type,
            "actor_id": actor.id,
            "actor_label": actor.label,
            "action": action,
            "target_type": target_type,
            "target_id": str(target_id),
            "payload": clean_payload,
            "ip": _stored_ip(origin.ip),
            "user_agent": origin.user_agent[:512],
            "prev_hash": prev_hash,
        }
        return AuditEvent.objects.create(**fields, hash=event_hash(**fields))


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
        signature = checkpoint_signature(seq=seq, head_hash=head_hash, created_at=created_at)
        return AuditCheckpoint.objects.create(seq=seq, head_hash=head_hash, created_at=created_at, signature=signature)


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
