"""verify_chain names the first bad event of a tampered log, and never fails a clean one."""

import random

from django.db import transaction

from reviewqueue.audit.models import AuditCheckpoint
from reviewqueue.audit.services import Actor, RequestOrigin, audit_checkpoint_store, audit_record
from reviewqueue.audit.verify import Problem, verify_chain

from .chain_helpers import (
    drop_triggers,
    edit_field,
    execute,
    fetch_row,
    flip_hex,
    forged_row,
    insert_row,
    seed_log,
)

SIZE = 200


class Rollback(Exception):
    pass


def _tamper(kind: str, rng: random.Random) -> tuple[Problem, int]:
    """Apply one tamper; return what verification must report (problem, first bad seq)."""
    if kind == "edit":
        seq = rng.randint(1, SIZE)
        edit_field(seq, rng)
        return Problem.CHANGED, seq
    if kind in ("flip_hash", "flip_prev_hash"):
        seq = rng.randint(1, SIZE)
        column = kind.removeprefix("flip_")
        value = fetch_row(seq)[12 if column == "hash" else 11]
        execute(f"UPDATE audit_auditevent SET {column} = %s WHERE seq = %s", [flip_hex(value, rng), seq])
        return Problem.CHANGED, seq
    if kind == "delete":
        seq = rng.randint(1, SIZE)
        execute("DELETE FROM audit_auditevent WHERE seq = %s", [seq])
        return (Problem.TRUNCATED if seq == SIZE else Problem.MISSING), seq
    if kind == "truncate_tail":
        seq = rng.randint(1, SIZE)
        execute("DELETE FROM audit_auditevent WHERE seq >= %s", [seq])
        return Problem.TRUNCATED, seq
    if kind == "insert_middle":
        seq = rng.randint(1, SIZE)
        before = fetch_row(seq - 1)[12] if seq > 1 else "0" * 64
        like = fetch_row(seq)
        execute("UPDATE audit_auditevent SET seq = -seq WHERE seq >= %s", [seq])
        execute("UPDATE audit_auditevent SET seq = -seq + 1 WHERE seq < 0")
        insert_row(forged_row(seq=seq, prev_hash=before, like=like))
        return Problem.INSERTED, seq
    if kind == "insert_tail":
        link = rng.choice(["f" * 64, fetch_row(rng.randint(1, SIZE - 1))[12]])
        insert_row(forged_row(seq=SIZE + 1, prev_hash=link, like=fetch_row(SIZE)))
        return Problem.INSERTED, SIZE + 1
    if kind == "swap":
        first, second = sorted(rng.sample(range(1, SIZE + 1), 2))
        execute("UPDATE audit_auditevent SET seq = -1 WHERE seq = %s", [first])
        execute("UPDATE audit_auditevent SET seq = %s WHERE seq = %s", [first, second])
        execute("UPDATE audit_auditevent SET seq = %s WHERE seq = -1", [second])
        return Problem.REORDERED, first
    raise AssertionError(kind)


KINDS = ["edit", "flip_hash", "flip_prev_hash", "delete", "truncate_tail", "insert_middle", "insert_tail", "swap"]


def test_a_thousand_random_tampers_are_each_detected_and_the_first_bad_event_named(db):
    seed_log(SIZE)
    audit_checkpoint_store()
    assert verify_chain().intact
    drop_triggers()
    rng = random.Random(20261125)
    seen = set()
    for attempt in range(1000):
        kind = rng.choice(KINDS)
        try:
            with transaction.atomic():
                expected = _tamper(kind, rng)
                result = verify_chain(batch_size=64)
                assert (result.problem, result.first_bad_seq) == expected, (attempt, kind, result)
                raise Rollback
        except Rollback:
            seen.add(kind)
    assert seen == set(KINDS)
    assert verify_chain().intact  # every tamper was rolled back


def test_clean_logs_of_many_sizes_never_fail(db):
    for size in (1, 2, 3, 17):
        seed_log(size, seed=size)
        assert verify_chain(batch_size=4).intact
        audit_checkpoint_store()
        result = verify_chain(batch_size=5)
        assert result.intact, result
    assert result.events_checked == 1 + 2 + 3 + 17


def test_an_empty_log_is_intact(db):
    result = verify_chain()
    assert result.intact and result.events_checked == 0 and result.head_seq is None


def test_ipv6_addresses_verify_after_the_database_normalises_them(db):
    audit_record(actor=Actor.system("t"), action="login", origin=RequestOrigin("2001:DB8:0:0:0:0:0:1", "ua"))
    audit_record(actor=Actor.system("t"), action="login", origin=RequestOrigin("not an address", "ua"))
    assert verify_chain().intact


def test_a_forged_checkpoint_is_reported(db):
    seed_log(5)
    genuine = audit_checkpoint_store()
    # Checkpoints cannot be edited (a trigger refuses), but one can be added with a made-up signature.
    AuditCheckpoint.objects.create(
        seq=4, head_hash=genuine.head_hash, created_at=genuine.created_at, signature="0" * 64
    )
    result = verify_chain()
    assert (result.problem, result.first_bad_seq) == (Problem.CHECKPOINT_FORGED, 4)


def test_a_chain_rewritten_consistently_is_caught_by_the_checkpoint(db):
    seed_log(6)
    audit_checkpoint_store()
    drop_triggers()
    # Re-hash the whole chain after editing event 2, as an attacker with database access could.
    from reviewqueue.audit.chain import GENESIS_HASH
    from reviewqueue.audit.verify import row_hash

    execute("UPDATE audit_auditevent SET action = 'forged' WHERE seq = 2")
    previous = GENESIS_HASH
    for seq in range(1, 7):
        row = list(fetch_row(seq))
        row[11] = previous
        previous = row_hash(tuple(row))
        execute("UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE seq = %s", [row[11], previous, seq])
    result = verify_chain()
    assert (result.problem, result.first_bad_seq) == (Problem.CHECKPOINT_MISMATCH, 6)


def test_outside_a_transaction_the_walk_reads_ahead_on_a_second_connection(transactional_db):
    from reviewqueue.audit.verify import iter_chain_rows

    seed_log(30)
    ahead = list(iter_chain_rows(batch_size=7, prefetch=True))
    assert ahead == list(iter_chain_rows(batch_size=7, prefetch=False))
    assert [row[0] for row in ahead] == list(range(1, 31))
    result = verify_chain(batch_size=7)
    assert result.intact and result.events_checked == 30
    walk = iter_chain_rows(batch_size=4, prefetch=True)
    assert [next(walk)[0] for _ in range(3)] == [1, 2, 3]
    walk.close()  # stopping early (a bad event found) leaves no reader thread behind


def _rewrite_in_place(seq: int) -> None:
    """Edit one event and recompute its own hash (the encoding is public), leaving its link as it was."""
    from reviewqueue.audit.verify import row_hash

    row = list(fetch_row(seq))
    row[8] = {**row[8], "reason": "approved by the admin"}
    row[12] = row_hash(tuple(row))
    execute("DELETE FROM audit_auditevent WHERE seq = %s", [seq])
    insert_row(tuple(row))


def test_an_event_edited_with_its_hash_recomputed_is_named_not_the_genuine_event_after_it(db):
    # Only the next event's link shows the edit; while the chain goes on through that next event,
    # the rewritten one is the event before it (it used to be reported as "#seq+1 inserted").
    seed_log(12)
    drop_triggers()
    for seq in (1, 5, 10):
        with transaction.atomic():
            _rewrite_in_place(seq)
            result = verify_chain()
            assert (result.problem, result.first_bad_seq) == (Problem.CHANGED, seq), result
            transaction.set_rollback(True)


def test_at_the_head_a_checkpoint_tells_which_of_the_last_two_events_was_rewritten(db):
    seed_log(12)
    audit_checkpoint_store()  # signs #12
    audit_record(actor=Actor.system("t"), action="login")  # #13, the head
    drop_triggers()
    with transaction.atomic():
        _rewrite_in_place(12)
        result = verify_chain()
        assert (result.problem, result.first_bad_seq) == (Problem.CHANGED, 12), result
        transaction.set_rollback(True)
    # Signed as it is, #12 stands: a head that links nowhere is the one slipped in.
    execute("UPDATE audit_auditevent SET prev_hash = %s WHERE seq = 13", ["f" * 64])
    row = list(fetch_row(13))
    from reviewqueue.audit.verify import row_hash

    execute("UPDATE audit_auditevent SET hash = %s WHERE seq = 13", [row_hash(tuple(row))])
    result = verify_chain()
    assert (result.problem, result.first_bad_seq) == (Problem.INSERTED, 13), result
