"""Seeding a varied audit log and tampering with it at the database (triggers dropped in the test transaction)."""

import json
import random
from datetime import timedelta

from django.db import connection

from reviewqueue.audit.services import Actor, RequestOrigin, audit_record
from reviewqueue.audit.verify import COLUMNS, row_hash

ACTIONS = ["draft.received", "draft.claimed", "draft.decided", "decide.sent", "role.granted", "export.made"]
ORIGINS = [RequestOrigin("10.0.0.7", "Firefox/140"), RequestOrigin("2001:db8::1", "curl/8"), RequestOrigin()]


def seed_log(count: int, *, seed: int = 7) -> None:
    rng = random.Random(seed)
    for n in range(count):
        audit_record(
            actor=rng.choice([Actor("person", str(n % 5), f"user{n % 5}"), Actor.system("poller")]),
            action=rng.choice(ACTIONS),
            target_type="draft",
            target_id=rng.randrange(1, 50),
            payload={
                "reason": rng.choice(["Looks right", "Wrong refund amount", "Tone: ça va? ✓", ""]),
                "n": n,
                "score": rng.random(),
                "nested": {"to": ["a@example.com"], "flag": rng.random() < 0.5, "none": None},
            },
            origin=rng.choice(ORIGINS),
        )


def drop_triggers() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER audit_event_no_update_or_delete ON audit_auditevent")


def execute(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def fetch_row(seq: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(COLUMNS)} FROM audit_auditevent WHERE seq = %s", [seq])
        row = list(cursor.fetchone())
    row[8] = json.loads(row[8])  # raw cursors hand jsonb over as text
    return tuple(row)


def insert_row(row: tuple) -> None:
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    values = list(row)
    values[8] = _json(values[8])
    execute(f"INSERT INTO audit_auditevent ({', '.join(COLUMNS)}) VALUES ({placeholders})", values)


def _json(value):
    from psycopg.types.json import Jsonb

    return Jsonb(value)


def flip_hex(value: str, rng: random.Random) -> str:
    position = rng.randrange(len(value))
    flipped = format(int(value[position], 16) ^ (1 << rng.randrange(4)), "x")
    return value[:position] + flipped + value[position + 1 :]


def forged_row(*, seq: int, prev_hash: str, like: tuple) -> tuple:
    """A well-formed event (its own hash is right) that was never written by audit_record."""
    row = list(like)
    row[0], row[1], row[5], row[11] = seq, like[1] + timedelta(microseconds=1), "role.granted", prev_hash
    row[8] = {"reason": "forged", "role": "admin"}
    row[12] = row_hash(tuple(row))
    return tuple(row)


def edit_field(seq: int, rng: random.Random) -> str:
    """Change one field of one event in place; returns the field's name."""
    field = rng.choice(
        ["action", "actor_label", "actor_id", "target_id", "user_agent", "created_at", "ip", "payload", "reason_bit"]
    )
    if field == "created_at":
        execute("UPDATE audit_auditevent SET created_at = created_at + interval '1 microsecond' WHERE seq = %s", [seq])
    elif field == "ip":
        swap = "CASE WHEN ip = '192.0.2.1'::inet THEN '192.0.2.2'::inet ELSE '192.0.2.1'::inet END"
        execute(f"UPDATE audit_auditevent SET ip = {swap} WHERE seq = %s", [seq])
    elif field == "payload":
        execute("UPDATE audit_auditevent SET payload = payload || '{\"approved\": true}'::jsonb WHERE seq = %s", [seq])
    elif field == "reason_bit":
        reason = fetch_row(seq)[8]["reason"] or "x"
        position = rng.randrange(len(reason))
        flipped = reason[:position] + chr(ord(reason[position]) ^ (1 << rng.randrange(5))) + reason[position + 1 :]
        if flipped == reason:
            flipped += "!"
        execute(
            "UPDATE audit_auditevent SET payload = jsonb_set(payload, '{reason}', to_jsonb(%s::text)) WHERE seq = %s",
            [flipped, seq],
        )
    else:
        execute(f"UPDATE audit_auditevent SET {field} = {field} || 'x' WHERE seq = %s", [seq])
    return field
