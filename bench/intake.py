"""Intake throughput: drafts/s through POST /api/v1/drafts (gunicorn) into the MultiMail sandbox,
as a ratio of the sandbox's own send throughput measured in the same run (target >= 0.5).

    .venv/bin/python bench/intake.py            # 2,000 drafts each way, 16 concurrent clients
    .venv/bin/python bench/intake.py --quick    # 200 drafts
    .venv/bin/python bench/intake.py --drafts 5000 --clients 32

Seeds its own database (DATABASE_URL's name + "_intake", made afresh, dropped at the end). Two
sandboxes are started the same way at zero latency, each on a free loopback port: the first takes
sends straight from the clients (its own throughput: the ceiling), the second sits behind
reviewqueue's gunicorn for the intake run, so neither run pays for the other's stored emails. Every
intake draft costs the app: token check, validation, routing, an IntakeRecord under lock, the
MultiMail send, the Draft and two audit events, and the follow-up after the answer: a Celery
worker here tags the email at MultiMail and queues the draft's fetch, and its CPU (with the
sandbox's, PostgreSQL's and Redis's for it) counts in the figure. The fetch itself is review's
work, whichever way a draft arrives: it is queued where no worker reads, and dropped at the end.

What bounds the figure: the machine's cores. Printed for each run is the CPU per draft of every
process involved (gunicorn, the worker, PostgreSQL, Redis, the sandbox, this load generator), read
from /proc (PostgreSQL: the backends of this run's database and the server's helpers, as others'
backends share the server), and what it implies: with every core on intake and nothing else, at
most cores / CPU-per-draft drafts/s. The sandbox is one Python process, so its own rate stays near
one core's worth however many cores there are, while intake spreads over gunicorn's workers: the
ratio this machine can show grows with its cores. A third run, GET /healthz from the same clients,
measures the floor any intake pays before its own work (a bare Django request through gunicorn and
its client); with a sandbox send on top it gives the ratio no intake could pass here.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))

import _cpu  # noqa: E402
import httpx  # noqa: E402
from _db import bench_database_url, drop_database, recreate_database  # noqa: E402
from _report import report  # noqa: E402

TARGET_RATIO = 0.5
FETCH_QUEUE = "bench-intake-fetch"
PARTS = {"gunicorn": "web", "worker": "worker", "sandbox": "multimail"}  # part of the figure: LiveSystem's process


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789abcdef")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewqueue.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(mailbox_id: str, address: str) -> str:
    """A routed mailbox and an intake token; returns the raw token."""
    from reviewqueue.audit.services import Actor
    from reviewqueue.routing.models import Mailbox
    from reviewqueue.routing.services import intake_token_issue, ruleset_save

    actor = Actor.system("bench")
    Mailbox.objects.create(mailbox_id=mailbox_id, address=address, oversight_mode="gated_send")
    ruleset_save(rules=[], default_mailbox_id=mailbox_id, actor=actor)
    return intake_token_issue(name="bench", kinds=["shipping"], actor=actor)[1]


def run_load(count: int, clients: int, request) -> tuple[float, list[int]]:
    """(seconds, statuses) for `count` calls of request(i) from `clients` threads."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        statuses = list(pool.map(request, range(count)))
    return time.perf_counter() - started, statuses


def draft_body(i: int, run: str) -> dict:
    return {
        "intercom_conversation_id": str(100000 + i),
        "to": [f"customer{i}@example.com"],
        "subject": f"About your order {i} ({run})",
        "markdown": f"Hello,\n\nYour order **{i}** shipped.\n",
        "kind": "shipping",
    }


def sandbox_direct(url: str, mailbox_id: str, count: int, clients: int) -> float:
    from reviewqueue.sandbox.multimail import defaults

    http = httpx.Client(
        base_url=url,
        headers={"Authorization": f"Bearer {defaults.SEND_KEY}"},
        timeout=30,
        limits=httpx.Limits(max_connections=clients),
    )

    def send(i: int) -> int:
        body = {**draft_body(i, "direct"), "idempotency_key": f"direct-{i}"}
        del body["intercom_conversation_id"], body["kind"]
        return http.post(f"/v1/mailboxes/{mailbox_id}/send", json=body).status_code

    run_load(min(50, count), clients, lambda i: send(count + i))  # warm up (not counted)
    seconds, statuses = run_load(count, clients, send)
    http.close()
    bad = [s for s in statuses if s != 202]
    if bad:
        sys.exit(f"bench/intake.py: the sandbox refused {len(bad)} direct sends (e.g. {bad[0]})")
    return count / seconds


def intake_through_gunicorn(web_url: str, token: str, count: int, clients: int) -> float:
    http = httpx.Client(
        base_url=web_url,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=60,
        limits=httpx.Limits(max_connections=clients),
    )

    def submit(i: int) -> int:
        return http.post("/api/v1/drafts", content=json.dumps(draft_body(i, "intake"))).status_code

    run_load(min(50, count), clients, lambda i: submit(count + i))  # warm up every worker (not counted)
    seconds, statuses = run_load(count, clients, submit)
    http.close()
    bad = [s for s in statuses if s != 202]
    if bad:
        sys.exit(f"bench/intake.py: intake refused {len(bad)} drafts (e.g. {bad[0]})")
    return count / seconds


def bare_view_through_gunicorn(web_url: str, count: int, clients: int) -> float:
    """Requests/s of GET /healthz (a bare Django view behind every middleware, no database) from the
    same clients: what gunicorn and Django cost before intake does anything."""
    http = httpx.Client(base_url=web_url, timeout=60, limits=httpx.Limits(max_connections=clients))

    def get(i: int) -> int:
        return http.get("/healthz").status_code

    seconds, statuses = run_load(count, clients, get)
    http.close()
    if any(s != 200 for s in statuses):
        sys.exit("bench/intake.py: /healthz failed under load")
    return count / seconds


def cpu_meter(processes: dict[str, int], postmaster: int | None, redis_pid: int | None, database: str = ""):
    """A function giving CPU seconds so far by part of the run: each of `processes` (name -> process
    group), PostgreSQL (its work for `database`) and Redis when they run here, and this process (the
    load generator)."""

    def read() -> dict[str, float]:
        stats = _cpu.processes()
        used = {name: _cpu.group_seconds(stats, group) for name, group in processes.items()}
        if postmaster:
            used["postgres"] = _cpu.database_seconds(stats, postmaster, database)
        if redis_pid:
            used["redis"] = _cpu.server_seconds(stats, redis_pid)
        used["load generator"] = _cpu.own_seconds()
        return used

    return read


def print_cpu(title: str, per_draft: dict[str, float]) -> None:
    parts = ", ".join(f"{name} {ms:.2f}" for name, ms in per_draft.items())
    print(f"  CPU per draft, {title}: {sum(per_draft.values()):.2f} ms ({parts})", flush=True)


def redis_server_pid(redis_url: str) -> int | None:
    import redis

    try:
        pid = int(redis.Redis.from_url(redis_url).info("server")["process_id"])
    except (redis.RedisError, KeyError, ValueError):
        return None
    return pid if os.path.exists(f"/proc/{pid}") else None  # a Redis on another machine is not ours to read


def report_cpu_ceiling(
    intake_cpu: dict[str, float], sandbox_cpu: dict[str, float], bare_cpu: dict[str, float], sandbox_rate: float
) -> None:
    """What the machine's CPUs allow. With every core busy on intake and nothing else, the most
    drafts/s is cores / CPU per draft, however the work is spread. The floor is what any intake must
    spend before its own work: a bare Django request through gunicorn with its client (measured on
    /healthz) plus the sandbox's own CPU per send (measured alone)."""
    cores = os.cpu_count() or 1
    total = sum(intake_cpu.values())
    floor = sum(bare_cpu.values()) + sandbox_cpu.get("sandbox", 0.0)
    ceiling, floor_ceiling = cores * 1000 / total, cores * 1000 / floor
    print(
        f"  {cores} CPUs: at {total:.1f} ms per intake draft at most {ceiling:.0f} drafts/s"
        f" (x{ceiling / sandbox_rate:.2f} the sandbox); at the floor of {floor:.1f} ms (bare request"
        f" {sum(bare_cpu.values()):.1f} + sandbox send {sandbox_cpu.get('sandbox', 0.0):.1f})"
        f" at most {floor_ceiling:.0f}/s (x{floor_ceiling / sandbox_rate:.2f})",
        flush=True,
    )
    report(
        "intake CPU per draft, whole system (gunicorn, worker, PostgreSQL, Redis, sandbox, load generator)",
        round(total, 2),
        unit="ms",
        baseline=f"{cores} CPUs cap intake at {ceiling:.0f}/s = x{ceiling / sandbox_rate:.2f} the sandbox's rate",
    )
    report(
        "floor: a bare Django request through gunicorn + a sandbox send, CPU",
        round(floor, 2),
        unit="ms",
        baseline=(
            f"{cores} CPUs cap any intake at {floor_ceiling:.0f}/s = x{floor_ceiling / sandbox_rate:.2f}"
            " the sandbox's rate, before intake's own work"
        ),
    )


def start_followup_worker(live) -> None:
    """A Celery worker running intake's follow-up tasks, its CPU counted with the rest. The draft
    fetches they queue are review's work, the same whichever way a draft arrives: they go to a queue
    no worker here reads (FETCH_QUEUE, counted and dropped at the end)."""
    routes = {"review.draft_fetch": {"queue": FETCH_QUEUE}, "review.draft_fetches": {"queue": FETCH_QUEUE}}
    code = (
        f"import sys; from reviewqueue.celery import app; app.conf.task_routes = {routes!r};"
        " app.worker_main(sys.argv[1:])"
    )
    argv = [sys.executable, "-c", code, "worker", "-Q", "celery", "--concurrency", "2", "-n", "bench@%h"]
    argv += ["--loglevel", "INFO", "--without-heartbeat", "--without-gossip", "--without-mingle"]
    log = live.workdir / "worker.log"
    live._process("worker", argv, lambda: " ready." in log.read_text(errors="replace"), wait=True)


def followups_done(redis_url: str, drafts: int) -> None:
    """Wait until every follow-up has run: each queues its draft's fetch as its last step."""
    import redis

    from tests.livesystem import wait_for

    client = redis.Redis.from_url(redis_url)
    wait_for(lambda: queued_fetches(client) >= drafts, timeout=120, what=f"{drafts} intake follow-ups")


def queued_fetches(client) -> int:
    """Drafts whose fetch waits in FETCH_QUEUE: one per review.draft_fetch, a list per review.draft_fetches."""
    count = 0
    for raw in client.lrange(FETCH_QUEUE, 0, -1):
        message = json.loads(raw)
        if message["headers"]["task"] == "review.draft_fetches":
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            count += len(args[0])
        else:
            count += 1
    return count


def drop_fetch_queue(redis_url: str) -> int:
    """Drop the fetches the follow-ups queued (their database is dropped); how many drafts they were for."""
    import redis

    client = redis.Redis.from_url(redis_url)
    fetches = queued_fetches(client)
    client.delete(FETCH_QUEUE)
    return fetches


def drop_queued_tasks(redis_url: str, ids_by_task: dict[str, set[int]]) -> int:
    """Take this run's messages back out of the Celery queue (their database is dropped): a message
    of a task in `ids_by_task` whose first argument is one of its ids."""
    import redis

    client = redis.Redis.from_url(redis_url)
    removed = 0
    for raw in client.lrange("celery", 0, -1):
        try:
            headers = json.loads(raw).get("headers", {})
            first_arg = int(headers.get("argsrepr", "(").strip("()").split(",")[0])
        except (ValueError, AttributeError):
            continue
        if first_arg in ids_by_task.get(headers.get("task"), ()):
            removed += client.lrem("celery", 1, raw)
    return removed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 drafts")
    parser.add_argument("--drafts", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    args = parser.parse_args()
    count = 200 if args.quick else args.drafts
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        sys.exit("bench/intake.py: set REDIS_URL (redis://…/N): the app enqueues its fetch tasks there")

    url = bench_database_url("_intake")
    recreate_database(url)
    setup_django(url)
    from reviewqueue.sandbox.multimail import defaults
    from tests.livesystem import LiveSystem

    direct = LiveSystem(database_url=url, redis_url=redis_url, extra_env={"SANDBOX_ACCESS_LOG": "0"})
    # Connections kept for the whole run: a backend that exits takes its CPU out of the count (_cpu.py), and
    # on a loaded machine a run outlasts the default 60 s, after which Django would replace them.
    live = LiveSystem(
        database_url=url,
        redis_url=redis_url,
        extra_env={"LOG_LEVEL": "ERROR", "DATABASE_CONN_MAX_AGE": "3600", "SANDBOX_ACCESS_LOG": "0"},
    )
    try:
        token = seed(defaults.DEMO_MAILBOX_ID, f"{defaults.DEMO_MAILBOX_LOCAL}@{defaults.TENANT_DOMAIN}")
        direct.start_multimail("--latency-ms", "0", webhooks=False)
        live.start_multimail("--latency-ms", "0", webhooks=False)
        live.start_web(workers=args.workers, threads=args.threads)
        start_followup_worker(live)
        print(f"{count} drafts, {args.clients} clients, gunicorn {args.workers}x{args.threads} threads", flush=True)

        from django.db import connection

        postmaster, redis_pid = _cpu.postmaster_pid(connection), redis_server_pid(redis_url)
        direct_cpu = cpu_meter({"sandbox": direct.processes["multimail"].pid}, None, None)
        before = direct_cpu()
        sandbox_rate = sandbox_direct(direct.multimail_url, defaults.DEMO_MAILBOX_ID, count, args.clients)
        sandbox_cpu = _cpu.ms_per_item(before, direct_cpu(), count + min(50, count))  # its warm-up sends too
        direct.stop()
        print(f"sandbox alone: {sandbox_rate:.1f} sends/s", flush=True)
        print_cpu("sandbox alone", sandbox_cpu)
        live_cpu = cpu_meter(
            {part: live.processes[name].pid for part, name in PARTS.items()},
            postmaster,
            redis_pid,
            database=connection.settings_dict["NAME"],
        )
        before = live_cpu()
        intake_rate = intake_through_gunicorn(live.web_url, token, count, args.clients)
        followups_done(redis_url, count + min(50, count))
        intake_cpu = _cpu.ms_per_item(before, live_cpu(), count + min(50, count))
        print(f"intake:        {intake_rate:.1f} drafts/s", flush=True)
        print_cpu("intake", intake_cpu)
        before = live_cpu()
        bare_rate = bare_view_through_gunicorn(live.web_url, count, args.clients)
        bare_cpu = _cpu.ms_per_item(before, live_cpu(), count)
        print(f"bare view:     {bare_rate:.1f} requests/s (GET /healthz)", flush=True)
        print_cpu("bare view (per request)", bare_cpu)
        from reviewqueue.review.models import Draft
        from reviewqueue.routing.models import IntakeRecord

        made = IntakeRecord.objects.filter(draft_id__isnull=False).count()
        if made != Draft.objects.count():
            sys.exit(f"bench/intake.py: {made} intake records but {Draft.objects.count()} drafts")
        queued = {
            "review.draft_fetch": set(Draft.objects.values_list("pk", flat=True)),
            "routing.intake_followup": set(IntakeRecord.objects.values_list("pk", flat=True)),
        }
        removed = drop_queued_tasks(redis_url, queued)
        fetches = drop_fetch_queue(redis_url)
        print(f"({made} drafts made; {removed} queued tasks and {fetches} queued fetches removed)", flush=True)
        ratio = intake_rate / sandbox_rate
        report(
            "intake drafts/s through gunicorn into the MultiMail sandbox (zero latency)",
            round(intake_rate, 1),
            unit="/s",
            target=f">= {TARGET_RATIO} x the sandbox's own send rate",
            baseline=f"{sandbox_rate:.1f} /s sandbox sends, same clients",
            ratio=ratio,
            ok=ratio >= TARGET_RATIO,
        )
        report_cpu_ceiling(intake_cpu, sandbox_cpu, bare_cpu, sandbox_rate)
    finally:
        live.cleanup()
        direct.cleanup()
        from django.db import connections

        connections.close_all()
        drop_database(url)


if __name__ == "__main__":
    main()
