"""The audit log at scale: verification, filtered pages and CSV export over a million events.

    .venv/bin/python bench/audit.py                 # 1,000,000 events
    .venv/bin/python bench/audit.py --quick         # 20,000, for a first look
    .venv/bin/python bench/audit.py --size 200000

Creates its own database beside DATABASE_URL's (<name>_bench_audit; the audit log cannot be
emptied, by design), migrates it, and seeds it with COPY, computing the hash chain in Python with
the same canonical encoding audit_record uses. Then, side by side in one run:
- verify_audit (the management command) against reading the same rows with the bare keyset SELECT
  the walk uses: time ratio (target <= 3) and the walk's peak memory growth;
- the auditor's event page under a few filters via the Django test client: p50/p95 (target <= 100 ms);
- the CSV export streamed to the end: rows/s and peak memory growth (target <= 50 MB at 1,000,000).
The database is dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))

from _report import report  # noqa: E402

REASONS = [
    "Looks right",
    "Refund amount is wrong for this order",
    "Tone is too casual for an enterprise customer",
    "Promises a delivery date we cannot meet",
    "Mentions another customer's order number",
    "Approved after checking the invoice",
    "Wrong language: the customer wrote in German",
    "Links to an outdated help article",
]
MARKDOWN = (
    "Hi {name},\n\nThanks for reaching out about order **#{order}**. We have looked into it and "
    "the refund of {amount} EUR is on its way; it usually shows up within 3-5 business days.\n\n"
    "If anything else comes up, just reply to this email.\n\nBest,\nThe support team"
)


# --- database --------------------------------------------------------------------------------------


def bench_database_url(base_url: str) -> tuple[str, str, str]:
    """(bench database URL, its name, the maintenance database URL) on DATABASE_URL's server."""
    parts = urlsplit(base_url)
    name = (parts.path.lstrip("/") or "postgres") + "_bench_audit"
    bench = urlunsplit(parts._replace(path="/" + name))
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    return bench, name, maintenance


def recreate_database(maintenance_url: str, name: str, *, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            connection.execute(f'CREATE DATABASE "{name}"')


# --- seeding ----------------------------------------------------------------------------------------


def event_rows(size: int, *, seed: int = 1):
    """Yield COPY rows (text format) with a valid hash chain, like a busy review team's log."""
    from reviewqueue.audit.chain import GENESIS_HASH, event_hash

    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(seconds=size // 5)
    previous = GENESIS_HASH
    draft_id = decision_id = 0
    for seq in range(1, size + 1):
        created_at = start + timedelta(microseconds=seq * 200_000 + rng.randrange(1000))
        roll = rng.random()
        mailbox = f"mbx_{rng.randrange(12)}"
        if roll < 0.3:
            draft_id += 1
            actor = ("system", "", "poller")
            action, payload = (
                "draft.received",
                {
                    "draft_id": draft_id,
                    "email_id": f"em_{draft_id}",
                    "mailbox_id": mailbox,
                    "conversation_id": f"conv_{draft_id // 3}",
                },
            )
        elif roll < 0.5:
            actor = ("person", str(rng.randrange(20)), f"reviewer{rng.randrange(20)}")
            action, payload = "draft.claimed", {"draft_id": max(draft_id - rng.randrange(5), 1)}
        elif roll < 0.75:
            decision_id += 1
            reviewer = rng.randrange(20)
            target = max(draft_id - rng.randrange(5), 1)
            actor = ("person", str(reviewer), f"reviewer{reviewer}")
            action, payload = (
                "draft.decided",
                {
                    "decision_id": decision_id,
                    "draft_id": target,
                    "email_id": f"em_{target}",
                    "action": "approve" if rng.random() < 0.8 else "reject",
                    "reason": rng.choice(REASONS),
                    "reviewer": {"id": reviewer, "username": f"reviewer{reviewer}", "name": f"Reviewer {reviewer}"},
                    "decided_at": created_at.isoformat(),
                    "draft_received_at": (created_at - timedelta(seconds=rng.randrange(30, 3600))).isoformat(),
                    "mailbox_id": mailbox,
                    "conversation_id": f"conv_{target // 3}",
                    "routing_version_id": 3,
                    "draft": {
                        "subject": f"Re: order {target}",
                        "to": ["customer@example.org"],
                        "markdown": MARKDOWN.format(name="Sam", order=target, amount=rng.randrange(5, 500)),
                    },
                },
            )
        else:
            actor = ("system", "", "outbox")
            action, payload = "decide.sent", {"decision_id": max(decision_id, 1), "status": "approved_and_sent"}
        fields = {
            "seq": seq,
            "created_at": created_at,
            "actor_type": actor[0],
            "actor_id": actor[1],
            "actor_label": actor[2],
            "action": action,
            "target_type": "draft",
            "target_id": str(payload.get("draft_id", "")),
            "payload": payload,
            "ip": "10.0.0.1" if actor[0] == "person" else None,
            "user_agent": "Firefox/140" if actor[0] == "person" else "",
            "prev_hash": previous,
        }
        previous = event_hash(**fields)
        yield (
            seq,
            created_at,
            *actor,
            action,
            "draft",
            fields["target_id"],
            json.dumps(payload),
            fields["ip"],
            fields["user_agent"],
            fields["prev_hash"],
            previous,
        )


def seed(size: int) -> float:
    from django.db import connection

    from reviewqueue.audit.verify import COLUMNS

    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY audit_auditevent ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in event_rows(size):
                copy.write_row(row)
        # Both tables, as autovacuum would soon after: without statistics on the search table the
        # planner guesses every word rare and reads all its matches to find the newest 500.
        cursor.execute("ANALYZE audit_auditevent")
        cursor.execute("ANALYZE audit_auditreasonsearch")
    return time.perf_counter() - started


# --- measuring ----------------------------------------------------------------------------------------


class PeakRss:
    """Peak resident memory growth of this process while the block runs (sampled every 5 ms)."""

    def __enter__(self):
        self.base = self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.base) / 2**20


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def bare_select_seconds(batch_size: int = 5000) -> float:
    """Every column of every event, by the same keyset pages the walk uses, and nothing else."""
    from django.db import connection

    from reviewqueue.audit.verify import COLUMNS

    sql = f"SELECT {', '.join(COLUMNS)} FROM audit_auditevent WHERE seq > %s ORDER BY seq LIMIT %s"
    started = time.perf_counter()
    after, count = 0, 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [after, batch_size])
            batch = cursor.fetchall()
        count += len(batch)
        if len(batch) < batch_size:
            break
        after = batch[-1][0]
    elapsed = time.perf_counter() - started
    print(f"bare SELECT: {count} rows in {elapsed:.2f}s")
    return elapsed


def verify_seconds(size: int) -> tuple[float, float]:
    from django.core.management import call_command

    out = io.StringIO()
    with PeakRss() as memory:
        started = time.perf_counter()
        call_command("verify_audit", stdout=out)
        elapsed = time.perf_counter() - started
    print(out.getvalue().strip(), f"({elapsed:.2f}s)")
    assert f"intact: {size} events" in out.getvalue(), out.getvalue()
    return elapsed, memory.growth_mb


def page_latencies(client, size: int, rounds: int) -> dict[str, list[float]]:
    # The seeded log runs from size/5 seconds ago to now; "past window" is its middle hour, "until
    # midpoint" everything before its middle (each once walked the newer half of the log).
    middle = datetime.now(UTC) - timedelta(seconds=size // 10)
    queries = {
        "no filter": {},
        "action": {"action": "draft.decided"},
        "action prefix": {"action": "draft."},
        "actor": {"actor": "reviewer7"},
        "mailbox": {"mailbox": "mbx_3"},
        "conversation": {"conversation": f"conv_{size // 20}"},
        "draft": {"draft": str(size // 10)},
        "decision": {"decision": str(size // 8)},
        "reason search": {"q": "refund amount"},
        "time range": {"since": "2000-01-01T00:00", "until": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M")},
        "past window": {"since": _minute(middle), "until": _minute(middle + timedelta(hours=1))},
        "until midpoint": {"until": _minute(middle)},
        "search + window": {"q": "german", "since": _minute(middle), "until": _minute(middle + timedelta(hours=1))},
        "deep page": {"before": str(size // 2)},
        "search + mailbox": {"q": "german", "mailbox": "mbx_5"},
    }
    timings: dict[str, list[float]] = {name: [] for name in queries}
    for _ in range(rounds):
        for name, query in queries.items():
            started = time.perf_counter()
            response = client.get("/audit/", query, secure=True)
            timings[name].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (name, response.status_code)
    return timings


def _minute(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def csv_export(client) -> tuple[int, float, float]:
    with PeakRss() as memory:
        started = time.perf_counter()
        response = client.get("/audit/export.csv", secure=True)
        assert response.status_code == 200 and response.streaming
        lines = 0
        for chunk in response.streaming_content:
            lines += chunk.count(b"\n")
        response.close()
        elapsed = time.perf_counter() - started
    return lines - 1, elapsed, memory.growth_mb


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


# --- main ----------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="events to seed (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help="20,000 events, for a first look")
    parser.add_argument("--rounds", type=int, default=10, help="requests per filter for the page timings")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()
    size = 20_000 if args.quick else args.size
    if size < 100:
        parser.error("--size must be at least 100")
    base_url = os.environ.get("DATABASE_URL")
    if not base_url:
        parser.error("set DATABASE_URL (and REDIS_URL, SECRET_KEY) as for the tests")

    bench_url, name, maintenance = bench_database_url(base_url)
    recreate_database(maintenance, name)
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ["DATABASE_CONN_MAX_AGE"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewqueue.settings")
    try:
        return run(size, args.rounds)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            recreate_database(maintenance, name, drop_only=True)


def run(size: int, rounds: int) -> int:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from reviewqueue.accounts.roles import role_group

    call_command("migrate", verbosity=0)
    print(f"seeding {size:,} events with COPY …", flush=True)
    seconds = seed(size)
    print(f"seeded in {seconds:.1f}s ({size / seconds:,.0f} events/s)")
    report(f"seed {size:,} events (COPY, chain computed in Python)", round(size / seconds), unit="events/s")

    bare_select_seconds()  # warm the cache so both timings read from memory alike
    # The baseline is read just before and just after the walk: on a shared machine, load drifts.
    before = bare_select_seconds()
    walk, walk_memory = verify_seconds(size)
    select = (before + bare_select_seconds()) / 2
    ratio = walk / select
    report(
        f"verify_audit over {size:,} events",
        round(walk, 2),
        unit="s",
        target="<= 3x bare SELECT",
        baseline=f"bare keyset SELECT of the same rows {select:.2f}s (mean of before and after)",
        ratio=ratio,
        ok=ratio <= 3,
    )
    report(f"verify_audit peak memory growth ({size:,} events)", round(walk_memory, 1), unit="MB")

    user = get_user_model().objects.create_user(username="bench-auditor")
    user.groups.add(role_group("auditor"))
    client = Client()
    client.force_login(user)
    page_latencies(client, size, 1)  # warm-up
    timings = page_latencies(client, size, rounds)
    every = [ms for values in timings.values() for ms in values]
    for name, values in timings.items():
        print(f"  page {name:18s} p50 {statistics.median(values):7.1f} ms   p95 {p95(values):7.1f} ms")
    report(
        f"filtered event page p95 ({len(timings)} filters x {rounds}, {size:,} events)",
        round(p95(every), 1),
        unit="ms",
        target="<= 100 ms",
        baseline=f"p50 {statistics.median(every):.1f} ms; worst filter "
        f"{max(timings, key=lambda n: p95(timings[n]))} p95 {max(p95(v) for v in timings.values()):.1f} ms",
        ok=p95(every) <= 100,
    )

    rows, seconds, memory = csv_export(client)
    assert rows >= size, (rows, size)  # the export.made event of this very export is in it too
    report(
        f"CSV export of {size:,} events",
        round(rows / seconds),
        unit="rows/s",
        baseline=f"bare SELECT reads {size / select:,.0f} rows/s",
        ratio=(size / select) / (rows / seconds),
    )
    report(
        f"CSV export peak memory growth ({size:,} rows)",
        round(memory, 1),
        unit="MB",
        target="<= 50 MB",
        ok=memory <= 50,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
