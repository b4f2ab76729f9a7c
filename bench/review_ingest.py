"""Ingest of pending drafts with their conversations, against the latency-bound floor.

    .venv/bin/python bench/review_ingest.py                 # 2,000 drafts, 25 ms per call, 16 at once
    .venv/bin/python bench/review_ingest.py --quick         # 200 drafts
    .venv/bin/python bench/review_ingest.py --drafts 500 --latency-ms 25 --concurrency 16

Seeds its own database (DATABASE_URL's name + "_review_ingest", dropped and made afresh) and
serves both sandboxes on loopback ports. It seeds N conversations in the Intercom sandbox and
N agent drafts held in the MultiMail sandbox (each tagged with its conversation) with no added
latency (each sandbox in its own process), then turns the latency knob of both sandboxes to
--latency-ms and runs one poll
(`pending_sync`): the pending list, then for every draft the full email and its conversation
snapshot, fetched --concurrency at a time. The calls are counted on the poll's own clients. Floor =
calls x latency ÷ concurrency (what the poll would take if it did nothing but wait on the
network); target: wall time <= 2 x floor. Uses REDIS_URL for the poll lock.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))

from _db import bench_database_url, drop_database, recreate_database  # noqa: E402
from _report import report  # noqa: E402

TARGET_RATIO = 2.0


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789abcdef")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewqueue.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if not os.environ.get("REDIS_URL"):
        sys.exit("bench: set REDIS_URL (redis://…/N): the poll takes its lock there")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class CallCounter:
    """Counts the requests an httpx client sends (an event hook on the very clients the poll uses)."""

    def __init__(self, client):
        self.count, self.lock = 0, threading.Lock()
        client._http.event_hooks["request"].append(self)

    def __call__(self, request):
        with self.lock:
            self.count += 1


def seed(sandboxes, drafts: int) -> None:
    def one(n: int) -> None:
        email = f"customer{n}@customer.example"
        conversation_id = sandboxes.conversation(email)
        sandboxes.agent_draft(email, subject=f"Re: order {n}", conversation_id=conversation_id)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(drafts)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=25.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="200 drafts")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()
    drafts = 200 if args.quick else args.drafts
    if drafts < 1 or args.concurrency < 1 or args.latency_ms <= 0:
        parser.error("--drafts and --concurrency must be at least 1, --latency-ms above 0")

    url = bench_database_url("_review_ingest")
    recreate_database(url)
    setup_django(url)
    from django.conf import settings

    from tests.review.live import Sandboxes

    sandboxes = Sandboxes(processes=True)  # their own processes: the poll alone runs in this one
    sandboxes.start()
    try:
        for name, value in sandboxes.settings_overrides().items():
            setattr(settings, name, value)
        print(f"seeding {drafts} conversations and held drafts …", flush=True)
        started = time.monotonic()
        seed(sandboxes, drafts)
        print(f"seeded in {time.monotonic() - started:.1f} s", flush=True)
        return measure(sandboxes, drafts, args.latency_ms, args.concurrency)
    finally:
        sandboxes.stop()
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(url)


def measure(sandboxes, drafts: int, latency_ms: float, concurrency: int) -> int:
    from reviewqueue.review.clients import intercom_client, multimail_client
    from reviewqueue.review.models import Draft
    from reviewqueue.review.poll import pending_sync

    multimail_counter = CallCounter(multimail_client())
    intercom_counter = CallCounter(intercom_client())
    sandboxes.multimail_knobs(latency_ms=latency_ms)
    sandboxes.intercom_knobs(latency=latency_ms / 1000)

    started, cpu_started = time.monotonic(), time.process_time()
    result = pending_sync(concurrency=concurrency)
    wall, cpu = time.monotonic() - started, time.process_time() - cpu_started

    calls = multimail_counter.count + intercom_counter.count
    floor = calls * (latency_ms / 1000) / concurrency
    ingested = Draft.objects.filter(status="pending", fetched_at__isnull=False).exclude(conversation_id="").count()
    with_snapshot = Draft.objects.filter(snapshot_id__isnull=False).count()
    print(
        f"pending listed {result.pending}, received {result.received}, errors {len(result.errors)}; "
        f"ingested with conversation {ingested}, with snapshot {with_snapshot}"
    )
    for error in result.errors[:5]:
        print("  error:", error)
    print(
        f"calls {calls} (MultiMail {multimail_counter.count}, Intercom {intercom_counter.count}); "
        f"wall {wall:.2f} s; floor {floor:.2f} s = calls x {latency_ms:g} ms ÷ {concurrency}; ratio {wall / floor:.2f}"
    )
    # CPU of this process (every poll thread; the sandboxes run in their own): steadier than wall time
    # on a busy machine, and what decides whether the poll can keep 16 calls in flight.
    print(f"poll CPU {cpu:.2f} s = {cpu / drafts * 1000:.2f} ms per draft")
    load = os.getloadavg()[0]
    print(
        f"load average while measuring: {load:.1f} on {os.cpu_count()} CPUs "
        "(figures are comparable only on a quiet machine)"
    )
    complete = ingested == drafts and with_snapshot == drafts and not result.errors
    report(
        f"ingest {drafts} pending drafts with conversations ({latency_ms:g} ms/call, {concurrency} at once)",
        round(wall, 2),
        unit="s",
        target=f"<= {TARGET_RATIO:g} x latency-bound floor",
        baseline=f"floor {floor:.2f} s ({calls} calls); load {load:.1f} on {os.cpu_count()} CPUs",
        ratio=wall / floor,
        ok=complete and wall / floor <= TARGET_RATIO,
    )
    if not complete:
        print(f"INCOMPLETE: {ingested}/{drafts} drafts ingested with their conversation", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
