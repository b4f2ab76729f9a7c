"""The oversight evidence page over 1,000,000 decisions: median server time and SQL queries per request.

    .venv/bin/python bench/oversight.py             # 1,000,000 decisions over a year
    .venv/bin/python bench/oversight.py --quick     # 100,000
    .venv/bin/python bench/oversight.py --keep      # leave the database for a look afterwards
    .venv/bin/python bench/oversight.py --reuse     # measure again the database a --keep run left

Makes its own database (DATABASE_URL's name + "_oversight_bench", dropped and made afresh), migrates
it and seeds it with SQL alone (generate_series): drafts and their decisions spread over the last 365
days in 6 mailboxes, 70% of them from intake with one of 5 kinds, 4% rejected with one of 8 reasons,
1% changes requested, 0.5% expired. Then, through Django's test client with the whole middleware stack:

- the rollups the worker keeps: a full rebuild (the one-off backfill) and a refresh (the periodic run);
- the evidence page (default 12 weeks, all mailboxes), filtered to one mailbox and kind, and the
  readiness API: median and fastest time, SQL queries per request (target: median <= 200 ms);
- the same page with no rollups yet (everything computed live), for comparison.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))

from _db import bench_database_url, drop_database, recreate_database, setup_django_for_pages  # noqa: E402
from _report import report  # noqa: E402

REQUESTS = 20
TARGET_MS = 200.0
MAILBOXES = ["mb_billing", "mb_orders", "mb_privacy", "mb_support", "mb_returns", "mb_vip"]
KINDS = ["refund", "shipping", "billing", "privacy", "general"]
REASONS = [
    "Wrong or outdated information",
    "Wrong recipient",
    "Tone not appropriate",
    "Promises something we cannot do",
    "Customer already answered elsewhere",
    "Contains sensitive or internal data",
    "Should not be sent by email",
    "Refund amount is wrong for this order",
]


def _defaults(model, given: set[str]) -> tuple[list[str], list]:
    """The columns of `model` not in `given`, with their Django defaults as SQL parameters."""
    from django.db import connection

    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.column in given or field.null:
            continue
        columns.append(connection.ops.quote_name(field.column))
        values.append(field.get_db_prep_save(field.get_default(), connection))
    return columns, values


def seed(total: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from reviewqueue.accounts.roles import role_group
    from reviewqueue.review.models import Draft
    from reviewqueue.routing.models import IntakeRecord, IntakeToken

    reviewer = get_user_model().objects.create_user(username="rita")
    auditor = get_user_model().objects.create_user(username="audrey")
    auditor.groups.add(role_group("auditor"))
    token = IntakeToken.objects.create(name="bench", key_hash="0" * 64, key_hint="rqi_", kinds=KINDS)
    started = time.perf_counter()
    mine = {"email_id", "mailbox_id", "source", "status", "received_at", "created_at", "waiting_since",
            "flag_customer_replied", "subject", "to", "conversation_id"}  # fmt: skip
    columns, values = _defaults(Draft, mine)
    extra = ", ".join(columns)
    placeholders = ", ".join(["%s"] * len(values))
    mailboxes = "ARRAY[" + ", ".join(f"'{m}'" for m in MAILBOXES) + "]"
    with connection.cursor() as cursor:
        # Decision i: decided (i / total) of a year ago .. now; waited 1 minute to ~6 hours.
        cursor.execute(
            f"""
            INSERT INTO review_draft (email_id, mailbox_id, source, status, received_at, created_at, waiting_since,
                                      flag_customer_replied, subject, "to", conversation_id, {extra})
            SELECT 'em_' || i, ({mailboxes})[1 + i %% {len(MAILBOXES)}],
                   CASE WHEN i %% 10 < 7 THEN 'intake' ELSE 'webhook' END, 'decided', t - w, t - w, t - w,
                   i %% 97 = 0, 'Re: order ' || i, '["customer@example.org"]'::jsonb, 'conv_' || i, {placeholders}
            FROM (SELECT i, now() - make_interval(secs => (%s - i) * 31536000.0 / %s) AS t,
                         make_interval(secs => 60 + (i::bigint * 7919) %% 21600) AS w
                  FROM generate_series(1, %s) AS i) s
            """,
            [*values, total, total, total],
        )
        reasons = "ARRAY[" + ", ".join("'" + r.replace("'", "''") + "'" for r in REASONS) + "]"
        kinds = "ARRAY[" + ", ".join(f"'{k}'" for k in KINDS) + "]"
        cursor.execute(
            f"""
            INSERT INTO review_decision (draft_id, action, reason, origin, reviewer_id, reviewer_username,
                reviewer_name, reviewer_email, decided_at, user_agent, content_hash, carried_out_status,
                confirmed_changed, context_recheck_error)
            SELECT d.id,
                   CASE WHEN n %% 1000 < 40 THEN 'reject' WHEN n %% 1000 < 50 THEN 'request_changes'
                        WHEN n %% 1000 < 55 THEN 'reject' ELSE 'approve' END,
                   CASE WHEN n %% 1000 < 40 THEN ({reasons})[1 + n %% {len(REASONS)}]
                        WHEN n %% 1000 < 50 THEN 'shorter, please'
                        WHEN n %% 1000 < 55 THEN 'expired: no decision within 24h' ELSE '' END,
                   CASE WHEN n %% 1000 BETWEEN 50 AND 54 THEN 'system' ELSE 'web' END,
                   %s, 'rita', 'Rita', 'rita@example.com',
                   d.waiting_since + make_interval(secs => 60 + (n * 7919) %% 21600),
                   '', repeat('c', 64), 'approved_and_sent', n %% 211 = 0, ''
            FROM (SELECT id, waiting_since, id AS n FROM review_draft) d
            """,
            [reviewer.pk],
        )
        given = {"idempotency_key", "request_hash", "token_id", "conversation_id", "kind", "mailbox_id", "email_id"}
        ir_columns, ir_values = _defaults(IntakeRecord, given | {"draft_id", "created_at"})
        cursor.execute(
            f"""
            INSERT INTO routing_intakerecord (idempotency_key, request_hash, token_id, conversation_id, kind,
                mailbox_id, email_id, draft_id, created_at{", " + ", ".join(ir_columns) if ir_columns else ""})
            SELECT 'k' || id, repeat('0', 64), %s, conversation_id, ({kinds})[1 + id %% {len(KINDS)}], mailbox_id,
                   email_id, id, created_at{", " + ", ".join(["%s"] * len(ir_values)) if ir_values else ""}
            FROM review_draft WHERE source = 'intake'
            """,
            [token.pk, *ir_values],
        )
        cursor.execute("ANALYZE")
    print(f"seeded {total:,} decisions in {time.perf_counter() - started:.1f} s", flush=True)


def measure(client, url: str, *, headers=None, requests: int = REQUESTS) -> tuple[float, float, int, int]:
    """(median ms, fastest ms, SQL queries per request, status) over `requests` requests after a warm-up."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, headers=headers or {})
    times, queries, status = [], set(), 0
    for _ in range(requests):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url, headers=headers or {})
            times.append((time.perf_counter() - started) * 1000)
        status = response.status_code
        queries.add(len(captured.captured_queries))
    return statistics.median(times), min(times), max(queries), status


def run(total: int, *, seeded: bool = False) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from reviewqueue.accounts.services import api_token_issue
    from reviewqueue.audit.services import Actor
    from reviewqueue.oversight.models import DailyRollup
    from reviewqueue.oversight.rollups import rollups_rebuild, rollups_refresh

    if not seeded:
        seed(total)
    else:
        from reviewqueue.review.models import Decision

        total = Decision.objects.count()
    auditor = get_user_model().objects.get(username="audrey")
    client = Client()
    client.force_login(auditor)
    _, raw = api_token_issue(user=auditor, name="bench", actor=Actor.system("bench"))
    label = f"{total:,} decisions"

    live_ms, live_fastest, live_queries, _ = measure(client, "/audit/oversight/", requests=3)
    print(f"no rollups yet (all live): median {live_ms:.0f} ms, fastest {live_fastest:.0f} ms, {live_queries} queries")

    started = time.perf_counter()
    rebuilt = rollups_rebuild()
    rebuild_s = time.perf_counter() - started
    report(f"oversight rollups: full rebuild, {label}", round(rebuild_s, 1), unit="s",
           baseline=f"{rebuilt['rows']:,} rollup rows for {rebuilt['days']} days")  # fmt: skip
    started = time.perf_counter()
    rollups_refresh()
    refresh_ms = (time.perf_counter() - started) * 1000
    report(f"oversight rollups: the worker's refresh (today and yesterday), {label}", round(refresh_ms), unit="ms")
    print(f"{DailyRollup.objects.count():,} rollup rows")

    pages = {
        "evidence page, 12 weeks, all mailboxes": ("/audit/oversight/", None),
        "evidence page, 12 weeks, one mailbox and kind": ("/audit/oversight/?mailbox=mb_orders&kind=refund", None),
        "evidence page, a year": (
            "/audit/oversight/?since=" + (rebuilt_first_day()).isoformat(), None,
        ),
        "readiness API, one mailbox": (
            "/api/v1/oversight/readiness?mailbox=mb_orders", {"Authorization": f"Bearer {raw}"},
        ),
        "evidence CSV, 12 weeks": ("/audit/oversight/export.csv", None),
    }  # fmt: skip
    for name, (url, headers) in pages.items():
        median, fastest, queries, status = measure(client, url, headers=headers)
        assert status == 200, f"{name} answered HTTP {status}"
        report(f"oversight {name}, {label}: median", round(median, 1), unit="ms", target=f"<= {TARGET_MS:.0f} ms",
               baseline=f"fastest {fastest:.0f} ms; {queries} SQL queries; all live (no rollups) "
               f"{live_ms:.0f} ms", ok=median <= TARGET_MS)  # fmt: skip
        print(f"  {name}: {queries} SQL queries per request")


def rebuilt_first_day():
    from datetime import timedelta

    from reviewqueue.oversight.selectors import today_utc

    return today_utc() - timedelta(days=364)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="--size 100000")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure the database a --keep run left (no seeding)")
    args = parser.parse_args()
    url = bench_database_url("_oversight_bench")
    if not args.reuse:
        recreate_database(url)
    setup_django_for_pages(url, cache_prefix="bench-oversight")
    try:
        run(100_000 if args.quick else args.size, seeded=args.reuse)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(url)


if __name__ == "__main__":
    main()
