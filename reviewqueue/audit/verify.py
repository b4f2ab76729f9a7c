"""Verifying the audit chain: one core walk over rows in seq order, used by the command, the task and the tests.

The walk holds only the previous two rows, so it runs in constant memory over any number of events.
It stops at the first bad event and says why:
- changed:   the row's hash does not match its content (a field, the hash or the link was edited),
             or it was rewritten with its hash recomputed (the next row's link no longer reaches it);
- missing:   a seq number is absent (a row was deleted);
- reordered: the row is intact but was written at another place in the chain;
- inserted:  the row is not part of the chain that was written (its link skips it or points nowhere);
- truncated: the log ends before a signed checkpoint;
- checkpoint_mismatch / checkpoint_forged: a checkpoint no longer matches the chain / is not ours.

A checkpoint names the key that signed it (its key id, reviewqueue/keys.py): after a rotation the
retired key, still listed in a *_FALLBACKS setting, verifies it. Checkpoints signed before keys had
ids carry an empty one and are checked against the older derivation.
"""

import contextlib
import hashlib
import hmac
import json
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.db import connection

from reviewqueue import keys
from reviewqueue.audit.chain import GENESIS_HASH, event_hash

# The column order of a chain row, as the append writes it and the walk reads it (and as the tests build rows).
COLUMNS = (
    "seq",
    "created_at",
    "actor_type",
    "actor_id",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "payload",
    "ip",
    "user_agent",
    "prev_hash",
    "hash",
)
# PostgreSQL formats created_at as Python's isoformat would (UTC): cheaper than building datetimes.
_CREATED_AT_TEXT = """to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""
_WALK_COLUMNS = ", ".join(_CREATED_AT_TEXT if column == "created_at" else column for column in COLUMNS)
_SELECT = f"SELECT {_WALK_COLUMNS} FROM audit_auditevent WHERE seq > %s ORDER BY seq LIMIT %s"  # noqa: S608
_LOCATE = f"SELECT {_WALK_COLUMNS} FROM audit_auditevent WHERE hash = %s"  # noqa: S608

ChainRow = tuple  # the values of COLUMNS, in order


class Problem(StrEnum):
    CHANGED = "changed"
    MISSING = "missing"
    REORDERED = "reordered"
    INSERTED = "inserted"
    TRUNCATED = "truncated"
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"
    CHECKPOINT_FORGED = "checkpoint_forged"


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    head_hash: str
    created_at: datetime
    signature: str
    key_id: str = ""


@dataclass(frozen=True)
class VerificationResult:
    events_checked: int
    head_seq: int | None
    head_hash: str | None
    first_bad_seq: int | None = None
    problem: Problem | None = None
    detail: str = ""

    @property
    def intact(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        if self.intact:
            head = f"head #{self.head_seq} {self.head_hash}" if self.head_seq else "empty log"
            return f"audit log intact: {self.events_checked} events checked, {head}"
        return f"audit log BROKEN at event #{self.first_bad_seq}: {self.problem}: {self.detail}"


def checkpoint_signature(*, seq: int, head_hash: str, created_at: datetime, key: bytes) -> str:
    message = f"reviewqueue-audit-checkpoint\n{seq}\n{head_hash}\n{created_at.isoformat(timespec='microseconds')}"
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def checkpoint_keys() -> dict[str, list[bytes]]:
    """Key id → the secrets that may have signed a checkpoint carrying it: the current and retired keys,
    and under the empty id the material itself (how checkpoints were signed before keys had ids)."""
    held = [keys.current_key(keys.AUDIT_SIGNING), *keys.retired_keys(keys.AUDIT_SIGNING)]
    by_id = {key.id: [key.secret] for key in held}
    by_id[""] = [key.secret for key in keys.legacy_audit_signing_keys()]
    return by_id


def _signed_by_us(checkpoint: Checkpoint, signing_keys: Mapping[str, Sequence[bytes]]) -> bool:
    return any(
        hmac.compare_digest(
            checkpoint_signature(
                seq=checkpoint.seq, head_hash=checkpoint.head_hash, created_at=checkpoint.created_at, key=secret
            ),
            checkpoint.signature,
        )
        for secret in signing_keys.get(checkpoint.key_id, ())
    )


def row_hash(row: ChainRow, *, seq: int | None = None) -> str:
    """The hash a row's content should carry (optionally as if it had been written at `seq`)."""
    payload = row[8]
    if isinstance(payload, str):  # raw cursors hand jsonb over as its text
        payload = json.loads(payload)
    return event_hash(
        seq=row[0] if seq is None else seq,
        created_at=row[1],
        actor_type=row[2],
        actor_id=row[3],
        actor_label=row[4],
        action=row[5],
        target_type=row[6],
        target_id=row[7],
        payload=payload,
        ip=row[9],
        user_agent=row[10],
        prev_hash=row[11],
    )


def verify_rows(
    rows: Iterable[ChainRow],
    *,
    checkpoints: Sequence[Checkpoint] = (),
    locate: Callable[[str], ChainRow | None] = lambda _hash: None,
) -> VerificationResult:
    """Walk rows in seq order. `locate(hash)` finds the row holding a hash (used only to explain a
    break); `checkpoints` are checked for their signature and against the chain."""
    signing_keys = checkpoint_keys()
    expected = {}
    for checkpoint in checkpoints:
        if not _signed_by_us(checkpoint, signing_keys):
            return VerificationResult(
                0,
                None,
                None,
                checkpoint.seq,
                Problem.CHECKPOINT_FORGED,
                f"checkpoint at #{checkpoint.seq} is not signed by any key we hold (key id {checkpoint.key_id!r})",
            )
        expected[checkpoint.seq] = checkpoint.head_hash

    count = 0
    next_seq = 1
    prev_hash = GENESIS_HASH  # the stored hash of the previous row
    prev_link = None  # the stored prev_hash of the previous row
    prev_seq = None
    mismatch = None  # the seq of a checkpoint the chain no longer matches
    rows = iter(rows)
    for row in rows:
        seq, link, stored = row[0], row[11], row[12]
        if seq != next_seq:
            gap = f"#{next_seq}" if seq == next_seq + 1 else f"#{next_seq}..#{seq - 1}"
            return _broken(count, prev_seq, prev_hash, next_seq, Problem.MISSING, f"{gap} missing before #{seq}")
        linked = link == prev_hash
        intact = row_hash(row) == stored
        if not (linked and intact):
            if not linked and intact and _previous_rewritten(row, prev_seq, prev_hash, expected, rows):
                detail = f"#{seq} links to another #{prev_seq}: it was rewritten and its hash recomputed"
                return _broken(count, prev_seq, prev_hash, prev_seq, Problem.CHANGED, detail)
            return _explain(row, count, prev_seq, prev_hash, prev_link, linked, intact, locate)
        if mismatch is not None:
            return _mismatch(count, prev_seq, prev_hash, mismatch)
        if seq in expected and expected[seq] != stored:
            # Reported after one more row: a row slipped in just here is better named by the next row's link.
            mismatch = seq
        count += 1
        next_seq = seq + 1
        prev_link, prev_hash, prev_seq = link, stored, seq

    if mismatch is not None:
        return _mismatch(count, prev_seq, prev_hash, mismatch)
    last_checkpoint = max(expected, default=None)
    if last_checkpoint is not None and (prev_seq or 0) < last_checkpoint:
        return _broken(
            count,
            prev_seq,
            prev_hash,
            (prev_seq or 0) + 1,
            Problem.TRUNCATED,
            f"the log ends at #{prev_seq or 0} but a checkpoint holds #{last_checkpoint}",
        )
    return VerificationResult(count, prev_seq, prev_hash if prev_seq else None)


def _explain(row, count, prev_seq, prev_hash, prev_link, linked, intact, locate) -> VerificationResult:
    seq, link = row[0], row[11]
    if not linked and prev_seq is not None and link == prev_link:
        # This row links to the row before the previous one: the previous row was slipped in.
        return _broken(
            count, prev_seq, prev_hash, prev_seq, Problem.INSERTED, f"#{seq} links past it to the event before"
        )
    if not linked:
        written_as = _written_seq(row, locate, depth=3)
        if written_as is not None and written_as != seq:
            return _broken(
                count, prev_seq, prev_hash, seq, Problem.REORDERED, f"it was written as #{written_as}, not here"
            )
        if intact:
            return _broken(
                count,
                prev_seq,
                prev_hash,
                seq,
                Problem.INSERTED,
                "its hash is sound but it links to no event before it",
            )
    return _broken(count, prev_seq, prev_hash, seq, Problem.CHANGED, "its content no longer matches its hash")


def _previous_rewritten(row, prev_seq, prev_hash, expected, rows: Iterator[ChainRow]) -> bool:
    """A sound row that does not link to the sound row before it: which of the two was forged? The
    earlier one, when a checkpoint signed another hash at its place, or (no checkpoint there) when
    the chain goes on through this row (the next row links to it). Reads one row ahead; the walk
    stops here either way."""
    if prev_seq is None or prev_seq in expected:
        return prev_seq is not None and expected[prev_seq] != prev_hash
    after = next(rows, None)
    return after is not None and after[0] == row[0] + 1 and after[11] == row[12]


def _written_seq(row, locate, *, depth: int) -> int | None:
    """The seq a row was written at, found through the event its link points to (which may have moved too)."""
    if row_hash(row) == row[12]:
        return row[0]
    if row[11] == GENESIS_HASH:
        candidate = 1
    else:
        before = locate(row[11]) if depth > 0 else None
        before_seq = _written_seq(before, locate, depth=depth - 1) if before is not None else None
        if before_seq is None:
            return None
        candidate = before_seq + 1
    return candidate if row_hash(row, seq=candidate) == row[12] else None


def _mismatch(count, head_seq, head_hash, seq) -> VerificationResult:
    detail = f"the chain was rewritten up to #{seq}: it no longer holds the checkpointed hash"
    return _broken(count, head_seq, head_hash, seq, Problem.CHECKPOINT_MISMATCH, detail)


def _broken(count, head_seq, head_hash, first_bad_seq, problem, detail) -> VerificationResult:
    return VerificationResult(count, head_seq, head_hash if head_seq else None, first_bad_seq, problem, detail)


# --- The database walk ----------------------------------------------------------------------------


def _chain_batches(*, batch_size: int) -> Iterator[list[ChainRow]]:
    """Every event in seq order, by keyset pages: constant memory, no long-lived cursor."""
    from django.db import connections

    after = 0
    while True:
        with connections["default"].cursor() as cursor:
            cursor.execute(_SELECT, [after, batch_size])
            batch = cursor.fetchall()
        if batch:
            yield batch
        if len(batch) < batch_size:
            return
        after = batch[-1][0]


def iter_chain_rows(*, batch_size: int = 5000, prefetch: bool | None = None) -> Iterator[ChainRow]:
    """Every event in seq order. Outside a transaction the next page is read on a second connection
    while this one is being hashed (two pages in memory at most); inside one (tests, or a caller's
    atomic block) the pages are read on this connection, which alone sees its uncommitted rows."""
    if prefetch is None:
        prefetch = not connection.in_atomic_block
    if not prefetch:
        for batch in _chain_batches(batch_size=batch_size):
            yield from batch
        return
    pages: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()
    reader = threading.Thread(target=_read_ahead, args=(pages, stop, batch_size), daemon=True)
    reader.start()
    try:
        while (item := pages.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        stop.set()
        while reader.is_alive():  # unblock a reader waiting on a full queue, then let it finish
            with contextlib.suppress(queue.Empty):
                pages.get(timeout=0.05)
        reader.join()


_DONE = object()


def _read_ahead(pages: queue.Queue, stop: threading.Event, batch_size: int) -> None:
    from django.db import connections

    try:
        for batch in _chain_batches(batch_size=batch_size):
            if stop.is_set():
                return
            pages.put(batch)
        pages.put(_DONE)
    except Exception as error:
        pages.put(error)
    finally:
        connections["default"].close()  # this thread's own connection


def stored_checkpoints() -> list[Checkpoint]:
    from reviewqueue.audit.models import AuditCheckpoint

    return [
        Checkpoint(c.seq, c.head_hash, c.created_at, c.signature, c.key_id)
        for c in AuditCheckpoint.objects.order_by("seq")
    ]


def _locate_in_database(hash_value: str) -> ChainRow | None:
    with connection.cursor() as cursor:
        cursor.execute(_LOCATE, [hash_value])
        return cursor.fetchone()


def verify_chain(*, batch_size: int = 5000) -> VerificationResult:
    """Verify the stored log against itself and every stored checkpoint."""
    return verify_rows(
        iter_chain_rows(batch_size=batch_size), checkpoints=stored_checkpoints(), locate=_locate_in_database
    )
