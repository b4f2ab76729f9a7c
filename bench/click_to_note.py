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

TARGET_P50, TARGET_P99 = 0.5, 2.0


def main() -> int:
    args = decisions_asked(__doc__.splitlines()[0])
    return with_sandboxes_and_worker("_click_to_note", args, measure)


def measure(sandboxes) -> int:
    decide = approving_as(reviewer())
    latencies, missing = decision_latencies(decide, lambda draft, _: sandboxes.notes(draft.conversation_id))
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
