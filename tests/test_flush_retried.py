"""The between-test flush survives a deadlock with a process still writing (tests/conftest.py).

Another connection, as a live system's worker would be, holds a row lock on a table the flush's TRUNCATE
takes late, and then writes a table the TRUNCATE already holds: PostgreSQL finds the deadlock and cancels
the TRUNCATE (it waited first). Retried, the flush empties every table once that writer commits.
"""

import threading

import psycopg
import pytest
from django.core.management.color import no_style
from django.db import connection

from reviewqueue.routing.models import Mailbox
from tests.livesystem import database_url, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_flush_that_deadlocks_with_a_writer_goes_through_once_the_writer_commits(django_user_model):
    tables = sorted(connection.introspection.django_table_names(only_existing=True, include_views=False))
    first, last = tables[0], tables[-1]  # the TRUNCATE locks them in its own order: hold one, wait on another
    Mailbox.objects.create(mailbox_id="mb_left", address="left@acme.multimail.dev", oversight_mode="gated_send")
    django_user_model.objects.create(username="rita")
    with psycopg.connect(database_url(connection.settings_dict)) as writer:
        writer.execute(f'LOCK TABLE "{last}" IN ROW EXCLUSIVE MODE')
        flushed = threading.Thread(target=_flush, args=(tables,))
        flushed.start()
        _wait_until_blocked(writer)
        writer.execute(f'LOCK TABLE "{first}" IN ROW EXCLUSIVE MODE')  # waits on the TRUNCATE: a deadlock
        writer.commit()
        flushed.join(timeout=30)
    assert not flushed.is_alive()
    assert not Mailbox.objects.exists()
    assert not django_user_model.objects.exists()


def _flush(tables: list[str]) -> None:
    """What Django's flush runs (its TRUNCATE of every table), on this thread's own connection."""
    try:
        connection.ops.execute_sql_flush(connection.ops.sql_flush(no_style(), tables))
    finally:
        connection.close()


def _wait_until_blocked(writer) -> None:
    """Until another backend waits on a lock `writer` holds (the TRUNCATE has the tables before it)."""

    def blocked() -> int:
        writer.execute("SELECT pg_stat_clear_snapshot()")  # else the transaction sees its first look again
        return writer.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
        ).fetchone()[0]

    wait_for(blocked, timeout=10, what="the flush waiting on the writer's lock", interval=0.05)
