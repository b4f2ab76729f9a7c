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


def setup_django_for_pages(url: str, *, cache_prefix: str = "", env: dict[str, str] | None = None) -> None:
    """Django on `url`'s database, migrated, serving pages to the test client (testserver, plain http,
    DEBUG off). `cache_prefix`: the bench's own key space in the shared Redis database, so tests running
    meanwhile cannot clear its cache. `env`: more settings the bench needs, set before Django starts."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789abcdef")
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["SECURE_SSL_REDIRECT"] = "0"
    os.environ["DEBUG"] = "0"
    os.environ.update(env or {})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewqueue.settings")
    import django

    django.setup()
    if cache_prefix:
        from django.conf import settings

        settings.CACHES["default"]["KEY_PREFIX"] = cache_prefix
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
