"""Completing an intake after its send in one round trip: the draft, its two audit events, the record.

Through review's and audit's writers that is four statements, each a round trip under the audit
log's append lock: the draft's INSERT, the lock with the chain's head, the events' INSERT, the
record's UPDATE. Here the same four go to PostgreSQL as one string of statements:

1. the draft's INSERT (review.ingest.draft_insert_statement), and only when it inserted, the append
   lock (audit's APPEND_LOCK_ID), in one statement;
2. the events' INSERT, reading the head in its own statement, so after the lock (READ COMMITTED
   takes a snapshot per statement), and hashing each event in SQL from the pieces audit encodes
   (audit_entry_encode: everything but the seq, the time, the previous hash and here the draft's
   id): the same bytes audit.chain.UnchainedEvent.hash gives, so verify_audit checks them as any
   other; the time is the later of now and the head's, as audit_record_many has it;
3. the record's UPDATE.

Statements 2 and 3 act only on a draft this string inserted: the one whose id is the draft id
sequence's current value in this session (an INSERT that met an existing email_id still drew a
value, which no row has). When the email had a draft already (the poll or a webhook was first),
nothing is locked or written and write() answers None: the caller takes review's path for it.
"""

from __future__ import annotations

import functools
from datetime import datetime
from json.encoder import encode_basestring

from django.db import connection

from reviewqueue.audit.chain import GENESIS_HASH
from reviewqueue.audit.services import APPEND_LOCK_ID, AuditEntry, audit_entry_encode

# The draft's id in an event's target before it is known; replaced in SQL.
DRAFT_ID = "{draft-id}"
_QUOTED_DRAFT_ID = encode_basestring(DRAFT_ID)
_AUDIT_COLUMNS = (
    "seq, created_at, actor_type, actor_id, actor_label, action, target_type, target_id,"
    " payload, ip, user_agent, prev_hash, hash"
)
# audit.verify's text of created_at: Python's isoformat of the UTC time, microseconds, "+00:00".
_TIME_TEXT = """to_char(x.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""
_OURS = "SELECT id FROM review_draft WHERE id = currval(pg_get_serial_sequence('review_draft', 'id')) AND email_id = %s"


@functools.cache
def _events_sql(count: int) -> str:
    """The events' INSERT for `count` events of the draft this session just inserted, chained in order."""
    ctes = [
        "h AS (SELECT seq, hash, created_at FROM audit_auditevent ORDER BY seq DESC LIMIT 1)",
        "e0 AS MATERIALIZED (SELECT COALESCE((SELECT seq FROM h), 0) AS seq,"  # noqa: S608
        " COALESCE((SELECT created_at FROM h), '-infinity'::timestamptz) AS at,"
        " COALESCE((SELECT hash FROM h), %s) AS hash, d.id::text AS id FROM (" + _OURS + ") d)",
    ]
    selects = []
    for n in range(1, count + 1):
        # Pieces in order: before the time, before the previous hash, the target up to the id, after it.
        document = (
            f"%s || '\"' || {_TIME_TEXT} || '\"' || %s || '\"' || x.prev || '\",\"seq\":' || x.seq"
            " || %s || '\"' || x.id || '\"' || %s"
        )
        ctes.append(
            f"e{n} AS MATERIALIZED (SELECT x.seq, x.at, x.prev, x.id,"  # noqa: S608
            f" encode(sha256(convert_to({document}, 'UTF8')), 'hex') AS hash"
            f" FROM (SELECT p.seq + 1 AS seq, greatest(clock_timestamp(), p.at) AS at, p.hash AS prev, p.id"
            f" FROM e{n - 1} p) x)"
        )
        selects.append(f"SELECT seq, at, %s, %s, %s, %s, %s, id, %s::jsonb, %s::inet, %s, prev, hash FROM e{n}")  # noqa: S608
    return f"WITH {', '.join(ctes)} INSERT INTO audit_auditevent ({_AUDIT_COLUMNS}) " + " UNION ALL ".join(selects)


def _event_params(entries: list[AuditEntry]) -> tuple[list, list]:
    """(the hash pieces of each event, in _events_sql's order; the columns of each event)."""
    pieces, columns = [], []
    for entry in entries:
        prepared = audit_entry_encode(entry)
        unchained = prepared.unchained
        target, after = unchained.after_seq.split(_QUOTED_DRAFT_ID, 1)
        pieces.append((unchained.before_created_at, unchained.before_prev_hash, target, after))
        actor_type, actor_id, actor_label, action, target_type, _ = prepared.fields
        columns.append(
            (
                actor_type,
                actor_id,
                actor_label,
                action,
                target_type,
                prepared.payload_json,
                prepared.ip,
                prepared.user_agent,
            )
        )
    return pieces, columns


def write(
    *,
    draft_insert: tuple[str, list],
    email_id: str,
    entries: list[AuditEntry],
    record_id: int,
    mailbox_id: str,
    routing_version_id: int | None,
    completed_at: datetime,
) -> int | None:
    """Insert the draft, append `entries` (their target id DRAFT_ID: the new draft's) and complete the
    record, in one round trip inside the caller's transaction; the new draft's id, or None when `email_id`
    had a draft already (then nothing was written)."""
    insert_sql, insert_params = draft_insert
    pieces, columns = _event_params(entries)
    sql = "; ".join(
        (
            f"WITH d AS ({insert_sql}) SELECT d.id, pg_advisory_xact_lock(%s) FROM d",  # noqa: S608
            _events_sql(len(entries)),
            "UPDATE routing_intakerecord SET email_id = %s, mailbox_id = %s, routing_version_id = %s,"  # noqa: S608
            f" draft_id = d.id, completed_at = %s FROM ({_OURS}) d WHERE routing_intakerecord.id = %s",
        )
    )
    params = [*insert_params, APPEND_LOCK_ID, GENESIS_HASH, email_id]
    for piece in pieces:
        params.extend(piece)
    for column in columns:
        params.extend(column)
    params += [email_id, mailbox_id, routing_version_id, completed_at, email_id, record_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = cursor.fetchone()
    return None if inserted is None else inserted[0]
