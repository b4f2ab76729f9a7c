"""Bulk rejection of 100 drafts end to end: one review API call, a real worker, both sandboxes.

    .venv/bin/python bench/bulk_reject.py            # 100 drafts (the API's most per call)
    .venv/bin/python bench/bulk_reject.py --quick    # 20

Seeds its own database (DATABASE_URL's name + "_bulk_reject", dropped and made afresh), serves
both sandboxes from their own processes, and starts gunicorn and a real `celery -A reviewqueue
worker` on that database and REDIS_URL. The drafts (each with its Intercom conversation) come in
by one poll; then a reviewer's script sends one `POST /api/v1/drafts/bulk-decision` over HTTP with
every id, and the clock runs until every decision is carried out: MultiMail rejected the email,
its reviewed_by tags are set, and the conversation has its note and tag (the outbox all done).
Reported: the API's answer time, the wall time until all carried out, and that each email was
decided at MultiMail exactly once. No target in the issue: the figures are for sizing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))

from _db import bench_database_url, drop_database, recreate_database  # noqa: E402
from _report import report  # noqa: E402
from review_ingest import seed, setup_django  # noqa: E402

REASON = "bulk: answered by phone"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="20 drafts")
    parser.add_argument("--worker-concurrency", type=int, default=4)
    args = parser.parse_args()
    drafts = 20 if args.quick else args.drafts
    if not 1 <= drafts <= 100:
        parser.error("--drafts must be 1 to 100 (the most one bulk call takes)")

    url = bench_database_url("_bulk_reject")
    recreate_database(url)
    setup_django(url)
    from django.conf import settings
    from django.db import connection, connections

    from tests.livesystem import LiveSystem, database_url
    from tests.review.live import Sandboxes

    sandboxes = Sandboxes(processes=True).start()
    web = LiveSystem(
        database_url=database_url(connection.settings_dict),
        redis_url=settings.REDIS_URL,
        multimail_port=sandboxes.multimail_port,
        intercom_port=sandboxes.intercom_port,
    )
    try:
        for name, value in sandboxes.settings_overrides().items():
            setattr(settings, name, value)
        seed(sandboxes, drafts)
        from reviewqueue.review.poll import pending_sync

        ingest = pending_sync()
        print(f"ingested {ingest.received} drafts ({len(ingest.errors)} errors)", flush=True)
        web.start_web(workers=2, threads=4)
        sandboxes.worker(connection.settings_dict, settings.REDIS_URL, concurrency=args.worker_concurrency)
        return measure(sandboxes, web.web_url, drafts)
    finally:
        web.cleanup()
        sandboxes.stop()
        connections.close_all()
        drop_database(url)


def reviewer_token() -> str:
    from django.contrib.auth import get_user_model

    from reviewqueue.accounts.roles import role_group
    from reviewqueue.accounts.services import api_token_issue
    from reviewqueue.audit.services import Actor

    user = get_user_model().objects.create(username="bench-lead", first_name="Bench", last_name="Lead")
    user.groups.add(role_group("reviewer"))
    _, raw = api_token_issue(user=user, name="bulk bench", actor=Actor.system("bench"))
    return raw


def all_carried_out(ids: list[int]) -> bool:
    from reviewqueue.review.models import Decision, OutboxItem

    decided = Decision.objects.filter(draft_id__in=ids).count()
    return decided == len(ids) and not OutboxItem.objects.filter(draft_id__in=ids).exclude(status="done").exists()


def decisions_at_multimail(sandboxes) -> Counter:
    taken, cursor = Counter(), None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = sandboxes.mm.get("/v1/audit-log", params=params, headers=sandboxes.admin_headers).json()
        for entry in page.get("entries", []):
            if entry["action"].startswith("oversight.") and entry["action"] != "oversight.pending":
                taken[entry["resource_id"]] += 1
        cursor = page.get("cursor")
        if not cursor:
            return taken


def measure(sandboxes, web_url: str, expected: int) -> int:
    import httpx

    from reviewqueue.review.models import Draft, OutboxItem

    drafts = list(Draft.objects.filter(status="pending").exclude(conversation_id="").order_by("pk"))
    ids = [draft.pk for draft in drafts]
    if len(ids) != expected:
        print(f"expected {expected} drafts with conversations, found {len(ids)}", file=sys.stderr)
        return 1
    headers = {"Authorization": f"Bearer {reviewer_token()}"}
    started = time.monotonic()
    response = httpx.post(
        f"{web_url}/api/v1/drafts/bulk-decision",
        json={"ids": ids, "action": "reject", "reason": REASON},
        headers=headers,
        timeout=120,
    )
    answered = time.monotonic() - started
    body = response.json()
    if response.status_code != 200 or body.get("done") != len(ids):
        print(f"bulk call answered {response.status_code}: {response.text[:500]}", file=sys.stderr)
        return 1
    deadline = started + 300
    while not all_carried_out(ids) and time.monotonic() < deadline:
        time.sleep(0.05)
    carried = time.monotonic() - started
    complete = all_carried_out(ids)
    taken = decisions_at_multimail(sandboxes)
    once = sum(1 for draft in drafts if taken[draft.email_id] == 1)
    items = OutboxItem.objects.filter(draft_id__in=ids).count()
    load = os.getloadavg()[0]
    print(
        f"{len(ids)} drafts: API answered in {answered:.2f} s; all {items} outbox items done after "
        f"{carried:.2f} s (complete: {complete}); decided at MultiMail exactly once: {once}; "
        f"load {load:.1f} on {os.cpu_count()} CPUs"
    )
    ok = complete and once == len(ids)
    report(
        f"bulk reject of {len(ids)} drafts: the review API's answer (each its own decision, outbox, audit event)",
        round(answered, 2),
        unit="s",
        baseline=f"{len(ids)} decisions in one POST over HTTP (gunicorn)",
        ok=ok,
    )
    report(
        f"bulk reject of {len(ids)} drafts: wall time until all carried out (MultiMail decide + tags, Intercom "
        "note + tag; real worker, sandboxes)",
        round(carried, 2),
        unit="s",
        baseline=f"{items} outbox items, worker concurrency 4; load {load:.1f} on {os.cpu_count()} CPUs",
        ok=ok,
    )
    report(f"bulk reject of {len(ids)} drafts: decided at MultiMail exactly once", once, target=f"= {len(ids)}", ok=ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
