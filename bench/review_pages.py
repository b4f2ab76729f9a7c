"""Queue page and draft page as the data grows: median server time and SQL queries per request.

    .venv/bin/python bench/review_pages.py              # 1,000 then 10,000 pending drafts (100 audit events each)
    .venv/bin/python bench/review_pages.py --quick      # 100 then 1,000
    .venv/bin/python bench/review_pages.py --size 5000  # size/10 then size

Seeds its own database (DATABASE_URL's name + "_review_pages", dropped and made afresh) with bulk
inserts: pending drafts (a tenth claimed, a quarter flagged, one in ten with a conversation
snapshot of 12 parts), as many decided drafts, and 100 audit events per pending draft (1,000,000 at
full size). Then it measures, in-process through Django's test client with the whole middleware
stack, each page at the small size and again after growing the data tenfold, so the query count can
be compared side by side: it must not grow with the data (targets: <= 10 queries, median <= 50 ms).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))

from _db import bench_database_url, recreate_database, setup_django_for_pages  # noqa: E402
from _report import report  # noqa: E402

EVENTS_PER_DRAFT = 100
REQUESTS = 40
TARGET_QUERIES = 10
TARGET_MS = 50.0


# --- seeding ------------------------------------------------------------------------------------------


def seed_users():
    from django.contrib.auth import get_user_model

    from reviewqueue.accounts.roles import role_group

    users = []
    for name in ("rita", "bo", "cy"):
        user = get_user_model().objects.create_user(username=name, email=f"{name}@ours.example")
        user.groups.add(role_group("reviewer"))
        users.append(user)
    return users


def seed_drafts(start: int, count: int, users) -> None:
    """Drafts numbered [start, start + count): pending ones and as many decided."""
    from datetime import timedelta

    from django.utils import timezone

    from reviewqueue.integrations.intercom.services import snapshot_store
    from reviewqueue.review.models import Claim, Decision, Draft
    from tests.review.page_helpers import customer_part, make_conversation

    now = timezone.now()
    batch = []
    for n in range(start, start + count):
        for status in (Draft.Status.PENDING, Draft.Status.DECIDED):
            batch.append(
                Draft(
                    email_id=f"em_{status}_{n}",
                    mailbox_id=f"mbx_{n % 7}",
                    mailbox_address=f"team{n % 7}@ours.example",
                    source=Draft.Source.POLL,
                    status=status,
                    from_address=f"team{n % 7}@ours.example",
                    to=[f"customer{n}@customer.example"],
                    subject=f"About your order {n}",
                    markdown=f"Hello,\n\nYour order **{n}** shipped. See [tracking](https://track.example/{n}).\n" * 5,
                    content_hash="0" * 64,
                    received_at=now - timedelta(minutes=n % 5000),
                    fetched_at=now,
                    waiting_since=now - timedelta(minutes=(n * 7919) % 100_000),
                    conversation_id=f"c_{n}" if n % 10 == 0 else "",
                    flag_customer_replied=n % 4 == 0,
                    flag_unknown_links=n % 9 == 0,
                    unknown_link_domains=["track.example"] if n % 9 == 0 else [],
                    flag_attachments=n % 13 == 0,
                )
            )
    Draft.objects.bulk_create(batch, batch_size=2000)
    drafts = {d.email_id: d for d in Draft.objects.filter(email_id__in=[d.email_id for d in batch])}
    claims, decisions = [], []
    for n in range(start, start + count):
        pending, decided = drafts[f"em_pending_{n}"], drafts[f"em_decided_{n}"]
        if n % 10 == 3:
            claims.append(Claim(draft=pending, holder=users[n % 3], expires_at=now + timedelta(minutes=10)))
        reviewer = users[n % 3]
        decisions.append(
            Decision(
                draft=decided,
                action="approve",
                origin="web",
                reviewer=reviewer,
                reviewer_username=reviewer.username,
                content_hash="0" * 64,
            )
        )
    Claim.objects.bulk_create(claims, batch_size=2000)
    Decision.objects.bulk_create(decisions, batch_size=2000)
    # Conversation snapshots for one draft in ten (stored through the Intercom service, as ingest does).
    parts = [
        customer_part(f"p{i}", f"<p>Message {i} <a href='https://shop.example/{i}'>link</a></p>", at=now)
        for i in range(12)
    ]
    for n in range(start, start + count, 10):
        snapshot = snapshot_store(conversation=make_conversation(f"c_{n}", parts=parts))
        Draft.objects.filter(conversation_id=f"c_{n}").update(snapshot_id=snapshot.pk, latest_snapshot_id=snapshot.pk)


def seed_audit_events(total: int) -> None:
    """Bulk audit rows straight in SQL (the chain is not valid: this database is the bench's own).

    One a second up to now, time rising with seq as the append guarantees (the time filters rely on it)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(seq), 0) FROM audit_auditevent")
        first = cursor.fetchone()[0] + 1
        cursor.execute(
            """
            INSERT INTO audit_auditevent
              (seq, created_at, actor_type, actor_id, actor_label, action, target_type, target_id, payload,
               ip, user_agent, prev_hash, hash)
            SELECT s, now() - ((%s - s) || ' seconds')::interval, 'system', '', 'bench',
                   (ARRAY['draft.received', 'draft.claimed', 'draft.decided', 'decide.sent'])[1 + s %% 4],
                   'draft', (s %% 20000)::text, jsonb_build_object('n', s), NULL, '',
                   md5((s - 1)::text) || md5((s - 1)::text), md5(s::text) || md5(s::text)
            FROM generate_series(%s, %s) AS s
            """,
            [first + total - 1, first, first + total - 1],
        )


# --- measuring --------------------------------------------------------------------------------------------


def measure(client, url, *, headers=None) -> tuple[float, float, int, int]:
    """(median ms, fastest ms, queries per request, status) over REQUESTS requests after two warm-ups.

    The fastest request shows the cost on an idle machine when others share the CPU.

    `url` may be a callable giving the URL just before each request (the poll's version moves each minute).
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = headers or {}
    url_now = url if callable(url) else lambda: url
    from django.core.cache import cache

    from reviewqueue.accounts.middleware import RENEWED_AT_KEY
    from reviewqueue.review.forms import MAILBOX_CHOICES_KEY

    # The queue's mailbox menu is cached for 30 s: start each page cold, so the warm-ups fill it and
    # every measured request counts the same queries (a cache miss adds one, the menu's DISTINCT).
    cache.delete(MAILBOX_CHOICES_KEY)
    # Likewise a person's session is renewed at most once a minute (a session write: see
    # accounts/middleware.py): make it due now, so a warm-up renews it and no measured request does.
    session = client.session
    session[RENEWED_AT_KEY] = 0
    session.save()
    for _ in range(2):
        client.get(url_now(), headers=headers)
    times, queries, status = [], set(), 0
    for _ in range(REQUESTS):
        url = url_now()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
        status = response.status_code
        queries.add(len(captured.captured_queries))
    return statistics.median(times), min(times), max(queries), status


def pages(client) -> dict[str, tuple[str, dict]]:
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from reviewqueue.review.models import Draft
    from reviewqueue.review.selectors import QueueFilters, pending_drafts, queue_state
    from reviewqueue.review.views import _queue_version

    rita = get_user_model().objects.get(username="rita")
    with_conversation = (
        Draft.objects.filter(status=Draft.Status.PENDING, latest_snapshot_id__isnull=False)
        .order_by("waiting_since")
        .first()
    )
    decided = Draft.objects.filter(status=Draft.Status.DECIDED).order_by("-id").first()
    middle_page = max(1, pending_drafts(user=rita, filters=QueueFilters()).count() // 100)

    def unchanged_poll() -> str:
        return f"{queue}?v={_queue_version(queue_state(user=rita))}"

    from reviewqueue.accounts.middleware import BACKGROUND_HEADER

    queue = reverse("review:queue")
    htmx = {"HX-Request": "true", BACKGROUND_HEADER: "1"}  # as the queue's poller sends them
    return {
        "bare view /healthz (for scale)": ("/healthz", {}),
        "queue page": (queue, {}),
        "queue page, flag filter": (f"{queue}?flag=customer_replied&mailbox=mbx_3", {}),
        "queue page, one flag": (f"{queue}?flag=unknown_links", {}),
        "queue page in the middle": (f"{queue}?page={middle_page}", {}),
        "queue poll, changed (htmx table)": (f"{queue}?v=stale", htmx),
        "queue poll, unchanged (204)": (unchanged_poll, htmx),
        "draft page with conversation": (reverse("review:draft", args=[with_conversation.pk]), {}),
        "draft page, decided": (reverse("review:draft", args=[decided.pk]), {}),
    }


def run(sizes: list[int]) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from reviewqueue.audit.models import AuditEvent
    from reviewqueue.review.models import Draft

    users = seed_users()
    client = Client()
    client.force_login(get_user_model().objects.get(username="rita"))
    seeded = 0
    results: dict[str, list[tuple[int, float, int, int]]] = {}
    for size in sizes:
        started = time.monotonic()
        seed_drafts(seeded, size - seeded, users)
        seed_audit_events((size - seeded) * EVENTS_PER_DRAFT)
        seeded = size
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # as autovacuum would have: index-only scans need it
        pending = Draft.objects.filter(status=Draft.Status.PENDING).count()
        events = AuditEvent.objects.count()
        print(f"seeded {pending:,} pending drafts, {events:,} audit events in {time.monotonic() - started:.1f} s")
        for name, (url, headers) in pages(client).items():
            median, fastest, queries, status = measure(client, url, headers=headers)
            results.setdefault(name, []).append((pending, median, queries, status, fastest))
            print(
                f"  {name:<36} {median:7.1f} ms median, {fastest:6.1f} ms fastest  {queries:2d} queries  HTTP {status}"
            )
    bare_ms = results.pop("bare view /healthz (for scale)")[-1][1]
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for name, rows in results.items():
        (small, small_ms, small_q, _, _), (large, large_ms, large_q, status, large_fastest) = rows[0], rows[-1]
        report(
            f"{name}: median server time at {large:,} pending drafts",
            round(large_ms, 1),
            unit="ms",
            target=f"<= {TARGET_MS:.0f} ms",
            baseline=f"{small_ms:.1f} ms at {small:,}; fastest {large_fastest:.1f} ms; bare view {bare_ms:.1f} ms",
            ratio=large_ms / small_ms if small_ms else None,
            ok=large_ms <= TARGET_MS,
        )
        report(
            f"{name}: SQL queries at {large:,} pending drafts",
            large_q,
            unit="queries",
            target=f"<= {TARGET_QUERIES}, same as at {small:,}",
            baseline=f"{small_q} at {small:,}",
            ratio=large_q / small_q if small_q else None,
            ok=large_q <= TARGET_QUERIES and large_q == small_q,
        )
        assert status in (200, 204), f"{name} answered HTTP {status}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10_000, help="pending drafts at the larger size (default 10,000)")
    parser.add_argument("--quick", action="store_true", help="--size 1000")
    parser.add_argument(
        "--measure-only",
        action="store_true",
        help="measure the database a previous run left (no seeding; figures printed, not reported)",
    )
    args = parser.parse_args()
    size = 1000 if args.quick else args.size
    if size < 20:
        parser.error("--size must be at least 20")
    url = bench_database_url("_review_pages")
    if args.measure_only:
        setup_django_for_pages(url, cache_prefix="bench-review-pages")
        measure_existing()
        return
    recreate_database(url)
    setup_django_for_pages(url, cache_prefix="bench-review-pages")
    run([size // 10, size])


def measure_existing() -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from reviewqueue.review.models import Draft

    rita = get_user_model().objects.filter(username="rita").first()
    if rita is None:
        sys.exit("bench/review_pages.py --measure-only: no seeded database yet; run without it first")
    client = Client()
    client.force_login(rita)
    pending = Draft.objects.filter(status=Draft.Status.PENDING).count()
    print(f"{pending:,} pending drafts already seeded")
    for name, (url, headers) in pages(client).items():
        median, fastest, queries, status = measure(client, url, headers=headers)
        print(f"  {name:<36} {median:7.1f} ms median, {fastest:6.1f} ms fastest  {queries:2d} queries  HTTP {status}")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
