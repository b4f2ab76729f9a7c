"""The audit-log tampers of bench/audit_tamper.py (bench/_soak_tamper.py runs them): a realistic log built
through the real append API, then each kind of tamper as a function of that untouched log.

Each tamper changes the database only inside its caller's transaction (with the append-only triggers
disabled) and returns the seq the verifier must name as the first bad event.
"""

from __future__ import annotations

import functools
import json
import random
from dataclasses import dataclass
from datetime import timedelta

CHECKPOINT_EVERY = (150, 350)  # events between checkpoints: the hourly beat on a busy team's log
UNSIGNED_TAIL = (10, 60)  # events appended since the last checkpoint

# --- the log, through the real append API -------------------------------------------------------------

REASONS = [
    "Looks right",
    "Refund amount is wrong for this order",
    "Tone: ça va? ✓ too casual",
    "Promises a delivery date we cannot meet",
    "Wrong language: the customer wrote in German (Grüße)",
    "",
]
AGENTS = ["Mozilla/5.0 Firefox/140", "curl/8.5", "Mozilla/5.0 (Macintosh) Safari/17", ""]
ADDRESSES = ["10.0.0.7", "192.0.2.44", "2001:db8::1", "2001:DB8:0:0:0:0:0:2", None]


def _entry(rng: random.Random, n: int):
    from reviewqueue.audit.services import Actor, AuditEntry, RequestOrigin

    reviewer = rng.randrange(1, 13)
    person = Actor("person", str(reviewer), f"reviewer{reviewer}")
    origin = RequestOrigin(rng.choice(ADDRESSES), rng.choice(AGENTS))
    draft = max(1, n // 3 - rng.randrange(5))
    roll = rng.random()
    if roll < 0.28:
        payload = {"draft_id": draft, "email_id": f"em_{draft}", "mailbox_id": f"mbx_{draft % 7}"}
        return AuditEntry(Actor.system("poller"), "draft.received", "draft", draft, payload)
    if roll < 0.45:
        return AuditEntry(person, "draft.claimed", "draft", draft, {"draft_id": draft}, origin)
    if roll < 0.72:
        payload = {
            "decision_id": n,
            "draft_id": draft,
            "email_id": f"em_{draft}",
            "action": rng.choice(["approve", "approve", "approve", "reject", "request_changes"]),
            "reason": rng.choice(REASONS),
            "reviewer": {"id": reviewer, "username": f"reviewer{reviewer}", "name": f"Reviewer {reviewer}"},
            "content_hash": f"{rng.getrandbits(256):064x}",
            "draft": {"to": ["customer@example.org"], "cc": [], "subject": f"Re: order {draft}", "markdown": "Hi"},
            "snapshot_id": rng.choice([None, draft]),
            "confirmed_changed": rng.random() < 0.1,
            "mailbox_id": f"mbx_{draft % 7}",
            "routing_version_id": 3,
            "score": round(rng.random(), 6),
        }
        return AuditEntry(person, "draft.decided", "draft", draft, payload, origin)
    if roll < 0.9:
        payload = {"decision_id": max(1, n - 2), "status": "approved_and_sent", "attempts": rng.randrange(1, 4)}
        return AuditEntry(Actor.system("outbox"), "decide.sent", "draft", draft, payload)
    if roll < 0.95:
        return AuditEntry(Actor.token(_Token(reviewer)), "api_token.used", "draft", draft, {"scope": "review"}, origin)
    if roll < 0.98:
        return AuditEntry(person, "login", "user", reviewer, {"method": rng.choice(["password", "sso"])}, origin)
    return AuditEntry(Actor.anonymous("mallory"), "login.failed", "user", "", {"reason": "bad password"}, origin)


@dataclass
class _Token:  # what Actor.token reads of an API token
    pk: int

    @property
    def name(self) -> str:
        return f"ci-token-{self.pk}"


def build_log(events: int, rng: random.Random) -> None:
    """`events` events, one or a few per transaction, signed checkpoints along the way and an unsigned tail."""
    from django.db import transaction

    from reviewqueue.audit.services import audit_checkpoint_store, audit_record_many

    tail = rng.randint(*UNSIGNED_TAIL) if events > 2 * UNSIGNED_TAIL[1] else 0
    next_checkpoint = rng.randint(*CHECKPOINT_EVERY)
    written = 0
    while written < events:
        batch = min(events - written, 1 if rng.random() < 0.8 else rng.randint(2, 12))  # bulk actions append many
        with transaction.atomic():
            audit_record_many([_entry(rng, written + i) for i in range(batch)])
        if written < events - tail <= written + batch or written + batch >= next_checkpoint:
            audit_checkpoint_store()  # the last one before the tail, wherever the hour falls
            next_checkpoint = written + batch + rng.randint(*CHECKPOINT_EVERY)
        written += batch


# --- reading and writing rows under the triggers' nose ---------------------------------------------


def execute(sql: str, params=()) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def read_rows() -> list[list]:
    from django.db import connection

    from reviewqueue.audit.verify import COLUMNS

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(COLUMNS)} FROM audit_auditevent ORDER BY seq")
        rows = [list(row) for row in cursor.fetchall()]
    for row in rows:
        if isinstance(row[8], str):  # raw cursors hand jsonb over as its text
            row[8] = json.loads(row[8])
    return rows


def read_checkpoints() -> list[tuple]:
    from reviewqueue.audit.models import AuditCheckpoint

    return list(AuditCheckpoint.objects.order_by("seq", "id").values_list("id", "seq", "head_hash", "signature"))


def insert_row(row: list) -> None:
    from reviewqueue.audit.verify import COLUMNS

    values = [*row[:8], json.dumps(row[8]), *row[9:]]
    placeholders = "%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::inet, %s, %s, %s"
    execute(f"INSERT INTO audit_auditevent ({', '.join(COLUMNS)}) VALUES ({placeholders})", values)


def _set(seq: int, column: str, value) -> None:
    cast = {"payload": "::jsonb", "ip": "::inet"}.get(column, "")
    if column == "payload":
        value = json.dumps(value)
    execute(f"UPDATE audit_auditevent SET {column} = %s{cast} WHERE seq = %s", [value, seq])


def _rehash(rows: list[list], start: int, end: int) -> None:
    """Recompute links and hashes of rows[start:end] (0-based) and store them: what an attacker who
    knows the encoding (it is public) does after an edit."""
    from reviewqueue.audit.verify import row_hash

    changed = []
    for index in range(start, end):
        row = rows[index]
        if index > 0:
            row[11] = rows[index - 1][12]
        row[12] = row_hash(tuple(row))
        changed.append((row[0], row[11], row[12]))
    for first in range(0, len(changed), 1000):
        chunk = changed[first : first + 1000]
        values = ", ".join(["(%s::bigint, %s, %s)"] * len(chunk))
        execute(
            "UPDATE audit_auditevent AS e SET prev_hash = v.p, hash = v.h "
            f"FROM (VALUES {values}) AS v(seq, p, h) WHERE e.seq = v.seq",
            [value for item in chunk for value in item],
        )


def _flip_hex(value: str, rng: random.Random) -> str:
    position = rng.randrange(len(value))
    flipped = format(int(value[position], 16) ^ (1 << rng.randrange(4)), "x")
    return value[:position] + flipped + value[position + 1 :]


# --- the tampers ----------------------------------------------------------------------------------------
# Each gets the untouched log (rows, 0-based copies; checkpoints) and returns the seq the verifier
# must name. They change the database only inside the caller's transaction.


@dataclass
class Log:
    rows: list[list]
    checkpoints: list[tuple]  # (id, seq, head_hash, signature)

    @property
    def size(self) -> int:
        return len(self.rows)

    @property
    def signed_through(self) -> int:
        return max(seq for _id, seq, _hash, _sig in self.checkpoints)

    def copy(self, seq: int) -> list:
        row = list(self.rows[seq - 1])
        row[8] = json.loads(json.dumps(row[8]))
        return row


CONTENT_FIELDS = {
    "created_at": 1,
    "actor_type": 2,
    "actor_id": 3,
    "actor_label": 4,
    "action": 5,
    "target_type": 6,
    "target_id": 7,
    "payload": 8,
    "ip": 9,
    "user_agent": 10,
}


def _changed_value(column: str, value, rng: random.Random):
    """A different value for one column, of the kinds an edit would make."""
    if column == "created_at":
        return value + rng.choice(
            [timedelta(microseconds=1), timedelta(microseconds=-1), timedelta(seconds=-90), timedelta(days=-1)]
        )
    if column == "actor_type":
        return rng.choice([t for t in ("person", "token", "system", "anonymous") if t != value])
    if column == "action":
        return rng.choice([a for a in ("draft.decided", "draft.claimed", "role.granted", "export.made") if a != value])
    if column == "payload":
        return _changed_payload(value, rng)
    if column == "ip":
        return rng.choice([a for a in ("10.0.0.8", "2001:db8::7", "10.0.0.7/24", None) if a != value])
    if not value:
        return rng.choice(["1", "admin", " "])
    position = rng.randrange(len(value))
    return value[:position] + chr(ord(value[position]) ^ (1 << rng.randrange(5))) + value[position + 1 :] or "x"


def _changed_payload(payload: dict, rng: random.Random) -> dict:
    payload = json.loads(json.dumps(payload))
    changes = ["add"]
    if payload:
        changes += ["remove", "retype"]
    if payload.get("action") in ("approve", "reject", "request_changes"):
        changes += ["decision", "decision"]
    if payload.get("reason"):
        changes += ["reason"]
    if isinstance(payload.get("reviewer"), dict):
        changes += ["reviewer"]
    change = rng.choice(changes)
    if change == "add":
        payload["approved_by_admin"] = True
    elif change == "remove":
        del payload[rng.choice(sorted(payload))]
    elif change == "retype":  # same meaning to a reader, other JSON: 5 -> "5" / 5.0, "x" -> ["x"]
        key = rng.choice(sorted(payload))
        value = payload[key]
        payload[key] = float(value) if isinstance(value, int) and not isinstance(value, bool) else [value]
    elif change == "decision":
        payload["action"] = "reject" if payload["action"] == "approve" else "approve"
    elif change == "reason":
        payload["reason"] = payload["reason"][:-1] or "."
    else:
        payload["reviewer"]["username"] += "x"
    return payload


def t_field(log: Log, rng: random.Random, column: str) -> int:
    seq = rng.randint(1, log.size)
    _set(seq, column, _changed_value(column, log.rows[seq - 1][CONTENT_FIELDS[column]], rng))
    return seq


def t_seq(log: Log, rng: random.Random) -> int:
    seq = rng.randint(1, log.size)
    _set(seq, "seq", log.size + rng.randint(1, 1000))  # the event moved out of its place
    return seq


def t_link(log: Log, rng: random.Random, column: str) -> int:
    seq = rng.randint(1, log.size)
    _set(seq, column, _flip_hex(log.rows[seq - 1][11 if column == "prev_hash" else 12], rng))
    return seq


def t_rehashed_edit(log: Log, rng: random.Random) -> int:
    """One field changed and that event's own hash recomputed (the naive cover-up). Not at the head's
    predecessor: there nothing tells which of the last two events is the forged one (see verify.py)."""
    seq = rng.randint(1, log.size - 2)
    row = log.copy(seq)
    column = rng.choice(sorted(CONTENT_FIELDS))
    row[CONTENT_FIELDS[column]] = _changed_value(column, row[CONTENT_FIELDS[column]], rng)
    from reviewqueue.audit.verify import row_hash

    row[12] = row_hash(tuple(row))
    execute("DELETE FROM audit_auditevent WHERE seq = %s", [seq])
    insert_row(row)
    return seq


def t_delete_one(log: Log, rng: random.Random) -> int:
    seq = rng.randint(1, log.size - 1)
    execute("DELETE FROM audit_auditevent WHERE seq = %s", [seq])
    return seq


def t_delete_range(log: Log, rng: random.Random) -> int:
    first = rng.randint(1, log.size - 2)
    last = rng.randint(first + 1, min(log.size - 1, first + 60))
    execute("DELETE FROM audit_auditevent WHERE seq BETWEEN %s AND %s", [first, last])
    return first


def t_delete_head(log: Log, rng: random.Random) -> int:
    """The newest events cut, back to a point a signed checkpoint still covers."""
    first = rng.randint(max(1, log.signed_through - 400), log.signed_through)
    execute("DELETE FROM audit_auditevent WHERE seq >= %s", [first])
    return first


def t_swap(log: Log, rng: random.Random) -> int:
    first = rng.randint(1, log.size - 1)
    second = first + 1 if rng.random() < 0.4 else rng.randint(first + 1, log.size)
    execute("UPDATE audit_auditevent SET seq = -1 WHERE seq = %s", [first])
    execute("UPDATE audit_auditevent SET seq = %s WHERE seq = %s", [first, second])
    execute("UPDATE audit_auditevent SET seq = %s WHERE seq = -1", [second])
    return first


def t_swap_hashes(log: Log, rng: random.Random) -> int:
    first, second = sorted(rng.sample(range(1, log.size + 1), 2))
    _set(first, "hash", "-")  # the hash is unique: park it first
    _set(second, "hash", log.rows[first - 1][12])
    _set(first, "hash", log.rows[second - 1][12])
    return first


def t_rotate(log: Log, rng: random.Random) -> int:
    """A block of events rotated by one: its first event moved to the block's end."""
    first = rng.randint(1, log.size - 2)
    last = rng.randint(first + 2, min(log.size, first + 20))
    execute("UPDATE audit_auditevent SET seq = -seq WHERE seq BETWEEN %s AND %s", [first, last])
    execute(
        "UPDATE audit_auditevent SET seq = CASE WHEN -seq = %s THEN %s ELSE -seq - 1 END WHERE seq < 0", [first, last]
    )
    return first


def forged_row(log: Log, seq: int, prev_hash: str, rng: random.Random) -> list:
    from reviewqueue.audit.verify import row_hash

    like = log.copy(max(1, min(seq, log.size) - 1))
    row = [seq, like[1] + timedelta(microseconds=1), "person", "1", "reviewer1", "role.granted", "user", "13"]
    row += [{"role": rng.choice(["admin", "auditor"]), "by": "reviewer1"}, like[9], like[10], prev_hash, ""]
    row[12] = row_hash(tuple(row))
    return row


def t_insert_middle(log: Log, rng: random.Random) -> int:
    """A well-formed event (its own hash right, linked to the event before) slipped in; later ones renumbered."""
    seq = rng.randint(1, log.size)
    execute("UPDATE audit_auditevent SET seq = -seq WHERE seq >= %s", [seq])
    execute("UPDATE audit_auditevent SET seq = -seq + 1 WHERE seq < 0")
    insert_row(forged_row(log, seq, log.rows[seq - 2][12] if seq > 1 else "0" * 64, rng))
    return seq


def t_replace(log: Log, rng: random.Random) -> int:
    """An event replaced in place by a well-formed forged one linked to the event before (not at the
    head's predecessor, as above)."""
    seq = rng.randint(1, log.size - 2)
    execute("DELETE FROM audit_auditevent WHERE seq = %s", [seq])
    insert_row(forged_row(log, seq, log.rows[seq - 2][12] if seq > 1 else "0" * 64, rng))
    return seq


def t_insert_tail(log: Log, rng: random.Random) -> int:
    """A forged event appended whose link does not reach the head (garbage, or an older event)."""
    link = rng.choice(["f" * 64, log.rows[rng.randint(0, log.size - 2)][12]])
    insert_row(forged_row(log, log.size + 1, link, rng))
    return log.size + 1


def t_rewrite(log: Log, rng: random.Random) -> int:
    """An edit, then every later link and hash recomputed to the head: only a signed checkpoint shows it.
    Named: the first checkpoint at or after the edit (the chain itself is consistent again)."""
    seq = rng.randint(1, log.signed_through)
    rows = [log.copy(n) for n in range(1, log.size + 1)]
    column = rng.choice(sorted(CONTENT_FIELDS))
    rows[seq - 1][CONTENT_FIELDS[column]] = _changed_value(column, rows[seq - 1][CONTENT_FIELDS[column]], rng)
    _set(seq, column, rows[seq - 1][CONTENT_FIELDS[column]])
    _rehash(rows, seq - 1, log.size)
    return min(cp_seq for _id, cp_seq, _hash, _sig in log.checkpoints if cp_seq >= seq)


def _checkpoint(log: Log, rng: random.Random) -> tuple:
    return rng.choice(log.checkpoints)


def t_checkpoint_column(log: Log, rng: random.Random, column: str) -> int:
    ident, seq, head_hash, signature = _checkpoint(log, rng)
    if column == "seq":
        seq = rng.choice([s for s in (seq - 1, seq + 1, seq - rng.randint(2, 200), log.size) if s > 0 and s != seq])
        value = seq
    elif column == "head_hash":
        value = rng.choice([_flip_hex(head_hash, rng), log.rows[rng.randint(0, log.size - 1)][12]])
        if value == head_hash:
            value = _flip_hex(head_hash, rng)
    elif column == "signature":
        value = _flip_hex(signature, rng)
    elif column == "created_at":
        execute("UPDATE audit_auditcheckpoint SET created_at = created_at + interval '1 second' WHERE id = %s", [ident])
        return seq
    else:  # key_id: claim another key (or the legacy derivation)
        value = rng.choice(["", "0123456789abcdef"])
    execute(f"UPDATE audit_auditcheckpoint SET {column} = %s WHERE id = %s", [value, ident])
    return seq


def t_checkpoint_forged(log: Log, rng: random.Random) -> int:
    """A checkpoint added over a real (seq, hash) pair: a made-up signature, one copied from a genuine
    checkpoint, or one made with a key we do not hold."""
    import hashlib
    import hmac
    from datetime import UTC, datetime

    from reviewqueue import keys
    from reviewqueue.audit.verify import checkpoint_signature

    seq = rng.randint(1, log.size)
    created_at = datetime.now(UTC)
    kind = rng.choice(["random", "copied", "other key"])
    if kind == "random":
        signature = f"{rng.getrandbits(256):064x}"
    elif kind == "copied":
        signature = _checkpoint(log, rng)[3]
    else:
        key = hmac.new(b"not our key", b"x", hashlib.sha256).digest()
        signature = checkpoint_signature(seq=seq, head_hash=log.rows[seq - 1][12], created_at=created_at, key=key)
    execute(
        "INSERT INTO audit_auditcheckpoint (seq, head_hash, created_at, signature, key_id) VALUES (%s, %s, %s, %s, %s)",
        [seq, log.rows[seq - 1][12], created_at, signature, keys.current_key(keys.AUDIT_SIGNING).id],
    )
    return seq


def _field(column):
    return functools.partial(t_field, column=column)


KINDS = {
    **{f"event.{column}": _field(column) for column in CONTENT_FIELDS},
    "event.seq": t_seq,
    "event.prev_hash": lambda log, rng: t_link(log, rng, "prev_hash"),
    "event.hash": lambda log, rng: t_link(log, rng, "hash"),
    "event edited, its hash recomputed": t_rehashed_edit,
    "rows: one deleted": t_delete_one,
    "rows: a range deleted": t_delete_range,
    "rows: the head cut": t_delete_head,
    "reorder: two events swapped": t_swap,
    "reorder: two hashes swapped": t_swap_hashes,
    "reorder: a block rotated": t_rotate,
    "forged event slipped in": t_insert_middle,
    "forged event in place of one": t_replace,
    "forged event appended, bad link": t_insert_tail,
    "chain rewritten to the head": t_rewrite,
    **{
        f"checkpoint.{column}": functools.partial(t_checkpoint_column, column=column)
        for column in ("seq", "head_hash", "signature", "created_at", "key_id")
    },
    "checkpoint forged": t_checkpoint_forged,
}


def group(kind: str) -> str:
    if kind.startswith("event"):
        return "event fields"
    if kind.startswith(("rows", "reorder")):
        return kind.split(":")[0].replace("rows", "deleted rows").replace("reorder", "reordered rows")
    if kind.startswith("forged event") or kind.startswith("chain"):
        return "forged or rewritten rows"
    return "checkpoints"
