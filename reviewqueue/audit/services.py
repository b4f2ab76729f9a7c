"""Writing the audit log. audit_record is the only writer of AuditEvent."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from reviewqueue.audit.chain import GENESIS_HASH, event_hash
from reviewqueue.audit.models import AuditEvent

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
            "ip": origin.ip,
            "user_agent": origin.user_agent[:512],
            "prev_hash": prev_hash,
        }
        return AuditEvent.objects.create(**fields, hash=event_hash(**fields))
