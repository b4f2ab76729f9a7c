"""The single sign-on and two-factor settings: understood or refused at start-up with a message naming
them, and `check --deploy` clean with single sign-on on."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from reviewqueue.accounts.oidc_config import parse_role_map, parse_two_factor_policy
from reviewqueue.accounts.roles import ROLES

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_LIKE = {
    "DEBUG": "0",
    "SECRET_KEY": "a-production-like-secret-key-with-plenty-of-entropy-8127364",
    "ALLOWED_HOSTS": "reviewqueue.example.com",
    "DATABASE_URL": "postgres://reviewqueue@db.example.com:5432/reviewqueue",
    "REDIS_URL": "redis://redis.example.com:6379/0",
    "REVIEWQUEUE_SANDBOX": "0",
    "EMAIL_URL": "smtp://mail.example.com:587",  # production sends mail (digests) through a real server
}
SSO = {
    "OIDC_ISSUER": "https://login.example.com/oauth2/default",
    "OIDC_CLIENT_ID": "reviewqueue",
    "OIDC_CLIENT_SECRET": "a-real-client-secret",
    "OIDC_ROLE_MAP": "rq-reviewers=reviewer,rq-auditors=auditor,rq-admins=admin",
}


def run_django(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OIDC_", "BREAK_GLASS", "TWO_FACTOR"))}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_the_role_map_reads_group_equals_role():
    assert parse_role_map("M", "rq-reviewers=reviewer, rq-admins = admin,", ROLES) == {
        "rq-reviewers": "reviewer",
        "rq-admins": "admin",
    }
    # A group name may itself hold "=" (an LDAP DN): the role is after the last one.
    assert parse_role_map("M", "cn=Admins=admin", ROLES) == {"cn=Admins": "admin"}


@pytest.mark.parametrize(
    ("text", "message"),
    [("rq-reviewers", "is not group=role"), ("rq-x=superuser", "'superuser' is not a role"), ("=admin", "group=role")],
)
def test_a_bad_role_map_is_refused_naming_the_setting(text, message):
    with pytest.raises(ImproperlyConfigured, match=message) as error:
        parse_role_map("OIDC_ROLE_MAP", text, ROLES)
    assert "OIDC_ROLE_MAP" in str(error.value)


def test_the_settings_list_the_same_roles_as_accounts():
    from django.conf import settings

    assert set(settings.OIDC_ROLE_MAP.values()) <= set(ROLES)
    assert ROLES == ("reviewer", "auditor", "admin")  # settings.py names them before Django is set up


def test_a_two_factor_policy_is_admins_or_everyone():
    assert parse_two_factor_policy("TWO_FACTOR_REQUIRED", "everyone") == "everyone"
    with pytest.raises(ImproperlyConfigured, match="TWO_FACTOR_REQUIRED must be one of admins, everyone"):
        parse_two_factor_policy("TWO_FACTOR_REQUIRED", "nobody")


def test_oidc_only_without_a_provider_stops_start_up():
    result = run_django(["-c", "import django; django.setup()"], {**PRODUCTION_LIKE, "OIDC_ONLY": "1"})
    assert result.returncode != 0
    assert "OIDC_ONLY=1 turns password sign-in off, but OIDC_ISSUER is not set" in result.stderr


def test_a_provider_without_a_role_map_stops_start_up():
    env = {**PRODUCTION_LIKE, **SSO, "OIDC_ROLE_MAP": ""}
    result = run_django(["-c", "import django; django.setup()"], env)
    assert result.returncode != 0
    assert "OIDC_ROLE_MAP is empty" in result.stderr


def test_deploy_checks_pass_with_single_sign_on_only_and_a_break_glass_admin():
    env = {
        **PRODUCTION_LIKE,
        **SSO,
        "OIDC_ONLY": "1",
        "BREAK_GLASS_USERNAME": "glass",
        "TWO_FACTOR_REQUIRED": "everyone",
    }
    result = run_django(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
