"""What the decision-latency benches share (click_to_note.py, edit_approve.py): the command line, a fresh
database with the sandboxes and a real worker around the measurement, the reviewer, and the timed loop
from each decision to what the sandbox shows for it."""

import argparse
import time


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def decisions_asked(description: str) -> argparse.Namespace:
    """--decisions (default 100), --quick (20), --worker-concurrency; `decisions` holds the count."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--decisions", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="20 decisions")
    parser.add_argument("--worker-concurrency", type=int, default=4)
    args = parser.parse_args()
    args.decisions = 20 if args.quick else args.decisions
    if args.decisions < 1:
        parser.error("--decisions must be at least 1")
    return args


def with_sandboxes_and_worker(database_suffix: str, args: argparse.Namespace, measure) -> int:
    """A fresh database seeded with `args.decisions` drafts from the sandboxes (their own processes),
    ingested, a real worker running: `measure(sandboxes)`'s exit status. Everything is torn down after."""
    from review_ingest import bench_database_url, drop_database, recreate_database, seed, setup_django

    url = bench_database_url(database_suffix)
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
        seed(sandboxes, args.decisions)
        from reviewqueue.review.poll import pending_sync

        ingest = pending_sync()
        print(f"ingested {ingest.received} drafts ({len(ingest.errors)} errors)", flush=True)
        sandboxes.worker(connection.settings_dict, settings.REDIS_URL, concurrency=args.worker_concurrency)
        return measure(sandboxes)
    finally:
        sandboxes.stop()
        connections.close_all()
        drop_database(url)


def reviewer():
    from django.contrib.auth import get_user_model

    from reviewqueue.accounts.roles import role_group

    user = get_user_model().objects.create(username="bench-reviewer", first_name="Bench", last_name="Reviewer")
    user.groups.add(role_group("reviewer"))
    return user


def approving_as(person, *, edit=None):
    """A `decide(draft)` for decision_latencies: `person` approves the draft as shown on the web page,
    with `edit(draft)`'s edit when given."""
    from reviewqueue.review.decisions import draft_decide

    def decide(draft):
        extra = {"edit": edit(draft)} if edit is not None else {}
        return draft_decide(
            draft=draft,
            reviewer=person,
            action="approve",
            reason="",
            origin="web",
            shown_snapshot_id=draft.latest_snapshot_id,
            **extra,
        )

    return decide


def decision_latencies(decide, arrived, *, wait: float = 10.0) -> tuple[list[float], int]:
    """For each pending draft (from a conversation), `decide(draft)` then poll `arrived(draft, decided)`:
    the seconds from decision to arrival, and how many never arrived within `wait`."""
    from reviewqueue.review.models import Draft

    drafts = list(Draft.objects.filter(status="pending").exclude(conversation_id="").order_by("pk"))
    latencies, missing = [], 0
    for draft in drafts:
        started = time.monotonic()
        decided = decide(draft)
        deadline = started + wait
        while time.monotonic() < deadline:
            if arrived(draft, decided):
                latencies.append(time.monotonic() - started)
                break
            time.sleep(0.005)
        else:
            missing += 1
    return latencies, missing
