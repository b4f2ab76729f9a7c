"""Real processes for end-to-end tests and benchmarks: gunicorn, Celery workers and the sandboxes.

Everything binds 127.0.0.1 on a port found free at runtime, logs to a file in a temporary folder
(shown when a process fails to come up) and is stopped by `LiveSystem.stop()`. The browser suite,
the fault suite and bench/scale.py all start the system through here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TEST_SECRET_KEY = "tests-only-secret-key-not-for-production-0123456789"


def sandbox_keys() -> dict[str, str]:
    """The sandboxes' fixed local credentials, given explicitly so both sides surely agree."""
    from reviewqueue.sandbox.intercom import defaults as intercom
    from reviewqueue.sandbox.multimail import defaults as multimail
    from reviewqueue.sandbox.slack import defaults as slack

    return {
        "MULTIMAIL_API_KEY": multimail.OVERSIGHT_KEY,
        "MULTIMAIL_SEND_API_KEY": multimail.SEND_KEY,
        "MULTIMAIL_ADMIN_API_KEY": multimail.ADMIN_KEY,
        "MULTIMAIL_WEBHOOK_SECRET": multimail.WEBHOOK_SECRET,
        "INTERCOM_ACCESS_TOKEN": intercom.ACCESS_TOKEN,
        "INTERCOM_CLIENT_SECRET": intercom.CLIENT_SECRET,
        "SLACK_BOT_TOKEN": slack.BOT_TOKEN,
        "SLACK_SIGNING_SECRET": slack.SIGNING_SECRET,
    }


class WaitTimeout(AssertionError):
    pass


def wait_for(check, *, timeout: float, what: str, interval: float = 0.1, process: Process | None = None):
    """Poll `check` until it returns something truthy, and return that; fail with `what` (and the last
    value or error seen) otherwise.

    With `process`, for a service coming up: an error from `check` means "not up yet" (it is kept for
    the message), and the wait fails at once, with the process's log, when the process exits."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if process is not None and not process.alive():
            raise WaitTimeout(f"{what}: {process.name} exited with {process.popen.returncode}\n{process.log_tail()}")
        try:
            last = check()
        except Exception as error:
            if process is None:
                raise
            last = error
        else:
            if last:
                return last
        time.sleep(interval)
    tail = f"\n{process.log_tail()}" if process is not None else ""
    raise WaitTimeout(f"{what}: not true after {timeout:g} s (last: {last!r}){tail}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(settings_dict: dict) -> str:
    """A postgres:// URL for a Django DATABASES entry (the test database, when called from a test)."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or ""
    port = settings_dict.get("PORT") or ""
    if host.startswith("/"):  # a socket directory
        return f"postgres://{auth}/{settings_dict['NAME']}?host={host}"
    return f"postgres://{auth}{host}{':' + str(port) if port else ''}/{settings_dict['NAME']}"


@dataclass
class Process:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen | None = None

    def start(self) -> Process:
        self.log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.popen = subprocess.Popen(
            self.argv, cwd=BASE_DIR, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_text()[-chars:]

    def signal_group(self, signum: int) -> None:
        """Signal the process and its children (gunicorn workers, Celery's pool)."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signum)

    def kill(self) -> None:
        self.signal_group(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(timeout=10)

    def stop(self, timeout: float = 5) -> None:
        if self.popen is None:
            return
        if self.alive():
            self.signal_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        # Children that outlived their parent (a killed Celery master leaves its pool behind).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.log.close()


def http_ok(url: str) -> bool:
    return httpx.get(url, timeout=2).status_code < 500


@dataclass
class LiveSystem:
    """The app, its workers and the sandboxes, wired together on loopback."""

    database_url: str
    redis_url: str
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="rq-live-")))
    multimail_port: int = field(default_factory=free_port)
    intercom_port: int = field(default_factory=free_port)
    slack_port: int = field(default_factory=free_port)  # the Slack sandbox, when a test serves one there
    web_port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)
    readiness: dict = field(default_factory=dict)

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def multimail_url(self) -> str:
        return f"http://127.0.0.1:{self.multimail_port}"

    @property
    def intercom_url(self) -> str:
        return f"http://127.0.0.1:{self.intercom_port}"

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "reviewqueue.settings",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": os.environ.get("SECRET_KEY") or TEST_SECRET_KEY,
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CSRF_TRUSTED_ORIGINS": self.web_url,
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
            "REVIEWQUEUE_SANDBOX": "1",
            "MULTIMAIL_API_URL": self.multimail_url,
            "INTERCOM_API_URL": self.intercom_url,
            "SLACK_API_URL": f"http://127.0.0.1:{self.slack_port}/api",
            "POLL_INTERVAL": "5",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **sandbox_keys(),
        }
        env.update(self.extra_env)
        return env

    def _process(self, name: str, argv: list[str], ready, *, wait: bool, timeout: float = 40) -> Process:
        """Start a process; with wait=False, `wait_ready()` later waits for it (start several at once)."""
        process = Process(name=name, argv=argv, env=self.env(), log_path=self.workdir / f"{name}.log").start()
        self.processes[name] = process
        self.readiness[name] = (ready, timeout)
        if wait:
            self.wait_ready(name)
        return process

    def wait_ready(self, *names: str) -> None:
        for name in names or list(self.readiness):
            ready, timeout = self.readiness.pop(name, (None, 0))
            if ready is not None:
                wait_for(ready, timeout=timeout, what=name, process=self.processes[name])

    # --- the sandboxes -----------------------------------------------------------------------
    def start_multimail(self, *extra: str, wait: bool = True, webhooks: bool = True) -> Process:
        argv = [PYTHON, "-m", "reviewqueue.sandbox.multimail", "--port", str(self.multimail_port)]
        argv += ["--webhook-url", f"{self.web_url}/webhooks/multimail"] if webhooks else []
        argv += list(extra)
        return self._process("multimail", argv, lambda: http_ok(f"{self.multimail_url}/_sandbox/knobs"), wait=wait)

    def start_intercom(self, *extra: str, wait: bool = True) -> Process:
        argv = [PYTHON, "-m", "reviewqueue.sandbox.intercom", "--port", str(self.intercom_port)]
        argv += ["--webhook-url", f"{self.web_url}/webhooks/intercom", *extra]
        return self._process("intercom", argv, lambda: http_ok(f"{self.intercom_url}/healthz"), wait=wait)

    # --- our processes -----------------------------------------------------------------------
    def start_web(self, *, workers: int = 2, threads: int = 4, wait: bool = True) -> Process:
        argv = [PYTHON, "-m", "gunicorn", "reviewqueue.wsgi", "--bind", f"127.0.0.1:{self.web_port}"]
        argv += ["--workers", str(workers), "--threads", str(threads), "--graceful-timeout", "3"]
        return self._process(
            "web", argv, lambda: httpx.get(f"{self.web_url}/healthz", timeout=2).status_code == 200, wait=wait
        )

    def start_worker(
        self, *, name: str = "worker", concurrency: int = 2, queues: str | None = None, wait: bool = True
    ) -> Process:
        argv = [PYTHON, "-m", "celery", "-A", "reviewqueue", "worker", "--loglevel", "INFO", "--without-heartbeat"]
        argv += ["--without-gossip", "--without-mingle", "--concurrency", str(concurrency), "-n", f"{name}@%h"]
        if queues:
            argv += ["-Q", queues]
        log_path = self.workdir / f"{name}.log"
        return self._process(name, argv, lambda: " ready." in log_path.read_text(errors="replace"), wait=wait)

    def start_beat(self) -> Process:
        schedule = self.workdir / "celerybeat-schedule"
        argv = [PYTHON, "-m", "celery", "-A", "reviewqueue", "beat", "--loglevel", "INFO", "--schedule", str(schedule)]
        return self._process("beat", argv, None, wait=False)

    def stop(self) -> None:
        # All at once: each gets SIGTERM now, then each is waited for (and killed if it lingers).
        for process in self.processes.values():
            process.signal_group(signal.SIGTERM)
        for process in reversed(list(self.processes.values())):
            process.stop()
        self.processes.clear()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def logs(self) -> str:
        return "\n".join(f"===== {name} =====\n{p.log_tail()}" for name, p in self.processes.items())


# --- private servers for the fault runs (never the machine's shared PostgreSQL or Redis) ---------


@dataclass
class PrivateRedis:
    """A redis-server of our own on a free loopback port, without persistence: a restart loses everything."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        argv += ["--daemonize", "no"]
        self.process = Process("redis", argv, dict(os.environ), self.workdir / "redis.log").start()
        wait_for(self._answers, timeout=10, what="private Redis", process=self.process)
        return self

    def _answers(self) -> bool:
        import redis

        return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())

    def restart(self, *, down_for: float = 0.0) -> None:
        """Kill it (no shutdown save: there is none) and start an empty one on the same port."""
        self.process.kill()
        self.process.stop()
        time.sleep(down_for)
        self.start()

    def stop(self) -> None:
        if self.process:
            self.process.stop()


@dataclass
class PrivatePostgres:
    """A PostgreSQL of our own (pgserver's binaries) in a temporary folder, reached over its socket."""

    workdir: Path
    database: str = "reviewqueue_faults"
    server: object = None

    def start(self) -> PrivatePostgres:
        import pgserver

        self.pgdata = self.workdir / "pgdata"
        self.server = pgserver.get_server(self.pgdata, cleanup_mode="delete")
        self.server.psql(f"CREATE DATABASE {self.database};")
        return self

    @property
    def socket_dir(self) -> str:
        return str(self.server.get_postmaster_info().socket_dir)

    @property
    def url(self) -> str:
        return f"postgres://postgres@/{self.database}?host={self.socket_dir}"

    def _pg_ctl(self, *args: str) -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(list(args), pgdata=self.pgdata, user=self.server.system_user, timeout=30)

    def restart(self, *, down_for: float = 0.0) -> None:
        """Stop it the hard way (every connection is cut, as in a crash) and start it again."""
        socket_dir = self.socket_dir
        self._pg_ctl("-w", "-m", "immediate", "stop")
        time.sleep(down_for)
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(self.pgdata / "log"), "start")

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()
