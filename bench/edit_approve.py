"""Approve with edits: from the reviewer's "approve with edits" to the edited email approved at the sandbox.

    .venv/bin/python bench/edit_approve.py            # 100 decisions
    .venv/bin/python bench/edit_approve.py --quick    # 20

Seeds its own database (DATABASE_URL's name + "_edit_approve", dropped and made afresh), serves
both sandboxes from their own processes and starts a real `celery -A reviewqueue worker` on that
database and REDIS_URL. Drafts with conversations are ingested by one poll; then, one at a time, a
reviewer approves a draft with an edit of its body (draft_decide, as the page's POST does) and the
clock runs until MultiMail (the sandbox, GET /v1/mailboxes/{id}/emails/{edited id}, polled every
5 ms) says the edited email is approved. The path measured: commit, broker, worker, the edited
version sent and tagged, the original cancelled, the edited version read back, checked and approved.
Target: p99 <= 1 s.
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
from click_to_note import percentile, reviewer  # noqa: E402
from review_ingest import bench_database_url, drop_database, recreate_database, seed, setup_django  # noqa: E402

TARGET_P99 = 1.0
APPROVED = ("approved", "approved_and_sent")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="20 decisions")
    parser.add_argument("--worker-concurrency", type=int, default=4)
    args = parser.parse_args()
    decisions = 20 if args.quick else args.decisions
    if decisions < 1:
        parser.error("--decisions must be at least 1")

    url = bench_database_url("_edit_approve")
    recreate_database(url)
    setup_django(url)
    from django.conf import settings
    from django.db import connection, connections

    from tests.review.live import Sandboxes

    sandboxes = Sandboxes(processes=True)
    sandboxes.start()
    try:
        for name, value in sandboxes.settings_overrides().items():
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


def edited_email_approved(sandboxes, decision_id: int) -> bool:
    from reviewqueue.review.models import DraftEdit

    edited_id = DraftEdit.objects.filter(decision_id=decision_id).values_list("edited_email_id", flat=True).first()
    return bool(edited_id) and sandboxes.email(edited_id)["status"] in APPROVED


def measure(sandboxes) -> int:
    from reviewqueue.review.decisions import draft_decide
    from reviewqueue.review.models import Draft

    person = reviewer()
    drafts = list(Draft.objects.filter(status="pending").exclude(conversation_id="").order_by("pk"))
    latencies, missing = [], 0
    for draft in drafts:
        started = time.monotonic()
        decision = draft_decide(
            draft=draft,
            reviewer=person,
            action="approve",
            reason="",
            origin="web",
            shown_snapshot_id=draft.latest_snapshot_id,
            edit={"markdown": draft.markdown + "\n\n(Edited by a reviewer: the date is confirmed.)"},
        )
        deadline = started + 10
        while time.monotonic() < deadline:
            if edited_email_approved(sandboxes, decision.pk):
                latencies.append(time.monotonic() - started)
                break
            time.sleep(0.005)
        else:
            missing += 1
    if not latencies:
        print("no edited email was ever approved", file=sys.stderr)
        return 1
    p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
    load = os.getloadavg()[0]
    print(
        f"{len(latencies)} edited approvals (missing {missing}); p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms; load average {load:.1f} on {os.cpu_count()} CPUs"
    )
    ok = missing == 0
    report(
        "approve with edits to the edited email approved at the sandbox, p50 (real worker)",
        round(p50, 3),
        unit="s",
        target="(p99 is the target)",
        baseline=f"{len(latencies)} decisions; load {load:.1f} on {os.cpu_count()} CPUs",
        ok=ok,
    )
    report(
        "approve with edits to the edited email approved, p99",
        round(p99, 3),
        unit="s",
        target=f"<= {TARGET_P99} s",
        baseline=f"{len(latencies)} decisions, max {max(latencies):.3f} s",
        ok=ok and p99 <= TARGET_P99,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
