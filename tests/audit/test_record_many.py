"""Appending several events at once: one chain, in order, the same as appending them one by one."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from reviewqueue.audit import services
from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor, AuditEntry, RequestOrigin, audit_record, audit_record_many
from reviewqueue.audit.verify import verify_chain

from .factories import ClockAt


def _entries(count: int, start: int = 0) -> list[AuditEntry]:
    return [
        AuditEntry(
            actor=Actor.system("test"),
            action="draft.received",
            target_type="draft",
            target_id=n,
            payload={"email_id": f"em_{n}", "reason": "ça va ✓" if n % 2 else ""},
            origin=RequestOrigin("2001:DB8::1" if n % 3 else None, "ua"),
        )
        for n in range(start, start + count)
    ]


def test_a_batch_is_appended_in_order_after_earlier_events(db):
    first = audit_record(actor=Actor.system("test"), action="thing.happened")
    events = audit_record_many(_entries(5))
    assert [event.seq for event in events] == [first.seq + n for n in range(1, 6)]
    assert events[0].prev_hash == first.hash
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert verify_chain().intact


def test_the_returned_events_are_what_was_stored(db):
    events = audit_record_many(_entries(4))
    stored = {event.seq: event for event in AuditEvent.objects.all()}
    for event in events:
        row = stored[event.seq]
        assert not event._state.adding
        fields = ("created_at", "actor_label", "action", "target_id", "payload", "ip", "user_agent", "prev_hash")
        assert [getattr(event, name) for name in fields] == [getattr(row, name) for name in fields]
        assert event.hash == row.hash


def test_a_batch_takes_one_lock_one_head_read_and_one_insert(db):
    with CaptureQueriesContext(connection) as queries:
        audit_record_many(_entries(50))
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]
    assert len(statements) == 2, statements
    assert "pg_advisory_xact_lock" in statements[0]


def test_an_empty_batch_writes_nothing(db):
    with CaptureQueriesContext(connection) as queries:
        assert audit_record_many([]) == []
    assert not queries.captured_queries


def test_a_failed_append_fails_the_change_it_records(db):
    with pytest.raises(Exception), transaction.atomic():  # noqa: B017 (the database's own error)
        audit_record_many([AuditEntry(actor=Actor.system("test"), action="x" * 65)])  # longer than the column
    assert not AuditEvent.objects.exists()


def test_concurrent_appenders_never_fork_the_chain(transactional_db):
    def append(worker: int) -> None:
        try:
            for n in range(10):
                if n % 2:
                    audit_record(actor=Actor.system(f"w{worker}"), action="thing.happened", target_id=n)
                else:
                    with transaction.atomic():
                        audit_record_many(_entries(3, start=worker * 100 + n))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = verify_chain()
    assert result.intact, result.summary()
    assert result.events_checked == 6 * (5 * 1 + 5 * 3)


def test_a_batch_larger_than_one_insert_is_one_chain(db):
    events = audit_record_many(_entries(2500))
    assert [event.seq for event in events] == list(range(1, 2501))
    assert verify_chain().events_checked == 2500
    assert verify_chain().intact


def test_time_never_goes_backwards_along_the_log_when_the_clock_does(db, monkeypatch, capsys):
    ahead = datetime.now(UTC) + timedelta(hours=1)  # a head written by a machine whose clock runs ahead
    monkeypatch.setattr(services, "datetime", ClockAt(ahead))
    head = audit_record(actor=Actor.system("test"), action="thing.happened")
    monkeypatch.undo()
    later = audit_record(actor=Actor.system("test"), action="thing.happened")
    batch = audit_record_many(_entries(3))
    assert head.created_at == ahead
    assert [event.created_at for event in (later, *batch)] == [ahead] * 4
    assert list(AuditEvent.objects.order_by("seq").values_list("created_at", flat=True)) == [ahead] * 5
    call_command("verify_audit")
    assert "audit log intact: 5 events checked, head #5" in capsys.readouterr().out


def test_events_after_a_head_in_the_past_take_the_present_time(db):
    first = audit_record(actor=Actor.system("test"), action="thing.happened")
    events = audit_record_many(_entries(3))
    times = [first.created_at, *(event.created_at for event in events)]
    assert times == sorted(times) and times[-1] > first.created_at
    assert verify_chain().intact
