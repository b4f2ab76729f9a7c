"""Ctrl-C stops all of `make run`: the embedded PostgreSQL and Redis too, not only the app's processes.

`python -m reviewqueue.local` runs on the embedded default in a var folder of its own, with the web
server on a free port. The sandboxes are left off (their ports are fixed, and another run may hold
them) and the vendors' URLs point at a closed local port, so nothing leaves the machine. Every
process it started is read from /proc while it is up: its descendants, and the servers it started
in their own sessions (their command lines name the var folder), with their descendants. A test
run on the embedded default stops its servers at its end too.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.livesystem import BASE_DIR, free_port

UP_WITHIN = 240  # seconds: the first start makes the database and migrates it on a busy machine
GONE_WITHIN = 60


def _stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, state, start time) of a process, None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return int(fields[1]), fields[0], int(fields[19])


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""


def _processes() -> dict[int, tuple[int, str, int]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            found[int(entry.name)] = stat
    return found


def started_by(pid: int, var_dir: Path) -> dict[int, int]:
    """The live processes descending from `pid` or from a process naming `var_dir`: pid → start time."""
    return descendants({pid} | {p for p in _processes() if str(var_dir) in _command_line(p)})


def descendants(roots: set[int]) -> dict[int, int]:
    """The live processes among `roots` and descending from them: pid → start time."""
    processes = {p: stat for p, stat in _processes().items() if stat[1] != "Z"}
    found, frontier = {}, roots & processes.keys()
    while frontier:
        found.update({p: processes[p][2] for p in frontier})
        frontier = {p for p, stat in processes.items() if stat[0] in frontier and p not in found}
    return found


def still_running(started: dict[int, int]) -> list[str]:
    """Those of `started` still running (a zombie is dead: where init reaps nothing, one stays listed)."""
    left = []
    for pid, start_time in started.items():
        stat = _stat(pid)
        if stat is not None and stat[2] == start_time and stat[1] != "Z":
            left.append(f"{pid} {_command_line(pid)[:150]}")
    return left


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("var")  # shared by the module's runs: the database is made once


def embedded_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """This environment on the embedded default, kept in `var_dir`."""
    env = {name: value for name, value in os.environ.items() if name not in ("DATABASE_URL", "REDIS_URL")}
    return {**env, "REVIEWQUEUE_VAR_DIR": str(var_dir), **extra}


def wait_gone(started: dict[int, int]) -> list[str]:
    """Those of `started` still running after GONE_WITHIN seconds."""
    deadline = time.monotonic() + GONE_WITHIN
    while (left := still_running(started)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


class LocalRun:
    def __init__(self, var_dir: Path, log: Path):
        self.var_dir = var_dir
        self.port = free_port()
        closed = f"http://127.0.0.1:{free_port()}"
        env = embedded_env(
            var_dir,
            REVIEWQUEUE_ADDRESS=f"127.0.0.1:{self.port}",
            REVIEWQUEUE_SANDBOX="0",
            MULTIMAIL_API_URL=closed,
            INTERCOM_API_URL=closed,
        )
        self.log = log
        with open(log, "ab") as out:
            # Its own session and process group, as a terminal gives `make run`: Ctrl-C signals the group.
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "reviewqueue.local"],
                cwd=BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_until_up(self) -> dict[int, int]:
        """Wait for the web server to answer, then for the process tree to settle; what it started."""
        deadline = time.monotonic() + UP_WITHIN
        while not self._answers():
            assert self.popen.poll() is None, f"make run exited early:\n{self.log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"make run did not come up:\n{self.log.read_text()[-3000:]}"
            time.sleep(0.5)
        started: dict[int, int] = {}
        for _ in range(10):  # the Celery worker's children and the servers' helpers arrive a little later
            started |= started_by(self.popen.pid, self.var_dir)
            time.sleep(0.5)
        return started

    def _answers(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def wait_gone(self, started: dict[int, int]) -> list[str]:
        self.popen.wait(timeout=GONE_WITHIN)
        return wait_gone(started | started_by(self.popen.pid, self.var_dir))


def _servers(started: dict[int, int]) -> dict[int, int]:
    """The embedded PostgreSQL's postmaster and Redis among `started`."""
    return {
        pid: t
        for pid, t in started.items()
        if "bin/postgres " in _command_line(pid) or "redis-server" in _command_line(pid)
    }


def test_ctrl_c_stops_every_process_make_run_started(var_dir, tmp_path):
    run = LocalRun(var_dir, tmp_path / "run.log")
    started = run.wait_until_up()
    assert len(_servers(started)) == 2, started  # the embedded PostgreSQL and Redis are among them
    os.killpg(run.popen.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
    assert run.wait_gone(started) == []


def test_sigterm_stops_them_and_a_killed_runs_servers_are_reused_then_stopped(var_dir, tmp_path):
    killed = LocalRun(var_dir, tmp_path / "killed.log")
    killed_started = killed.wait_until_up()
    stale = _servers(killed_started)
    for pid in descendants({killed.popen.pid}):  # make run and all its children die at once (kill -9)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    killed.popen.wait(timeout=GONE_WITHIN)
    assert len(still_running(stale)) == 2  # the servers live on, as a killed process cannot stop them

    run = LocalRun(var_dir, tmp_path / "run.log")
    started = run.wait_until_up()
    assert stale.items() <= started.items()  # the stale servers are reused, not started twice
    run.popen.send_signal(signal.SIGTERM)  # to make run's own process only, as `kill` sends it
    assert run.wait_gone(started) == []


def test_a_test_run_stops_the_servers_it_started(var_dir, tmp_path):
    log = tmp_path / "pytest.log"
    with open(log, "wb") as out:
        tests = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "tests/test_text.py"],
            cwd=BASE_DIR,
            env=embedded_env(var_dir),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    servers: dict[int, int] = {}
    deadline = time.monotonic() + UP_WITHIN
    while tests.poll() is None and time.monotonic() < deadline:
        servers |= _servers(started_by(tests.pid, var_dir))
        time.sleep(0.2)
    assert tests.wait(timeout=GONE_WITHIN) == 0, log.read_text()[-3000:]
    assert len(servers) == 2  # it ran on the embedded PostgreSQL and Redis
    assert wait_gone(servers | started_by(tests.pid, var_dir)) == []
