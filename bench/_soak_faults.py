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
CLOCK_SKEW = "sandbox clock skew step"
KINDS = (WORKER_KILL, WEB_KILL, REDIS_RESTART, REDIS_FLUSH, POSTGRES_RESTART, SANDBOX_BURST, CLOCK_SKEW)

BURST_SECONDS = 15.0
# The sandboxes' clocks start SKEW_START seconds behind ours and each CLOCK_SKEW fault steps them forward,
# ending at most SKEW_SPAN later (-120 s to +120 s): skewed both ways against ours, within MultiMail's
# 5-minute timestamp tolerance, and never stepping back (a vendor's clock that runs backwards would
# reorder its own events, which no vendor does).
SKEW_START, SKEW_SPAN = -120.0, 240.0


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
        CLOCK_SKEW: max(1, kills // 20),
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
    worker_concurrency: int = 1  # pool processes of a worker started again after a kill or a crash
    injected: list[Injected] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Our processes that exited on their own, restarted as a supervisor (systemd Restart=always) would.
    crashes: list[tuple[float, str, str]] = field(default_factory=list)  # (time.time(), name, last log line)

    def __post_init__(self):
        self.rng = random.Random(self.seed + 1)  # which worker, how long down: replayed with the seed too
        self.skew = SKEW_START
        self.skew_step = SKEW_SPAN / max(1, fault_counts(1)[CLOCK_SKEW])

    def start_skewed(self, skew_faults: int) -> None:
        """The sandboxes' clocks SKEW_START behind ours before driving; each skew fault then steps them forward."""
        self.skew_step = SKEW_SPAN / max(1, skew_faults)
        self._set_skew(self.skew)

    def inject(self, kind: str) -> None:
        action = {
            WORKER_KILL: self._worker_kill,
            WEB_KILL: self._web_kill,
            REDIS_RESTART: self._redis_restart,
            REDIS_FLUSH: self._redis_flush,
            POSTGRES_RESTART: self._postgres_restart,
            SANDBOX_BURST: self._sandbox_burst,
            CLOCK_SKEW: self._clock_skew,
        }[kind]
        at = time.time()
        detail = action()
        if detail is not None:
            with self.lock:
                self.injected.append(Injected(kind, at, detail))

    def _worker_kill(self) -> str:
        with self.lock:
            name = self.rng.choice(sorted(n for n in self.system.processes if n.startswith("worker")))
            process = self.system.processes.pop(name)
            process.kill()  # SIGKILL to the whole group: the master and its pool, mid-task
            process.stop()
            self.system.start_worker(name=name, concurrency=self.worker_concurrency, wait=False)
        return name

    def supervise(self) -> None:
        """Start again any of our processes (workers, beat, gunicorn) that exited by itself, as a supervisor
        would, and note it with its last log line (a finding for the table, not an injected fault)."""
        with self.lock:
            for name, process in list(self.system.processes.items()):
                if process.alive() or not (name.startswith("worker") or name in ("beat", "web")):
                    continue
                lines = process.log_tail(6000).strip().splitlines() or [""]
                causes = [line for line in lines if "CRITICAL" in line or "Error" in line]
                last = (causes or lines)[-1][:300]
                self.crashes.append((time.time(), name, last))
                self.system.processes.pop(name)
                process.stop()
                if name == "web":
                    self.system.start_web(workers=2, threads=8, wait=False)
                elif name == "beat":
                    self.system.start_beat()
                else:
                    self.system.start_worker(name=name, concurrency=self.worker_concurrency, wait=False)

    def supervising(self, stop: threading.Event, every: float = 2.0) -> threading.Thread:
        def loop():
            while not stop.wait(every):
                try:
                    self.supervise()
                except Exception as error:  # keep supervising whatever one restart did
                    print(f"  supervisor: {error}", flush=True)

        thread = threading.Thread(target=loop, name="soak-supervisor", daemon=True)
        thread.start()
        return thread

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

    def _clock_skew(self) -> str:
        self.skew += round(self.rng.uniform(0.5, 1.0) * self.skew_step, 1)
        self._set_skew(self.skew)
        return f"clocks now {self.skew:+.0f} s"

    def _set_skew(self, seconds: float) -> None:
        _knobs(f"{self.system.multimail_url}/_sandbox/knobs", {"clock_skew_seconds": seconds})
        _knobs(f"{self.system.intercom_url}/_sandbox/knobs", {"clock_skew": seconds})


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
