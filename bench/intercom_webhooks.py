"""Intercom webhook receiver under gunicorn: latency, dedup and throughput against a bare view.

    .venv/bin/python bench/intercom_webhooks.py            # 5,000 deliveries
    .venv/bin/python bench/intercom_webhooks.py --quick    # 600, for a first look

Starts gunicorn (our app, a free loopback port, DATABASE_URL / REDIS_URL from the environment)
and fires signed deliveries at POST /webhooks/intercom from concurrent keep-alive clients: 30 %
are repeats of a notification already sent (Intercom's retries), 10 % carry a bad signature.
As many GET /healthz (a bare Django view) go through the same server and clients, in rounds
alternating with the deliveries, so the throughput ratio compares like with like in one run.
Prints p50/p99 latency, accepted, refused, duplicates answered and duplicates stored (must be 0).
The closed-loop rounds saturate the server, so their latency is mostly queueing; a last, paced
phase sends deliveries at a steady rate (open loop, latency counted from each delivery's scheduled
time) and its p99 is the figure held to the 50 ms target: Intercom delivers at a rate, not a flood.
The rows it wrote and the tasks it enqueued are removed at the end (no worker runs: they would
call an Intercom that is not there).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from _report import report  # noqa: E402

from tests.livesystem import TEST_SECRET_KEY, LiveSystem  # noqa: E402

TOPICS = ["conversation.user.replied", "conversation.admin.noted", "conversation.user.created", "ping"]


def _sign(raw: bytes, secret: str) -> str:
    # The receiver's own signature module: the bench signs exactly what it verifies.
    from reviewqueue.integrations.intercom.signature import sign

    return sign(raw, secret)


def build_deliveries(
    total: int, run_id: str, rng: random.Random, secret: str
) -> tuple[list[tuple[bytes, str, str]], int]:
    """[(body, signature header, kind)], and how many distinct notifications are validly signed."""
    bad = total // 10
    duplicates = total * 3 // 10
    unique = total - bad - duplicates
    originals = []
    for n in range(unique):
        event = {
            "type": "notification_event",
            "app_id": "benchapp",
            "id": f"notif_bench_{run_id}_{n}",
            "topic": rng.choice(TOPICS),
            "created_at": int(time.time()),
            "delivery_attempts": 1,
            "first_sent_at": int(time.time()),
            "data": {
                "type": "notification_event_data",
                "item": {"type": "conversation", "id": str(900_000_000 + n), "state": "open", "open": True},
            },
        }
        raw = json.dumps(event).encode()
        originals.append((raw, _sign(raw, secret), "original"))
    repeats = [(*rng.choice(originals)[:2], "duplicate") for _ in range(duplicates)]
    forged = []
    for n in range(bad):
        raw = json.dumps({"type": "notification_event", "id": f"notif_bench_{run_id}_bad_{n}", "topic": "ping"})
        raw = raw.encode()
        header = rng.choice([_sign(raw, "not-the-secret"), "sha256=" + "ab" * 32, ""])
        forged.append((raw, header, "forged"))
    deliveries = originals + repeats + forged
    rng.shuffle(deliveries)
    return deliveries, unique


class Firing:
    """Concurrent keep-alive clients, one per thread; records latency and answers."""

    def __init__(self, base_url: str, concurrency: int):
        self.base_url = base_url
        self.concurrency = concurrency
        self.local = threading.local()

    def client(self) -> httpx.Client:
        if not hasattr(self.local, "client"):
            self.local.client = httpx.Client(base_url=self.base_url, timeout=10)
        return self.local.client

    def run(self, calls) -> tuple[list[float], list[tuple[int, str]], float]:
        def one(call):
            started = time.perf_counter()
            response = call(self.client())
            elapsed = time.perf_counter() - started
            status = response.json().get("status", "") if response.status_code == 200 else ""
            return elapsed, (response.status_code, status)

        started = time.perf_counter()
        with ThreadPoolExecutor(self.concurrency) as pool:
            results = list(pool.map(one, calls))
        wall = time.perf_counter() - started
        return [r[0] for r in results], [r[1] for r in results], wall


def webhook_call(raw: bytes, header: str):
    headers = {"Content-Type": "application/json", **({"X-Hub-Signature": header} if header else {})}
    return lambda client: client.post("/webhooks/intercom", content=raw, headers=headers)


def fire_paced(base_url: str, calls, rate: float) -> list[float]:
    """Each call starts at its slot on a fixed schedule; latency runs from the slot, so a late start
    (the server or the clients falling behind) counts against it (no coordinated omission)."""
    firing = Firing(base_url, concurrency=16)
    with ThreadPoolExecutor(firing.concurrency) as pool:
        # Open every client's keep-alive connection first, as a sender that delivers steadily has.
        list(pool.map(lambda _: firing.client().get("/healthz"), range(firing.concurrency * 8)))
        started = time.perf_counter() + 0.2

        def one(indexed):
            index, call = indexed
            slot = started + index / rate
            time.sleep(max(0.0, slot - time.perf_counter()))
            call(firing.client())
            return time.perf_counter() - slot

        return list(pool.map(one, enumerate(calls)))


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1] if len(values) > 1 else values[0]


def django_setup(env: dict) -> None:
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE")})
    import django

    django.setup()


def cleanup(run_id: str) -> tuple[int, int]:
    """Remove this run's rows and queued handling tasks; returns (rows, tasks) removed."""
    import redis
    from django.conf import settings

    from reviewqueue.integrations.inbound.models import InboundWebhook

    rows = InboundWebhook.objects.filter(source="intercom", delivery_id__startswith=f"notif_bench_{run_id}_")
    ids = set(rows.values_list("pk", flat=True))
    deleted, _ = rows.delete()
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    removed = 0
    for raw in broker.lrange("celery", 0, -1):
        message = json.loads(raw)
        task = message.get("headers", {}).get("task")
        if task not in ("intercom_webhook_handle", "intercom_webhooks_fan_out"):
            continue
        args = json.loads(base64.b64decode(message["body"]))[0]
        record_ids = args if task == "intercom_webhook_handle" else args[0]
        if ids.intersection(record_ids):
            removed += broker.lrem("celery", 0, raw)
    return deleted, removed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="600 deliveries instead of 5,000")
    parser.add_argument("--deliveries", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (keep-alive connections)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--rounds", type=int, default=10, help="alternating rounds of bare view and webhook")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--paced-rate", type=float, default=100.0, help="deliveries/s in the paced phase")
    parser.add_argument("--paced", type=int, default=None, help="deliveries in the paced phase (default: 1/5)")
    args = parser.parse_args()
    total = args.deliveries or (600 if args.quick else 5000)
    if total < 20:
        parser.error("--deliveries must be at least 20")
    if not 1 <= args.rounds <= total // 2:
        parser.error("--rounds must be between 1 and half the deliveries")
    database_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if not database_url or not redis_url:
        print("set DATABASE_URL and REDIS_URL (the bench writes to that database and broker)", file=sys.stderr)
        return 2

    run_id = uuid.uuid4().hex[:10]
    rng = random.Random(args.seed)
    system = LiveSystem(database_url=database_url, redis_url=redis_url)
    env = system.env()
    env.setdefault("SECRET_KEY", TEST_SECRET_KEY)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env, check=True)
    django_setup(env)
    deliveries, unique = build_deliveries(total, run_id, rng, env["INTERCOM_CLIENT_SECRET"])
    paced_deliveries, _ = build_deliveries(
        args.paced or max(20, total // 5), f"{run_id}p", rng, env["INTERCOM_CLIENT_SECRET"]
    )
    try:
        system.start_web(workers=args.workers, threads=args.threads)
        firing = Firing(system.web_url, args.concurrency)
        warm = [lambda c: c.get("/healthz")] * (args.concurrency * 20)
        firing.run(warm)

        calls = [webhook_call(raw, header) for raw, header, _ in deliveries]
        # Alternate rounds of the bare view and the webhook, so a change in the machine's load
        # during the run weighs on both sides of the ratio alike.
        bare_latency, hook_latency, answers = [], [], []
        bare_wall = hook_wall = 0.0
        size = -(-total // args.rounds)
        for start in range(0, total, size):
            latency, _, wall = firing.run([lambda c: c.get("/healthz")] * len(calls[start : start + size]))
            bare_latency += latency
            bare_wall += wall
            latency, answered, wall = firing.run(calls[start : start + size])
            hook_latency += latency
            answers += answered
            hook_wall += wall
        paced_latency = fire_paced(
            system.web_url, [webhook_call(raw, header) for raw, header, _ in paced_deliveries], args.paced_rate
        )
    finally:
        logs = system.logs()
        system.stop()

    from reviewqueue.integrations.inbound.models import InboundWebhook

    rows = InboundWebhook.objects.filter(source="intercom", delivery_id__startswith=f"notif_bench_{run_id}_")
    stored = rows.count()
    distinct_stored = rows.values("delivery_id").distinct().count()
    forged_stored = rows.filter(delivery_id__contains="_bad_").count()
    accepted = sum(1 for code, status in answers if code == 200 and status == "accepted")
    duplicate_answers = sum(1 for code, status in answers if code == 200 and status == "duplicate")
    refused = sum(1 for code, _ in answers if code == 401)
    other = [code for code, _ in answers if code not in (200, 401)]
    expected_refused = sum(1 for *_, kind in deliveries if kind == "forged")
    rows_removed, tasks_removed = cleanup(run_id)
    cleanup(f"{run_id}p")

    p50, p99 = percentile(hook_latency, 50) * 1000, percentile(hook_latency, 99) * 1000
    bare_p50, bare_p99 = percentile(bare_latency, 50) * 1000, percentile(bare_latency, 99) * 1000
    paced_p50, paced_p99 = percentile(paced_latency, 50) * 1000, percentile(paced_latency, 99) * 1000
    hook_rps, bare_rps = total / hook_wall, total / bare_wall
    ratio = hook_rps / bare_rps
    print(
        f"\n{total} deliveries ({unique} distinct signed, {total - unique - expected_refused} repeats, "
        f"{expected_refused} forged); {args.concurrency} clients; gunicorn {args.workers}x{args.threads}\n"
        f"  webhook  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  {hook_rps:8.1f} req/s\n"
        f"  healthz  p50 {bare_p50:6.2f} ms  p99 {bare_p99:6.2f} ms  {bare_rps:8.1f} req/s\n"
        f"  paced    p50 {paced_p50:6.2f} ms  p99 {paced_p99:6.2f} ms  at a steady {args.paced_rate:.0f}/s "
        f"({len(paced_latency)} deliveries)\n"
        f"  accepted {accepted}  duplicates answered {duplicate_answers}  refused {refused}  other {len(other)}\n"
        f"  rows stored {stored} (distinct {distinct_stored}; forged stored {forged_stored}); "
        f"cleaned {rows_removed} rows, {tasks_removed} queued tasks"
    )
    if other:
        print(f"unexpected statuses: {sorted(set(other))}\n{logs[-3000:]}", file=sys.stderr)

    report("webhook p50 latency", round(p50, 2), unit="ms", baseline=f"healthz p50 {bare_p50:.2f} ms")
    report(
        "webhook p99 latency, saturated (closed loop, mostly queueing)",
        round(p99, 2),
        unit="ms",
        baseline=f"healthz p99 {bare_p99:.2f} ms under the same saturation",
    )
    report(
        f"webhook p99 latency at a steady {args.paced_rate:.0f} deliveries/s",
        round(paced_p99, 2),
        unit="ms",
        target="<= 50 ms",
        baseline=f"p50 {paced_p50:.2f} ms; {args.paced_rate / bare_rps:.0%} of the bare view's saturated rate",
        ok=paced_p99 <= 50,
    )
    report(
        "webhook throughput vs bare view",
        round(hook_rps, 1),
        unit="req/s",
        target=">= 0.5x healthz",
        baseline=f"healthz {bare_rps:.1f} req/s",
        ratio=ratio,
        ok=ratio >= 0.5,
    )
    report("accepted (stored once)", accepted, target=f"= {unique}", ok=accepted == unique == distinct_stored)
    report("refused (bad signature)", refused, target=f"= {expected_refused}", ok=refused == expected_refused)
    report("duplicates stored", stored - distinct_stored + forged_stored, target="0", ok=stored == unique)
    return 0 if not other and stored == unique and refused == expected_refused else 1


if __name__ == "__main__":
    sys.exit(main())
