"""One SLA sweep (escalate overdue drafts, re-drive, expire) as the queue grows: wall time and SQL queries.

    .venv/bin/python bench/sla_sweep.py            # 1,000 pending drafts (50 overdue), then 10,000 (500 overdue)
    .venv/bin/python bench/sla_sweep.py --quick    # 100 (5 overdue), then 1,000 (50 overdue)

Seeds its own database (DATABASE_URL's name + "_sla_sweep", dropped and made afresh): five mailboxes,
each with a policy (target 30m, expiry 30d, a Slack webhook and an email address), and pending drafts
spread over them, one in twenty past the target. Then one sweep runs, counted with Django's
CaptureQueriesContext: it claims the overdue drafts, writes two deliveries each (Slack, email) and
one audit event each, and queues the messages (to a broker queue of its own, emptied afterwards: no
message is sent). The query count must not grow with the number of drafts (target: the same at both
sizes); a second sweep, with nothing left to escalate, is measured too.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))

from _db import bench_database_url, drop_database, recreate_database  # noqa: E402
from _report import report  # noqa: E402

MAILBOXES = 5
OVERDUE_SHARE = 20  # one draft in 20 is past its target
BENCH_QUEUE = "bench-sla-sweep"


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789abcdef")
    os.environ["CALLBACK_ALLOW_PRIVATE_NETWORKS"] = "1"  # the policies' Slack URL is a loopback one: never called
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewqueue.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from reviewqueue.celery import app

    app.conf.task_default_queue = BENCH_QUEUE  # the sweep's messages go where no worker listens; emptied below
    call_command("migrate", verbosity=0)


def seed_policies() -> None:
    from datetime import timedelta

    from reviewqueue.audit.services import Actor
    from reviewqueue.sla.policy import PolicyChanges, policy_set

    for n in range(MAILBOXES):
        changes = PolicyChanges(
            target=timedelta(minutes=30),
            expiry=timedelta(days=30),
            slack_webhook_url="https://127.0.0.1/services/T0/B0/bench",
            notify_emails=[f"leads{n}@ours.example"],
        )
        policy_set(mailbox_id=f"mbx_{n}", changes=changes, actor=Actor.system("bench"))


def seed_drafts(count: int) -> int:
    """`count` pending drafts, one in OVERDUE_SHARE past the target; returns how many are overdue."""
    from datetime import timedelta

    from django.utils import timezone

    from reviewqueue.review.models import Draft

    now = timezone.now()
    overdue = 0
    rows = []
    for n in range(count):
        late = n % OVERDUE_SHARE == 0
        overdue += late
        waited = timedelta(minutes=31 + n % 600) if late else timedelta(seconds=n % 1700)
        rows.append(
            Draft(
                email_id=f"em_bench_{n}",
                mailbox_id=f"mbx_{n % MAILBOXES}",
                mailbox_address=f"box{n % MAILBOXES}@ours.example",
                source="poll",
                subject=f"Order {n}",
                to=[f"customer{n}@example.com"],
                fetched_at=now,
                received_at=now - waited,
                waiting_since=now - waited,
            )
        )
    Draft.objects.bulk_create(rows, batch_size=2000)
    return overdue


def reset() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE sla_escalationdelivery, sla_escalation")
        cursor.execute("DELETE FROM review_draft")  # TRUNCATE would reach the decisions, which refuse it


def sweep_measured() -> tuple[float, int, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reviewqueue.sla.sweep import sla_sweep

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = sla_sweep()
        elapsed = time.perf_counter() - started
    return elapsed, len(queries), result


def empty_bench_queue() -> None:
    from reviewqueue.celery import app

    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(BENCH_QUEUE)


def measure(count: int) -> dict:
    reset()
    overdue = seed_drafts(count)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE review_draft")
    elapsed, queries, result = sweep_measured()
    assert result.escalated == overdue, (result, overdue)
    idle_elapsed, idle_queries, idle = sweep_measured()
    assert idle.escalated == 0
    empty_bench_queue()
    print(f"{count} drafts, {overdue} overdue: {result}; {elapsed * 1000:.0f} ms, {queries} queries;"
          f" again: {idle_elapsed * 1000:.1f} ms, {idle_queries} queries")  # fmt: skip
    return {"count": count, "overdue": overdue, "s": elapsed, "queries": queries, "idle_ms": idle_elapsed * 1000,
            "idle_queries": idle_queries}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 then 1,000 drafts")
    parser.add_argument("--size", type=int, default=None, help="the larger size (the smaller is a tenth)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()
    large = args.size or (1000 if args.quick else 10_000)
    url = bench_database_url("_sla_sweep")
    recreate_database(url)
    setup_django(url)
    seed_policies()
    small, big = measure(large // 10), measure(large)
    from django.db import connections

    connections.close_all()
    if not args.keep:
        drop_database(url)
    label = f"{big['count']:,} pending drafts ({big['overdue']:,} overdue)"
    report(
        f"SLA sweep wall time, {label}",
        round(big["s"], 3),
        unit="s",
        target="<= 5 s",
        baseline=f"{small['s']:.3f} s at {small['count']:,} ({small['overdue']} overdue)",
        ratio=big["s"] / small["s"] if small["s"] else None,
        ok=big["s"] <= 5,
    )
    report(
        f"SLA sweep SQL queries, {label}",
        big["queries"],
        unit="queries",
        target=f"same as at {small['count']:,}",
        baseline=f"{small['queries']} at {small['count']:,}",
        ratio=big["queries"] / small["queries"],
        ok=big["queries"] == small["queries"],
    )
    report(
        f"SLA sweep with nothing to escalate, {big['count']:,} pending drafts",
        round(big["idle_ms"], 1),
        unit="ms",
        target=f"queries same as at {small['count']:,}",
        baseline=f"{big['idle_queries']} queries ({small['idle_queries']} at {small['count']:,})",
        ok=big["idle_queries"] == small["idle_queries"],
    )


if __name__ == "__main__":
    main()
