"""Click-to-note latency: from a reviewer's decision to its note in the Intercom conversation.

    .venv/bin/python bench/click_to_note.py            # 100 decisions
    .venv/bin/python bench/click_to_note.py --quick    # 20

Seeds its own database (DATABASE_URL's name + "_click_to_note", dropped and made afresh), serves
both sandboxes from their own processes and starts a real `celery -A reviewqueue worker` on that
database and REDIS_URL. Drafts with conversations are ingested by one poll; then, one at a time,
a reviewer approves a draft (draft_decide, as the page's POST does) and the clock runs until the
note is visible in the Intercom sandbox (GET /conversations/{id}, polled every 5 ms). The path
measured: commit, broker, worker, MultiMail decide, the email's tags, then the note.
Targets: p50 <= 0.5 s, p99 <= 2 s.
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

from _report import report  # noqa: E402
from review_ingest import bench_database_url, drop_database, recreate_database, seed, setup_django  # noqa: E402

TARGET_P50, TARGET_P99 = 0.5, 2.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="20 decisions")
    parser.add_argument("--worker-concurrency", type=int, default=4)
    args = parser.parse_args()
    decisions = 20 if args.quick else args.decisions
    if decisions < 1:
        parser.error("--decisions must be at least 1")

    url = bench_database_url("_click_to_note")
    recreate_database(url)
    setup_django(url)
    from django.conf import settings
    from django.db import connection, connections

    from tests.review.live import Sandboxes

    sandboxes = Sandboxes(processes=True)
    sandboxes.start()
    try:
        for name, value in settings_overrides(sandboxes).items():
            setattr(settings, name, value)
        seed(sandboxes, decisions)
        from reviewqueue.review.poll import pending_sync

        ingest = pending_sync()
        print(f"ingested {ingest.received} drafts ({len(ingest.errors)} errors)", flush=True)
        sandboxes.worker(connection.settings_dict, settings.REDIS_URL, concurrency=args.worker_concurrency)
        return measure(sandboxes)
    finally:
        sandboxes.stop()
        connections.close_all()
        drop_database(url)


def settings_overrides(sandboxes) -> dict:
    return sandboxes.settings_overrides()


def reviewer():
    from django.contrib.auth import get_user_model

    from reviewqueue.accounts.roles import role_group

    user = get_user_model().objects.create(username="bench-reviewer", first_name="Bench", last_name="Reviewer")
    user.groups.add(role_group("reviewer"))
    return user


def measure(sandboxes) -> int:
    from reviewqueue.review.decisions import draft_decide
    from reviewqueue.review.models import Draft

    person = reviewer()
    drafts = list(Draft.objects.filter(status="pending").exclude(conversation_id="").order_by("pk"))
    latencies, missing = [], 0
    for draft in drafts:
        started = time.monotonic()
        draft_decide(
            draft=draft,
            reviewer=person,
            action="approve",
            reason="",
            origin="web",
            shown_snapshot_id=draft.latest_snapshot_id,
        )
        deadline = started + 10
        while time.monotonic() < deadline:
            if sandboxes.notes(draft.conversation_id):
                latencies.append(time.monotonic() - started)
                break
            time.sleep(0.005)
        else:
            missing += 1
    if not latencies:
        print("no note ever appeared", file=sys.stderr)
        return 1
    p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
    load = os.getloadavg()[0]
    print(
        f"{len(latencies)} notes (missing {missing}); p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms; load average {load:.1f} on {os.cpu_count()} CPUs"
    )
    ok = missing == 0
    report(
        "click-to-note latency p50 (decision to note in the Intercom sandbox, real worker)",
        round(p50, 3),
        unit="s",
        target=f"<= {TARGET_P50} s",
        baseline=f"{len(latencies)} decisions; load {load:.1f} on {os.cpu_count()} CPUs",
        ok=ok and p50 <= TARGET_P50,
    )
    report(
        "click-to-note latency p99",
        round(p99, 3),
        unit="s",
        target=f"<= {TARGET_P99} s",
        baseline=f"{len(latencies)} decisions, max {max(latencies):.3f} s",
        ok=ok and p99 <= TARGET_P99,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
