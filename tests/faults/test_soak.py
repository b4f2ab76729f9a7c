"""The soak's short version (bench/soak.py): 200 drafts decided over 4 minutes while 10 worker SIGKILLs,
a web process kill, Redis restarted and flushed, PostgreSQL restarted and a sandbox error burst land on
a seeded schedule (with MultiMail's own webhook chaos and the sandboxes' clocks skewed); then every
decision, note, tag, callback and customer reply is checked against MultiMail's, Intercom's and the
agent's own records. The tamper, hostile-content and fuzz sections are left out (--no-extras).

Runs on private PostgreSQL and Redis (DATABASE_URL and REDIS_URL are left out so the soak starts its
own: it restarts them). The soak itself is slow: `make test-faults`; the schedule's tests run in `make test`.
"""

import os
import queue
import re
import signal
import subprocess
import threading
import time

import pytest

from tests.livesystem import BASE_DIR, PYTHON, wait_for

SEED = 23


def _figure(table: str, name: str) -> str:
    match = re.search(rf"^\| {re.escape(name)} \| (.*) \|$", table, re.MULTILINE)
    assert match, f"no row {name!r} in:\n{table}"
    return match.group(1)


def _soak_env() -> dict:
    """This environment without DATABASE_URL and REDIS_URL: the soak starts its own servers, to restart them."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.setdefault("SECRET_KEY", "tests-only-secret-key-not-for-production-0123456789")
    return env


@pytest.mark.slow  # the real system for 4 minutes, then its checks
def test_a_short_soak_under_faults_loses_doubles_and_forges_nothing(tmp_path):
    report = tmp_path / "RELIABILITY.md"
    env = _soak_env()
    argv = [PYTHON, "bench/soak.py", "--drafts", "200", "--minutes", "4", "--kills", "10", "--seed", str(SEED)]
    argv += ["--no-extras"]  # the tamper, hostile-content and fuzz sections have their own tests
    done = subprocess.run(
        [*argv, "--report", str(report)], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=1800
    )
    output = done.stdout + done.stderr
    assert report.exists(), output[-5000:]
    table = report.read_text()

    assert _figure(table, "faults: worker SIGKILL") == "10"
    assert int(_figure(table, "faults: PostgreSQL restart")) >= 1
    assert int(_figure(table, "faults: Redis restart")) >= 1
    assert _figure(table, "decisions lost at MultiMail") == "0", table
    assert _figure(table, "decisions doubled at MultiMail") == "0", table
    assert _figure(table, "decisions carried out differently") == "0", table
    assert _figure(table, "forged events accepted").startswith("0 of "), table
    assert _figure(table, "MultiMail tags lost / doubled").startswith("0 / 0 of "), table
    assert _figure(table, "Intercom tags lost / doubled").startswith("0 / 0 of "), table
    assert _figure(table, "callbacks lost / doubled").startswith("0 / 0 of "), table
    assert "lost from our context: 0" in _figure(table, "customer replies (Intercom webhooks)"), table
    assert ", 0 accepted (" in _figure(table, "stale-context guard"), table
    assert int(_figure(table, "faults: sandbox clock skew step")) >= 1
    assert _figure(table, "verify_audit").startswith("intact"), table
    assert _figure(table, "outbox items stuck / failed").startswith("0 /"), table
    assert done.returncode == 0, output[-5000:]


def test_the_same_seed_replays_the_same_fault_schedule_with_every_kind_in_proportion():
    import sys

    sys.path.insert(0, str(BASE_DIR / "bench"))
    import _soak_faults as faults

    schedule = faults.fault_schedule(SEED, 30 * 60, kills=100)
    assert schedule == faults.fault_schedule(SEED, 30 * 60, kills=100)
    assert schedule != faults.fault_schedule(SEED + 1, 30 * 60, kills=100)
    kinds = [kind for _, kind in schedule]
    # The default run: >= 100 worker kills, >= 10 web kills, >= 5 Redis restarts, >= 2 flushes, >= 3 PG.
    assert kinds.count(faults.WORKER_KILL) == 100
    assert kinds.count(faults.WEB_KILL) >= 10
    assert kinds.count(faults.REDIS_RESTART) >= 5
    assert kinds.count(faults.REDIS_FLUSH) >= 2
    assert kinds.count(faults.POSTGRES_RESTART) >= 3
    assert all(0 < offset < 0.9 * 30 * 60 + 1 for offset, _ in schedule)


def test_the_extra_sections_that_exist_add_their_rows_and_their_ok_joins_the_verdict(tmp_path, monkeypatch):
    import sys

    sys.path.insert(0, str(BASE_DIR / "bench"))
    import soak

    (tmp_path / "_soak_tamper.py").write_text(
        "def soak_rows(seed, workdir):\n    return [('tamper: detected', f'100% (seed {seed})')], True\n"
    )
    (tmp_path / "_soak_fuzz.py").write_text("def soak_rows(seed, workdir):\n    return [('fuzz: 5xx', '1')], False\n")
    # _soak_hostile.py does not exist there: skipped.
    monkeypatch.syspath_prepend(str(tmp_path))
    stand_ins = ("_soak_tamper", "_soak_fuzz")
    for name in stand_ins:  # the real sections, imported by an earlier test, come back after this one
        monkeypatch.delitem(sys.modules, name, raising=False)
    try:
        rows, ok = soak.extra_sections(7, tmp_path, directory=tmp_path)
    finally:
        for name in stand_ins:
            sys.modules.pop(name, None)
    assert rows == [("tamper: detected", "100% (seed 7)"), ("fuzz: 5xx", "1")]
    assert ok is False


@pytest.mark.slow  # starts the real system, then stops it
def test_ctrl_c_stops_the_soak_and_every_process_it_started(tmp_path):
    """Ctrl-C (SIGINT) while the drive runs: the soak stops at once, not after its schedule, and leaves no
    process of its run behind (the drive's threads used to wait out the schedule: a 30-minute run ran on)."""
    env = _soak_env()
    argv = [PYTHON, "bench/soak.py", "--drafts", "300", "--minutes", "10", "--seed", str(SEED), "--no-extras"]
    soak = subprocess.Popen(
        [*argv, "--report", str(tmp_path / "RELIABILITY.md")],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = _lines_of(soak)
        workdir = _wait_for_line(lines, r"logs in (\S+)", timeout=60).group(1)
        _wait_for_line(lines, r"^  driving: ", timeout=300)
        time.sleep(5)  # drafts in flight, reviewers deciding
        soak.send_signal(signal.SIGINT)
        assert soak.wait(timeout=120) == 128 + signal.SIGINT
    finally:
        if soak.poll() is None:  # still running: SIGTERM stops it and what it started
            soak.terminate()
            soak.wait(timeout=120)
    assert not (tmp_path / "RELIABILITY.md").exists()  # a stopped run writes no table
    left = [process.split(":", 1)[0] for process in _processes() if workdir in process]  # their pids
    assert left == [], f"processes of the run left behind: {left}"


def _lines_of(process: subprocess.Popen) -> queue.Queue:
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    return lines


def _wait_for_line(lines: queue.Queue, pattern: str, *, timeout: float) -> re.Match:
    """The first line of the output still unread that matches `pattern` (the lines before it are read too)."""

    def matched() -> re.Match | None:
        while True:
            try:
                line = lines.get_nowait()
            except queue.Empty:
                return None
            if match := re.search(pattern, line):
                return match

    return wait_for(matched, timeout=timeout, what=f"a line of the soak's output matching {pattern!r}")


def _processes() -> list[str]:
    """Every process's command line and environment (the run's processes name its folder in one or the other:
    the workers by their DATABASE_URL, PostgreSQL by its data directory)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline, open(f"/proc/{entry}/environ", "rb") as environ:
                    found.append(f"{entry}: {(cmdline.read() + b' ' + environ.read()).decode(errors='replace')}")
            except OSError:  # gone meanwhile, or not ours to read
                continue
    return found
