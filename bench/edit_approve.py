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

import os
import statistics
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))

from _decide_bench import (  # noqa: E402
    approving_as,
    decision_latencies,
    decisions_asked,
    percentile,
    reviewer,
    with_sandboxes_and_worker,
)
from _report import report  # noqa: E402

TARGET_P99 = 1.0
APPROVED = ("approved", "approved_and_sent")


def main() -> int:
    args = decisions_asked(__doc__.splitlines()[0])
    return with_sandboxes_and_worker("_edit_approve", args, measure)


def edited_email_approved(sandboxes, decision_id: int) -> bool:
    from reviewqueue.review.models import DraftEdit

    edited_id = DraftEdit.objects.filter(decision_id=decision_id).values_list("edited_email_id", flat=True).first()
    return bool(edited_id) and sandboxes.email(edited_id)["status"] in APPROVED


def edited(draft) -> dict:
    return {"markdown": draft.markdown + "\n\n(Edited by a reviewer: the date is confirmed.)"}


def measure(sandboxes) -> int:
    decide = approving_as(reviewer(), edit=edited)
    latencies, missing = decision_latencies(decide, lambda _, decision: edited_email_approved(sandboxes, decision.pk))
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
