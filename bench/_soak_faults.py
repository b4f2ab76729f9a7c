"""bench/soak.py's faults: the seeded schedule and what each kind of fault does to the running system.

The schedule depends only on the seed, the run's length and the number of worker kills, so the same
seed replays the same faults at the same offsets (what the system does around them still varies
with the machine's timing).
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

# The kinds of fault, in the order the table lists them.
WORKER_KILL = "worker SIGKILL"
WEB_KILL = "web process SIGKILL"
REDIS_RESTART = "Redis restart"
REDIS_FLUSH = "Redis flush"
POSTGRES_RESTART = "PostgreSQL restart"
SANDBOX_BURST = "sandbox 20% errors + 5 s stalls"
KINDS = (WORKER_KILL, WEB_KILL, REDIS_RESTART, REDIS_FLUSH, POSTGRES_RESTART, SANDBOX_BURST)

BURST_SECONDS = 15.0


def fault_counts(kills: int) -> dict[str, int]:
    """The issue's default run has >= 100 worker kills, >= 10 web kills, >= 5 Redis restarts, >= 2 flushes,
    >= 3 PostgreSQL restarts; smaller runs keep those proportions, with at least one of each."""
    return {
        WORKER_KILL: kills,
        WEB_KILL: max(1, kills // 10),
        REDIS_RESTART: max(1, kills // 20),
        REDIS_FLUSH: max(1, kills // 50),
        POSTGRES_RESTART: max(1, kills // 33),
        SANDBOX_BURST: max(1, kills // 10),
    }


def fault_schedule(seed: int, seconds: float, kills: int) -> list[tuple[float, str]]:
    """(offset in seconds from the start of driving, kind), sorted; faults fall in the first 90% of the run."""
    rng = random.Random(seed)
    schedule = [
        (round(rng.uniform(0.05, 0.9) * seconds, 2), kind)
        for kind, count in fault_counts(kills).items()
        for _ in range(count)
    ]
    return sorted(schedule)


@dataclass
class Injected:
    kind: str
    at: float  # time.time() when injected
    detail: str = ""


@dataclass
class FaultInjector:
    """Injects faults into a LiveSystem on private (or shared) PostgreSQL and Redis.

    `postgres` / `redis` are the private servers, or None when the run uses the machine's own
    (DATABASE_URL / REDIS_URL): those are never restarted (other people use them); a Redis flush
    then empties only the run's own database number."""

    system: object
    postgres: object | None
    redis: object | None
    redis_url: str
    seed: int
    injected: list[Injected] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        self.rng = random.Random(self.seed + 1)  # which worker, how long down: replayed with the seed too

    def inject(self, kind: str) -> None:
        action = {
            WORKER_KILL: self._worker_kill,
            WEB_KILL: self._web_kill,
            REDIS_RESTART: self._redis_restart,
            REDIS_FLUSH: self._redis_flush,
            POSTGRES_RESTART: self._postgres_restart,
            SANDBOX_BURST: self._sandbox_burst,
        }[kind]
        at = time.time()
        detail = action()
        if detail is not None:
            with self.lock:
                self.injected.append(Injected(kind, at, detail))

    def _worker_kill(self) -> str:
        name = self.rng.choice(sorted(n for n in self.system.processes if n.startswith("worker")))
        process = self.system.processes.pop(name)
        process.kill()  # SIGKILL to the whole group: the master and its pool, mid-task
        process.stop()
        self.system.start_worker(name=name, concurrency=1, wait=False)
        return name

    def _web_kill(self) -> str | None:
        """SIGKILL one gunicorn worker process (the master starts another), requests in flight cut."""
        master = self.system.processes["web"].pid
        children = _children(master)
        if not children:
            return None
        victim = self.rng.choice(children)
        with contextlib.suppress(ProcessLookupError):
            import os
            import signal

            os.kill(victim, signal.SIGKILL)
        return f"pid {victim}"

    def _redis_restart(self) -> str | None:
        down_for = round(self.rng.uniform(0.5, 3.0), 1)
        if self.redis is None:
            self.skipped[REDIS_RESTART] = "REDIS_URL is the machine's Redis: never restarted"
            return None
        self.redis.restart(down_for=down_for)
        return f"down {down_for} s"

    def _redis_flush(self) -> str:
        import redis

        client = redis.Redis.from_url(self.redis_url, socket_timeout=5)
        for _ in range(20):
            try:
                client.flushdb()  # the run's own database number only
                return "flushdb"
            except redis.RedisError:
                time.sleep(0.5)  # restarting right now
        return "flushdb failed (Redis down)"

    def _postgres_restart(self) -> str | None:
        down_for = round(self.rng.uniform(0.5, 3.0), 1)
        if self.postgres is None:
            self.skipped[POSTGRES_RESTART] = "DATABASE_URL is the machine's PostgreSQL: never restarted"
            return None
        self.postgres.restart(down_for=down_for)
        return f"down {down_for} s"

    def _sandbox_burst(self) -> str:
        """Both sandboxes answer 20% of calls 500 and stall each for 5 s, for BURST_SECONDS, in a thread."""
        thread = threading.Thread(target=self._burst, daemon=True)
        thread.start()
        return f"{BURST_SECONDS:g} s"

    def _burst(self) -> None:
        system = self.system
        _knobs(f"{system.multimail_url}/_sandbox/knobs", {"error_rate": 0.2, "latency_ms": 5000})
        _knobs(f"{system.intercom_url}/_sandbox/knobs", {"error_rate": 0.2, "latency": 5.0})
        time.sleep(BURST_SECONDS)
        _knobs(f"{system.multimail_url}/_sandbox/knobs", {"error_rate": 0.0, "latency_ms": 20})
        _knobs(f"{system.intercom_url}/_sandbox/knobs", {"error_rate": 0.0, "latency": 0.02})


def _knobs(url: str, knobs: dict) -> None:
    for _ in range(20):
        try:
            if httpx.post(url, json=knobs, timeout=10).is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(child) for child in path.read_text().split()]
    except (FileNotFoundError, ValueError):
        return []
