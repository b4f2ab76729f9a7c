"""Settings come from the environment and refuse values they cannot understand, by name."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from reviewqueue.env import database_from_url, env_bool, env_int, env_url

ROOT = Path(__file__).resolve().parent.parent


def start_django(**overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "reviewqueue.settings", **overrides}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be a boolean"),
        ("POLL_INTERVAL", "soon", "POLL_INTERVAL must be a whole number"),
        ("CLAIM_TTL", "5", "CLAIM_TTL must be at least 30"),
        ("DATABASE_URL", "mysql://db/x", "DATABASE_URL must start with one of postgres://"),
        ("REDIS_URL", "memcached://x", "REDIS_URL must start with one of redis://"),
        ("SECRET_KEY", "short", "SECRET_KEY must be at least 32 characters"),
        ("MULTIMAIL_API_URL", "ftp://x", "MULTIMAIL_API_URL must start with one of https://"),
    ],
)
def test_the_app_refuses_to_start_on_a_bad_value_naming_it(variable, value, message):
    result = start_django(**{variable: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_a_secret_key_is_required_outside_the_local_default():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(DJANGO_SETTINGS_MODULE="reviewqueue.settings", DATABASE_URL="postgres://u@db.example/x")
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_deploy_checks_pass_with_a_production_like_environment():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": "a-production-like-secret-key-with-plenty-of-entropy-8127364",
            "ALLOWED_HOSTS": "reviewqueue.example.com",
            "DATABASE_URL": "postgres://reviewqueue@db.example.com:5432/reviewqueue",
            "REDIS_URL": "redis://redis.example.com:6379/0",
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_env_bool_reads_the_usual_spellings(monkeypatch):
    for text, expected in [("1", True), ("yes", True), ("On", True), ("0", False), ("false", False)]:
        monkeypatch.setenv("FLAG", text)
        assert env_bool("FLAG", not expected) is expected


def test_env_int_applies_bounds(monkeypatch):
    monkeypatch.setenv("N", "7")
    assert env_int("N", 1, minimum=5) == 7
    with pytest.raises(ImproperlyConfigured, match="at most 6"):
        env_int("N", 1, minimum=0, maximum=6)


def test_env_url_strips_the_trailing_slash(monkeypatch):
    monkeypatch.setenv("U", "https://api.eu.intercom.io/")
    assert env_url("U", schemes=("https",)) == "https://api.eu.intercom.io"


def test_database_url_with_a_socket_directory():
    db = database_from_url("postgres://postgres@/reviewqueue?host=/srv/var/postgres")
    assert db["HOST"] == "/srv/var/postgres"
    assert db["NAME"] == "reviewqueue"


def test_database_url_must_name_a_database():
    with pytest.raises(ImproperlyConfigured, match="must name a database"):
        database_from_url("postgres://u@host:5432")
