"""The canonical encoding and hash of an audit event: one definition, used to write and to verify.

The canonical document is the JSON object
    {"action", "actor": [type, id, label], "created_at", "ip", "payload", "prev_hash", "seq",
     "target": [type, id], "user_agent"}
with keys sorted at every level, no whitespace, non-ASCII kept as UTF-8: exactly what
json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False) gives. It is written
out below field by field (the same bytes, about twice as fast), because verification hashes every event.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from json.encoder import c_make_encoder
from json.encoder import encode_basestring as _string

GENESIS_HASH = "0" * 64

_PAYLOAD_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# The C encoder json.dumps itself uses, built once: same output, without per-call setup.
# markers=None skips the cycle check: payloads are JSON round-tripped, they cannot hold cycles.
# json.encoder sets c_make_encoder to None on a Python without the _json accelerator (it never fails to import).
if c_make_encoder is not None:
    _encode_c = c_make_encoder(None, _PAYLOAD_ENCODER.default, _string, None, ":", ",", True, False, True)

    def _encode_payload(payload) -> str:
        return "".join(_encode_c(payload, 0))

else:
    _encode_payload = _PAYLOAD_ENCODER.encode
# The document in three pieces around its place in the chain (created_at, prev_hash, seq), so an
# append can encode everything else before it takes the append lock (see UnchainedEvent).
_BEFORE_CREATED_AT = '{"action":%s,"actor":[%s,%s,%s],"created_at":'
_BEFORE_PREV_HASH = ',"ip":%s,"payload":%s,"prev_hash":'
_AFTER_SEQ = ',"target":[%s,%s],"user_agent":%s}'
_DOCUMENT = _BEFORE_CREATED_AT + "%s" + _BEFORE_PREV_HASH + '%s,"seq":%d' + _AFTER_SEQ


def utc_timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def canonical_bytes(
    *,
    seq: int,
    created_at: datetime | str,
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
    # created_at may come already formatted (the verifier has PostgreSQL format it, to the same text).
    timestamp = created_at if isinstance(created_at, str) else utc_timestamp(created_at)
    return (
        _DOCUMENT
        % (
            _string(action),
            _string(actor_type),
            _string(actor_id),
            _string(actor_label),
            _string(timestamp),
            "null" if ip is None else _string(ip),
            _encode_payload(payload),
            _string(prev_hash),
            seq,
            _string(target_type),
            _string(target_id),
            _string(user_agent),
        )
    ).encode()


def event_hash(**fields) -> str:
    return hashlib.sha256(canonical_bytes(**fields)).hexdigest()


@dataclass(frozen=True, slots=True)
class UnchainedEvent:
    """An event encoded up to its place in the chain: hash() gives event_hash of the whole event."""

    before_created_at: str
    before_prev_hash: str
    after_seq: str

    @classmethod
    def encode(
        cls,
        *,
        actor_type: str,
        actor_id: str,
        actor_label: str,
        action: str,
        target_type: str,
        target_id: str,
        payload: dict,
        ip: str | None,
        user_agent: str,
    ) -> "UnchainedEvent":
        return cls(
            _BEFORE_CREATED_AT % (_string(action), _string(actor_type), _string(actor_id), _string(actor_label)),
            _BEFORE_PREV_HASH % ("null" if ip is None else _string(ip), _encode_payload(payload)),
            _AFTER_SEQ % (_string(target_type), _string(target_id), _string(user_agent)),
        )

    def hash(self, *, seq: int, created_at: datetime, prev_hash: str) -> str:
        document = "".join(
            (
                self.before_created_at,
                _string(utc_timestamp(created_at)),
                self.before_prev_hash,
                _string(prev_hash),
                f',"seq":{seq:d}',
                self.after_seq,
            )
        )
        return hashlib.sha256(document.encode()).hexdigest()
