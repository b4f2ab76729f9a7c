"""Scale: the full flow for N drafts with 1, then 4 worker processes, side by side in one run.

    .venv/bin/python bench/scale.py                 # 10,000 drafts per run (long)
    .venv/bin/python bench/scale.py --drafts 300    # try it small
    .venv/bin/python bench/scale.py --quick         # 120 drafts

Per draft: an agent submits it through intake (POST /api/v1/drafts → routing → MultiMail send),
MultiMail holds it and tells reviewqueue (webhook), a worker fetches it with its Intercom
conversation, a reviewer decides through the review API, a worker carries the decision to
MultiMail (decide) and writes the Intercom note. Drafts come four to a conversation (one customer
conversation per four drafts, made before the clock starts), as an agent's replies would. Both
sandboxes answer every call after 50 ms.
Each run has 2 web processes (gunicorn), one beat and 1 or 4 Celery worker processes against one
PostgreSQL and one Redis (private ones, started here in a temporary folder). Reported: drafts per
second end to end for each run, their ratio (target >= 3: the work waits on the vendors), and how
many drafts were lost (no decision carried out) or doubled (MultiMail took the decision twice).

A run ends when every outbox item of its drafts is done and every webhook the vendors sent back
is handled (no backlog left for the next run). Each draft is decided once, by one of the reviewer
threads. Printed per run: the CPU seconds per draft of each kind of process (web, worker, beat,
sandboxes, PostgreSQL, Redis, this driver) from /proc, the outbox items and webhooks per draft,
and the load average (other work on the machine shows there).
"""

import argparse
import collections
import functools
import os
import queue
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(BASE_DIR), str(BASE_DIR / "bench")]

import _cpu  # noqa: E402
import httpx  # noqa: E402
from _report import report  # noqa: E402

from tests.flow import Driver  # noqa: E402
from tests.livesystem import PYTHON, LiveSystem, PrivatePostgres, PrivateRedis, sandbox_keys, wait_for  # noqa: E402

LATENCY_MS = 50
# Drafts per Intercom conversation: an agent drafts a few replies in a conversation, not hundreds.
# A fixed pool of conversations would grow each one by a note per decision, so every later fetch,
# snapshot and webhook would carry more (the cost per draft would grow with the run's length).
DRAFTS_PER_CONVERSATION = 4
MIN_CONVERSATIONS = 50
CLIENT_THREADS = 16
DECIDERS = 4


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drafts", type=int, default=10_000, help="drafts per run (default 10,000)")
    parser.add_argument("--quick", action="store_true", help="120 drafts per run")
    parser.add_argument("--workers", default="1,4", help="worker processes per run, comma-separated (default 1,4)")
    parser.add_argument("--web", type=int, default=2, help="gunicorn worker processes (default 2)")
    args = parser.parse_args()
    if args.quick:
        args.drafts = 120
    if args.drafts < 1:
        parser.error("--drafts must be at least 1")
    try:
        args.workers = [int(n) for n in args.workers.split(",")]
    except ValueError:
        parser.error("--workers takes numbers separated by commas, e.g. 1,4")
    if any(n < 1 for n in args.workers):
        parser.error("--workers: each run needs at least one worker process")
    return args


def prepare_database(workdir: Path) -> tuple[PrivatePostgres, str]:
    import subprocess

    postgres = PrivatePostgres(workdir).start()
    env = {**os.environ, "DATABASE_URL": postgres.url, "REDIS_URL": "redis://127.0.0.1:1/0"}
    env.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env, check=True)
    return postgres, env["SECRET_KEY"]


def django_on(database_url: str, redis_url: str, secret: str, multimail_url: str) -> None:
    """This process uses the same database, to set up tokens and rules and to count the outcome."""
    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY=secret,
        REVIEWQUEUE_SANDBOX="1",
        MULTIMAIL_API_URL=multimail_url,
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="reviewqueue.settings",
        **sandbox_keys(),
    )
    import django

    django.setup()


def setup_people_and_rules(multimail_url: str) -> tuple[str, str]:
    from django.conf import settings

    from reviewqueue.accounts.roles import role_group
    from reviewqueue.accounts.services import api_token_issue
    from reviewqueue.audit.services import Actor
    from reviewqueue.routing.services import intake_token_issue, mailboxes_sync, ruleset_save
    from reviewqueue.sandbox.multimail import defaults

    settings.MULTIMAIL_API_URL = multimail_url
    actor = Actor.system("bench")
    mailboxes_sync(actor=actor)
    ruleset_save(rules=[], default_mailbox_id=defaults.DEMO_MAILBOX_ID, actor=actor)
    from django.contrib.auth import get_user_model

    reviewer, _ = get_user_model().objects.get_or_create(username="bench-reviewer", defaults={"email": "r@x.example"})
    reviewer.groups.add(role_group("reviewer"))
    _, personal = api_token_issue(user=reviewer, name="bench", actor=actor)
    _, intake = intake_token_issue(name=f"bench-{time.time_ns()}", actor=actor)
    return personal, intake


def start_system(postgres, redis, secret: str, *, workers: int, web: int, workdir: Path) -> LiveSystem:
    system = LiveSystem(
        database_url=postgres.url,
        redis_url=redis.url,
        workdir=workdir,
        extra_env={"SECRET_KEY": secret, "POLL_INTERVAL": "30", "LOG_LEVEL": "WARNING"},
    )
    system.start_multimail("--latency-ms", str(LATENCY_MS), "--delivery-ms", "100000", wait=False)
    system.start_intercom("--latency", str(LATENCY_MS / 1000), wait=False)
    system.start_web(workers=web, threads=8, wait=False)
    for number in range(workers):
        # One process each (prefork, concurrency 1): "worker processes" counts processes, not threads.
        system.start_worker(name=f"worker{number}", concurrency=1, wait=False)
    system.start_beat()
    system.wait_ready()
    return system


def cpu_by_kind(system: LiveSystem, postgres: PrivatePostgres, redis: PrivateRedis) -> dict[str, float]:
    """CPU seconds used so far by each kind of process of the run. PostgreSQL's backends are the
    postmaster's children, not its group."""
    stats = _cpu.processes()
    kinds: collections.Counter = collections.Counter()
    for name, process in system.processes.items():
        kind = "worker" if name.startswith("worker") else name
        kinds[kind] += _cpu.group_seconds(stats, process.pid)
    kinds["redis"] += _cpu.group_seconds(stats, redis.process.pid)
    kinds["postgres"] += _cpu.server_seconds(stats, postgres.server.get_postmaster_info().pid)
    kinds["driver"] = _cpu.own_seconds()
    return dict(kinds)


def print_cpu(before: dict[str, float], after: dict[str, float], drafts: int, elapsed: float) -> None:
    per_draft = _cpu.ms_per_item(before, after, drafts)
    total = sum(per_draft.values())
    cores = os.cpu_count() or 1
    print(
        f"  CPU during the run: {total * drafts / 1000:.1f} s of {cores * elapsed:.1f} s available"
        f" on {cores} CPUs; per draft (ms):"
    )
    for kind, ms in per_draft.items():
        print(f"    {kind:<10} {ms:7.1f}")
    print(f"    {'total':<10} {total:7.1f}")


def webhooks_settled() -> bool:
    """No stored webhook is still waiting for its task (they are what the vendors tell us back)."""
    from reviewqueue.integrations.inbound.models import InboundWebhook

    return not InboundWebhook.objects.filter(status=InboundWebhook.Status.RECEIVED).exists()


def run_flow(system: LiveSystem, drafts: int, personal: str, intake: str, cpu) -> dict:
    """Submit and decide `drafts` drafts; `cpu()` (CPU seconds by process kind) is read at start and end."""
    from django.utils import timezone

    from reviewqueue.integrations.inbound.models import InboundWebhook
    from reviewqueue.review.models import OutboxItem

    driver = Driver(system, timeout=30)
    stored_before = InboundWebhook.objects.count()
    conversation_count = max(MIN_CONVERSATIONS, drafts // DRAFTS_PER_CONVERSATION)
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        conversations = list(
            pool.map(
                lambda n: driver.customer_conversation(email=f"scale{n}@customer.example"), range(conversation_count)
            )
        )
    # The conversations' own webhooks (snapshot refreshes) are handled before the clock starts.
    wait_for(
        lambda: InboundWebhook.objects.count() >= stored_before + conversation_count and webhooks_settled(),
        timeout=max(120, conversation_count // 5),
        what="the conversations' webhooks handled",
        interval=0.2,
    )
    draft_ids: list[int] = []
    to_decide: queue.Queue[int] = queue.Queue()
    lock = threading.Lock()
    local = threading.local()

    def client(token: str) -> httpx.Client:
        key = f"client_{token[:6]}"
        if not hasattr(local, key):
            setattr(local, key, driver.api(token))
        return getattr(local, key)

    def submit(number: int) -> None:
        conversation = conversations[number % len(conversations)]
        body = {
            "intercom_conversation_id": conversation,
            "to": [f"scale{number % conversation_count}@customer.example"],
            "subject": f"Re: order {number}",
            "markdown": f"Hello,\n\nyour order {number} ships today.\n\nAcme Support",
        }
        for _ in range(50):
            answer = client(intake).post("/drafts", json=body)
            if answer.status_code in (200, 202):
                with lock:
                    draft_ids.append(answer.json()["id"])
                to_decide.put(answer.json()["id"])
                return
            time.sleep(0.2)
        raise RuntimeError(f"intake kept failing: {answer.status_code} {answer.text[:200]}")

    def decide(draft_id: int) -> None:
        """One reviewer decision per draft, as a reviewer's script would post it (read the draft, then decide
        on the conversation it showed); tried again until it holds."""
        action = "approve" if draft_id % 2 else "reject"
        while True:
            shown = client(personal).get(f"/drafts/{draft_id}").json()
            body = {"action": action, "reason": "bench: not this time", "snapshot_id": shown["latest_snapshot_id"]}
            answer = client(personal).post(f"/drafts/{draft_id}/decision", json=body)
            if answer.status_code == 201 or (
                answer.status_code == 409 and answer.json().get("conflict") == "already_decided"
            ):
                return
            time.sleep(0.05)

    def decide_loop() -> None:
        # Each draft is taken by one decider: the reviewers do not race each other for the same draft.
        while (draft_id := to_decide.get()) is not None:
            decide(draft_id)

    cpu_before = cpu()
    started_at = timezone.now()
    started = time.monotonic()
    with ThreadPoolExecutor(CLIENT_THREADS) as submitters, ThreadPoolExecutor(DECIDERS) as deciders:
        deciding = [deciders.submit(decide_loop) for _ in range(DECIDERS)]
        list(submitters.map(submit, range(drafts)))
        for _ in deciding:
            to_decide.put(None)
        for decider in deciding:
            decider.result()

    # This run's drafts are the ids from its first to its last (intake is the only source of drafts
    # here): a range, where a list of 10,000 ids would cost the driver more than a draft, 2 times a second.
    first_id, last_id = min(draft_ids), max(draft_ids)

    def carried_out() -> bool:
        # Every decision carried out, and the work it caused (Intercom's webhooks about our notes) done too,
        # so a run leaves no backlog behind: the rate is one the system can keep up.
        open_items = OutboxItem.objects.filter(
            draft_id__gte=first_id, draft_id__lte=last_id, status__in=["pending", "running"]
        )
        return not open_items.exists() and webhooks_settled()

    wait_for(carried_out, timeout=max(600, drafts), what="every decision carried out", interval=0.5)
    elapsed = time.monotonic() - started
    cpu_after = cpu()
    driver.multimail_knobs(latency_ms=0)
    counts = driver.multimail_decisions()
    driver.close()
    return {
        "elapsed": elapsed,
        "draft_ids": draft_ids,
        "multimail": counts,
        "cpu": (cpu_before, cpu_after),
        "started_at": started_at,
    }


def print_work(result: dict) -> None:
    """What the drafts caused, per draft: outbox items by kind and attempts, webhooks received by topic."""
    from django.db.models import Count, Sum

    from reviewqueue.integrations.inbound.models import InboundWebhook
    from reviewqueue.review.models import OutboxItem

    drafts = len(result["draft_ids"])
    items = (
        OutboxItem.objects.filter(draft_id__in=result["draft_ids"])
        .values("kind")
        .annotate(count=Count("pk"), attempts=Sum("attempts"))
        .order_by("kind")
    )
    print(
        "  outbox items per draft: "
        + ", ".join(f"{i['kind']} {i['count'] / drafts:.2f} ({i['attempts'] / drafts:.2f} attempts)" for i in items)
    )
    webhooks = (
        InboundWebhook.objects.filter(received_at__gte=result["started_at"])
        .values("source", "topic")
        .annotate(count=Count("pk"))
        .order_by("-count")
    )
    print(
        "  webhooks per draft: " + ", ".join(f"{w['source']} {w['topic']} {w['count'] / drafts:.2f}" for w in webhooks)
    )


def outcome(result: dict) -> tuple[int, int]:
    """(lost, doubled): drafts whose decision never reached MultiMail, and decisions taken twice there."""
    from reviewqueue.review.models import Draft, OutboxItem

    emails = dict(Draft.objects.filter(pk__in=result["draft_ids"]).values_list("pk", "email_id"))
    done = set(
        OutboxItem.objects.filter(draft_id__in=result["draft_ids"], kind="decide", status="done").values_list(
            "draft_id", flat=True
        )
    )
    counts = result["multimail"]
    lost = sum(1 for pk, email in emails.items() if pk not in done or counts[email] == 0)
    doubled = sum(1 for email in emails.values() if counts[email] > 1)
    return lost, doubled


def main() -> int:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="rq-bench-scale-"))
    print(f"scale: {args.drafts} drafts per run, worker processes {args.workers}, {args.web} web; logs in {workdir}")
    postgres, secret = prepare_database(workdir)
    redis = PrivateRedis(workdir).start()
    rates = {}
    failures = 0
    try:
        for number, workers in enumerate(args.workers):
            run_dir = workdir / f"run{number}-{workers}w"
            run_dir.mkdir()
            system = start_system(postgres, redis, secret, workers=workers, web=args.web, workdir=run_dir)
            try:
                if number == 0:
                    django_on(postgres.url, redis.url, secret, system.multimail_url)
                personal, intake = setup_people_and_rules(system.multimail_url)
                result = run_flow(
                    system, args.drafts, personal, intake, cpu=functools.partial(cpu_by_kind, system, postgres, redis)
                )
            finally:
                system.stop()
            lost, doubled = outcome(result)
            print_work(result)
            rate = args.drafts / result["elapsed"]
            rates[workers] = rate
            failures += lost + doubled
            print(f"{workers} worker process(es): {args.drafts} drafts in {result['elapsed']:.1f} s = {rate:.1f}/s")
            print_cpu(*result["cpu"], drafts=args.drafts, elapsed=result["elapsed"])
            print("  load average: " + " ".join(f"{load:.2f}" for load in os.getloadavg()))
            report(
                f"full flow, {args.drafts:,} drafts, {workers} worker process(es), {args.web} web",
                round(rate, 2),
                unit="drafts/s",
            )
            report(
                f"lost or doubled decisions, {workers} worker process(es)",
                lost + doubled,
                target="0",
                ok=not (lost or doubled),
            )
        if 1 in rates and len(rates) > 1:
            most = max(rates)
            ratio = rates[most] / rates[1]
            report(
                f"scale-out: {most} vs 1 worker processes, {args.drafts:,} drafts",
                round(ratio, 2),
                unit="x",
                target=">= 3",
                baseline=f"{rates[1]:.1f} drafts/s with 1",
                ratio=ratio,
                ok=ratio >= 3,
            )
    finally:
        redis.stop()
        postgres.stop()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
