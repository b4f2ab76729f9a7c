"""The fast canonical encoding is byte for byte the documented json.dumps one."""

import json
import random
from datetime import UTC, datetime, timedelta

from reviewqueue.audit.chain import UnchainedEvent, canonical_bytes, event_hash

ALPHABET = 'abcXYZ 019"\\/\n\t\x00\x1f\x7fé✓😀\u2028'


def _reference(fields: dict) -> bytes:
    document = {
        "seq": fields["seq"],
        "created_at": fields["created_at"].isoformat(timespec="microseconds"),
        "actor": [fields["actor_type"], fields["actor_id"], fields["actor_label"]],
        "action": fields["action"],
        "target": [fields["target_type"], fields["target_id"]],
        "payload": fields["payload"],
        "ip": fields["ip"],
        "user_agent": fields["user_agent"],
        "prev_hash": fields["prev_hash"],
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 12)))


def _value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return _text(rng)
    if kind == 1:
        return rng.randrange(-(10**20), 10**20)
    if kind == 2:
        return rng.choice([0.1, -2.5e-300, 1e100, 3.0, rng.random()])
    if kind == 3:
        return rng.choice([True, False, None])
    if kind == 4:
        return ""
    if kind in (5, 6):
        return {_text(rng): _value(rng, depth + 1) for _ in range(rng.randrange(4))}
    return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]


def test_the_encoding_matches_sorted_compact_json_on_random_events():
    rng = random.Random(5)
    for seq in range(1, 2001):
        fields = {
            "seq": seq,
            "created_at": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(microseconds=rng.randrange(10**12)),
            "actor_type": rng.choice(["person", "system"]),
            "actor_id": _text(rng),
            "actor_label": _text(rng),
            "action": _text(rng),
            "target_type": _text(rng),
            "target_id": _text(rng),
            "payload": {_text(rng): _value(rng) for _ in range(rng.randrange(6))},
            "ip": rng.choice([None, "10.0.0.1", "2001:db8::1"]),
            "user_agent": _text(rng),
            "prev_hash": f"{rng.getrandbits(256):064x}",
        }
        assert canonical_bytes(**fields) == _reference(fields), fields
        formatted = {**fields, "created_at": fields["created_at"].isoformat(timespec="microseconds")}
        assert canonical_bytes(**formatted) == _reference(fields)
        place = {key: fields.pop(key) for key in ("seq", "created_at", "prev_hash")}
        assert UnchainedEvent.encode(**fields).hash(**place) == event_hash(**fields, **place)


def test_a_python_without_the_json_accelerator_encodes_the_same_bytes(monkeypatch):
    """json.encoder leaves c_make_encoder None there (it does not fail to import): the pure encoder is used."""
    import importlib.util
    import json.encoder

    import reviewqueue.audit.chain as chain

    monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    spec = importlib.util.spec_from_file_location("chain_without_accelerator", chain.__file__)
    without = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(without)
    payload = {"z": [1, "é✓", None], "a": {"b": True, "a": 1.5}}
    assert (
        without._encode_payload(payload)
        == chain._encode_payload(payload)
        == json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    )
