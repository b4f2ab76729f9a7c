"""The canonical encoding and hash of an audit event: one definition, used to write and to verify."""

import hashlib
import json
from datetime import datetime

GENESIS_HASH = "0" * 64


def canonical_bytes(
    *,
    seq: int,
    created_at: datetime,
    actor_type: str,
    actor_id: str,
    actor_label: str,
    action: str,
    target_type: str,
    target_id: str,
    payload: dict,
    ip: str | None,
    user_agent: str,
    prev_hash: str,
) -> bytes:
    document = {
        "seq": seq,
        "created_at": created_at.isoformat(timespec="microseconds"),
        "actor": [actor_type, actor_id, actor_label],
        "action": action,
        "target": [target_type, target_id],
        "payload": payload,
        "ip": ip,
        "user_agent": user_agent,
        "prev_hash": prev_hash,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(**fields) -> str:
    return hashlib.sha256(canonical_bytes(**fields)).hexdigest()
