"""The fault suite (`make test-faults` runs all of it).

A test that runs the real system — gunicorn, Celery worker(s) and beat, both sandboxes — takes the
`stack` fixture: a PRIVATE PostgreSQL (pgserver, in a temporary folder) and a PRIVATE redis-server on
free loopback ports, so it can restart, kill and flush them without touching the machine's shared
servers; the test process reads the outcome straight from that private database over psycopg. Those,
and the few others that start processes of their own (marked slow in their module), take minutes and
are left to `make test-faults`. The rest reproduce one fault each in process (a lost signal, a broker
gone, a sweeper's batch filled, a read cut short), with MultiMail and Intercom faked at the HTTP
boundary: `make test` runs them too, so a fault once found stays fixed on every push.
"""

import os
import subprocess
import tempfile
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.flow import Driver
from tests.livesystem import BASE_DIR, PYTHON, LiveSystem, PrivatePostgres, PrivateRedis, wait_for


def pytest_collection_modifyitems(items):
    for item in items:
        in_faults = "tests/faults/" in str(item.fspath).replace(os.sep, "/")
        if in_faults and "stack" in getattr(item, "fixturenames", ()):  # the real system: minutes each
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def private_postgres():
    workdir = Path(tempfile.mkdtemp(prefix="rq-faults-pg-"))
    server = PrivatePostgres(workdir).start()
    env = {**os.environ, "DATABASE_URL": server.url, "SECRET_KEY": _secret()}
    env.pop("REDIS_URL", None)
    env["REDIS_URL"] = "redis://127.0.0.1:1/0"  # migrate never talks to Redis; a URL keeps the embedded one away
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env, check=True)
    yield server
    server.stop()


def _secret() -> str:
    return os.environ.get("SECRET_KEY") or "tests-only-secret-key-not-for-production-0123456789"


class Stack:
    """The system on private servers, plus what a test needs to drive and inspect it."""

    def __init__(self, postgres: PrivatePostgres, workdir: Path):
        self.postgres = postgres
        self.redis = PrivateRedis(workdir).start()
        self.system = LiveSystem(database_url=postgres.url, redis_url=self.redis.url, workdir=workdir)
        self.driver: Driver | None = None

    def start(
        self, *, workers: int = 1, concurrency: int = 2, multimail_args=(), intercom_args=(), multimail_webhooks=True
    ) -> "Stack":
        system = self.system
        system.start_multimail(*multimail_args, wait=False, webhooks=multimail_webhooks)
        system.start_intercom(*intercom_args, wait=False)
        system.start_web(wait=False)
        for number in range(workers):
            system.start_worker(name=f"worker{number}", concurrency=concurrency, wait=False)
        system.start_beat()
        system.wait_ready()
        self.driver = Driver(system)
        return self

    def manage(self, *args: str, env: dict | None = None) -> str:
        done = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=BASE_DIR,
            env={**self.system.env(), **(env or {})},
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed: {done.stderr[-2000:]}")
        return done.stdout.strip()

    def reviewer_token(self, username: str = "rita") -> str:
        self.manage("grant_role", username, "reviewer")
        return self.manage("issue_token", username).splitlines()[-1].strip()

    def query(self, sql: str, params=()) -> list[tuple]:
        with psycopg.connect(
            dbname=self.postgres.database, user="postgres", host=self.postgres.socket_dir, connect_timeout=5
        ) as conn:
            return conn.execute(sql, params).fetchall()

    def stop(self) -> None:
        if self.driver is not None:
            self.driver.close()
        self.system.stop()
        self.redis.stop()


@pytest.fixture
def stack(private_postgres):
    workdir = Path(tempfile.mkdtemp(prefix="rq-faults-"))
    stack = Stack(private_postgres, workdir)
    try:
        yield stack
    except Exception:
        raise
    finally:
        logs = stack.system.logs()
        stack.stop()
        (workdir / "logs.txt").write_text(logs)
        print(f"process logs: {workdir}")


# --- the flow and what must hold after it --------------------------------------------------------


def drafts_arrive(stack: Stack, count: int, *, timeout: float = 90) -> dict[str, int]:
    """Customers write, an agent drafts `count` replies into MultiMail; wait until reviewqueue holds
    every one as a pending draft. Returns {email_id: draft_id}."""
    driver = stack.driver
    emails = []
    for _ in range(count):
        address = f"c-{os.urandom(4).hex()}@customer.example"
        driver.customer_conversation(email=address)
        emails.append(driver.agent_draft(to=address))

    def arrived():  # fetched: the reviewer sees the email beside its conversation
        rows = stack.query(
            "SELECT email_id, id FROM review_draft WHERE email_id = ANY(%s) AND fetched_at IS NOT NULL "
            "AND conversation_id <> ''",
            (emails,),
        )
        return dict(rows) if len(rows) == len(emails) else None

    return wait_for(arrived, timeout=timeout, what=f"{count} drafts reach the queue")


def decide_all(stack: Stack, token: str, drafts: dict[str, int], *, timeout: float = 60) -> dict[str, str]:
    """A reviewer decides each draft through the review API, retrying what fails on the way.

    A retry answered 409 "already decided" means the first attempt went through. Returns
    {email_id: action} for every decision the API confirmed.
    """
    decided = {}
    with stack.driver.api(token) as api:
        for number, (email_id, draft_id) in enumerate(sorted(drafts.items())):
            action = "approve" if number % 2 == 0 else "reject"
            body = {"action": action, "reason": "" if action == "approve" else "Wrong tone for this customer"}

            def attempt(draft_id=draft_id, body=body):
                try:
                    # As a reviewer's script does: read the draft, then decide on the conversation it showed.
                    shown = api.get(f"/drafts/{draft_id}")
                    if shown.status_code != 200:
                        return None
                    snapshot_id = shown.json()["latest_snapshot_id"]
                    response = api.post(f"/drafts/{draft_id}/decision", json={**body, "snapshot_id": snapshot_id})
                except httpx.TransportError:
                    return None
                if response.status_code == 201:
                    return "decided"
                if response.status_code == 409 and response.json().get("conflict") == "already_decided":
                    return "decided"
                assert response.status_code >= 500 or response.status_code == 429, response.text
                return None

            wait_for(attempt, timeout=timeout, what=f"decide draft {draft_id}", interval=0.5)
            decided[email_id] = action
    return decided


def settled(stack: Stack, emails: list[str], *, timeout: float) -> dict[str, str]:
    """Wait until the `decide` item of each decision is done or failed; {email_id: status}."""

    def check():
        rows = stack.query(
            "SELECT d.email_id, o.status FROM review_outboxitem o JOIN review_draft d ON d.id = o.draft_id "
            "WHERE o.kind = 'decide' AND d.email_id = ANY(%s)",
            (emails,),
        )
        statuses = dict(rows)
        done = len(statuses) == len(emails) and all(s in ("done", "failed") for s in statuses.values())
        return statuses if done else None

    return wait_for(check, timeout=timeout, what="every decision carried out or visibly failed", interval=1)


def assert_no_decision_lost_or_doubled(stack: Stack, decided: dict[str, str], *, timeout: float = 120) -> None:
    """What every fault test ends with:

    - no decision lost: each decision the API confirmed is in the database, once, with its action;
    - every draft eventually decided: its `decide` reached MultiMail, or visibly failed;
    - no decision carried out twice: MultiMail's own audit log shows each email decided at most once,
      and exactly once when reviewqueue says it was done.
    """
    emails = sorted(decided)
    rows = stack.query(
        "SELECT d.email_id, c.action, count(*) OVER (PARTITION BY d.id) FROM review_decision c "
        "JOIN review_draft d ON d.id = c.draft_id WHERE d.email_id = ANY(%s)",
        (emails,),
    )
    assert {email: action for email, action, _ in rows} == decided
    assert all(count == 1 for *_, count in rows)

    statuses = settled(stack, emails, timeout=timeout)
    in_multimail = stack.driver.multimail_decisions()
    assert {e: in_multimail[e] for e in emails if in_multimail[e] > 1} == {}, "a decision was carried out twice"
    done = [e for e, s in statuses.items() if s == "done"]
    assert {e: in_multimail[e] for e in done if in_multimail[e] != 1} == {}, "a done decision never reached MultiMail"
    failed = [e for e, s in statuses.items() if s == "failed"]
    if failed:  # visibly failed: the error is kept for an admin's retry
        errors = stack.query(
            "SELECT o.last_error FROM review_outboxitem o JOIN review_draft d ON d.id = o.draft_id "
            "WHERE o.kind = 'decide' AND d.email_id = ANY(%s)",
            (failed,),
        )
        assert all(error for (error,) in errors)
