"""Scale: the full flow for N drafts with 1, then 4 worker processes, side by side in one run.

    .venv/bin/python bench/scale.py                 # 10,000 drafts per run (long)
    .venv/bin/python bench/scale.py --drafts 300    # try it small
    .venv/bin/python bench/scale.py --quick         # 120 drafts

Per draft: an agent submits it through intake (POST /api/v1/drafts → routing → MultiMail send),
MultiMail holds it and tells reviewqueue (webhook), a worker fetches it with its Intercom
conversation, a reviewer decides through the review API, a worker carries the decision to
MultiMail (decide) and writes the Intercom note. Both sandboxes answer every call after 50 ms.
Each run has 2 web processes (gunicorn), one beat and 1 or 4 Celery worker processes against one
PostgreSQL and one Redis (private ones, started here in a temporary folder). Reported: drafts per
second end to end for each run, their ratio (target >= 3: the work waits on the vendors), and how
many drafts were lost (no decision carried out) or doubled (MultiMail took the decision twice).
"""

import argparse
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(BASE_DIR), str(BASE_DIR / "bench")]

import httpx  # noqa: E402
from _report import report  # noqa: E402

from tests.flow import Driver, wait_for  # noqa: E402
from tests.livesystem import PYTHON, LiveSystem, PrivatePostgres, PrivateRedis, sandbox_keys  # noqa: E402

LATENCY_MS = 50
CONVERSATIONS = 50
CLIENT_THREADS = 16


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


def run_flow(system: LiveSystem, drafts: int, personal: str, intake: str) -> dict:
    from reviewqueue.review.models import OutboxItem

    driver = Driver(system, timeout=30)
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        conversations = list(
            pool.map(lambda n: driver.customer_conversation(email=f"scale{n}@customer.example"), range(CONVERSATIONS))
        )
    draft_ids: list[int] = []
    decided: set[int] = set()
    lock = threading.Lock()
    submitted = threading.Event()
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
            "to": [f"scale{number % CONVERSATIONS}@customer.example"],
            "subject": f"Re: order {number}",
            "markdown": f"Hello,\n\nyour order {number} ships today.\n\nAcme Support",
        }
        for _ in range(50):
            answer = client(intake).post("/drafts", json=body)
            if answer.status_code in (200, 202):
                with lock:
                    draft_ids.append(answer.json()["id"])
                return
            time.sleep(0.2)
        raise RuntimeError(f"intake kept failing: {answer.status_code} {answer.text[:200]}")

    def decide_loop() -> None:
        while True:
            with lock:
                todo = [d for d in draft_ids if d not in decided]
                finished = submitted.is_set() and not todo
            if finished:
                return
            for draft_id in todo[:50]:
                action = "approve" if draft_id % 2 else "reject"
                answer = client(personal).post(
                    f"/drafts/{draft_id}/decision", json={"action": action, "reason": "bench: not this time"}
                )
                if answer.status_code == 201 or (
                    answer.status_code == 409 and answer.json().get("conflict") == "already_decided"
                ):
                    with lock:
                        decided.add(draft_id)
            time.sleep(0.05)

    started = time.monotonic()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        deciders = [pool.submit(decide_loop) for _ in range(4)]
        list(ThreadPoolExecutor(CLIENT_THREADS).map(submit, range(drafts)))
        submitted.set()
        for decider in deciders:
            decider.result()

    def carried_out() -> bool:
        open_items = OutboxItem.objects.filter(
            draft_id__in=draft_ids, kind__in=["decide", "intercom_note"], status__in=["pending", "running"]
        )
        return not open_items.exists()

    wait_for(carried_out, timeout=max(600, drafts), what="every decision carried out", interval=0.5)
    elapsed = time.monotonic() - started
    driver.multimail_knobs(latency_ms=0)
    counts = driver.multimail_decisions()
    driver.close()
    return {"elapsed": elapsed, "draft_ids": draft_ids, "multimail": counts}


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
                result = run_flow(system, args.drafts, personal, intake)
            finally:
                system.stop()
            lost, doubled = outcome(result)
            rate = args.drafts / result["elapsed"]
            rates[workers] = rate
            failures += lost + doubled
            print(f"{workers} worker process(es): {args.drafts} drafts in {result['elapsed']:.1f} s = {rate:.1f}/s")
            report(f"full flow, {workers} worker process(es), {args.web} web", round(rate, 2), unit="drafts/s")
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
                f"scale-out: {most} vs 1 worker processes",
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
