"""A benchmark's own database, made beside the one DATABASE_URL names, so no run touches real data."""

import os
import sys
from urllib.parse import urlsplit, urlunsplit


def bench_database_url(suffix: str) -> str:
    """DATABASE_URL with `suffix` added to the database name; exits with a message when it is unset."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit(f"bench: set DATABASE_URL (postgres://…); it makes its own database beside it ({suffix})")
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + parts.path.lstrip("/") + suffix))


def _maintenance(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


def recreate_database(url: str) -> None:
    import psycopg

    admin, name = _maintenance(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg

    admin, name = _maintenance(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
