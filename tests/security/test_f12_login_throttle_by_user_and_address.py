"""Finding 12: anyone could lock anyone out.

Five failures on a username locked that account from everywhere, and five from an address locked
everyone behind it (behind a proxy with the header untrusted, every client shares one address). Now
one (username, address) pair is throttled, with a wait that doubles past the limit instead of a lock;
X-Forwarded-For and X-Forwarded-Proto are believed only with BEHIND_PROXY (formerly
TRUST_X_FORWARDED_FOR) on, and a process says so once when requests carry X-Forwarded-For it ignores.
"""

import ipaddress
import logging
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def three_free_failures(settings):
    settings.LOGIN_FAILURE_LIMIT = 3


@pytest.fixture
def addresses():
    """Addresses no other test has used, so counts left in the cache by one test never reach another."""
    first = ipaddress.ip_address("10.0.0.0") + secrets.randbelow(2**20) * 8
    return (first + n for n in range(8))


def log_in(client: Client, username: str, password: str, address, **headers):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=str(address), headers=headers
    )


def fail(client: Client, username: str, times: int, address) -> None:
    for _ in range(times):
        assert log_in(client, username, "wrong", address).status_code == 200


def test_failures_from_one_address_do_not_lock_the_account_elsewhere(client, reviewer, addresses):
    attacker, rita_at_home = next(addresses), next(addresses)
    fail(client, "rita", 3, attacker)  # someone guessing rita's password
    assert log_in(client, "rita", "wrong", attacker).status_code == 429
    response = log_in(Client(), "rita", PASSWORD, rita_at_home)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_failures_for_one_name_do_not_slow_others_at_the_same_address(client, reviewer, admin_user, addresses):
    office = next(addresses)  # everyone behind one proxy
    fail(client, "mallory", 3, office)
    assert log_in(client, "mallory", "wrong", office).status_code == 429
    assert log_in(Client(), "rita", PASSWORD, office).status_code == 302
    assert log_in(Client(), "ada", PASSWORD, office).status_code == 302


def test_past_the_limit_the_wait_doubles_with_each_failure_and_then_passes(client, reviewer, addresses):
    here = next(addresses)
    fail(client, "rita", 3, here)
    first = log_in(client, "rita", PASSWORD, here)  # even the right password waits: no guess is checked
    assert first.status_code == 429
    assert first["Retry-After"] == "1"
    assert b"Try again in 1 second" in first.content
    time.sleep(1.1)
    fail(client, "rita", 1, here)
    assert log_in(client, "rita", PASSWORD, here)["Retry-After"] == "2"
    time.sleep(2.1)
    fail(client, "rita", 1, here)
    assert log_in(client, "rita", PASSWORD, here)["Retry-After"] == "4"
    assert "_auth_user_id" not in client.session
    time.sleep(4.1)
    assert log_in(client, "rita", PASSWORD, here).status_code == 302  # a wait, never a lock


def test_the_wait_never_exceeds_the_window(settings):
    from reviewqueue.accounts.throttle import backoff_seconds

    settings.LOGIN_FAILURE_WINDOW = 900
    assert [backoff_seconds(n) for n in range(1, 8)] == [0, 0, 1, 2, 4, 8, 16]
    assert backoff_seconds(13) == 900 and backoff_seconds(10_000) == 900


def test_a_success_clears_the_count(client, reviewer, addresses):
    here = next(addresses)
    fail(client, "rita", 2, here)
    assert log_in(client, "rita", PASSWORD, here).status_code == 302
    fail(Client(), "rita", 2, here)
    assert log_in(Client(), "rita", PASSWORD, here).status_code == 302  # 4 failures, never 3 in a row


def test_x_forwarded_for_is_ignored_unless_behind_a_proxy(client, reviewer, settings, addresses):
    settings.BEHIND_PROXY = False
    here, claimed = next(addresses), next(addresses)
    fail(client, "rita", 3, here)
    # A client cannot escape its own wait by claiming another address.
    spoofed = log_in(client, "rita", PASSWORD, here, **{"X-Forwarded-For": str(claimed)})
    assert spoofed.status_code == 429


def test_behind_a_proxy_each_client_is_throttled_by_its_own_address(client, reviewer, settings, addresses):
    settings.BEHIND_PROXY = True
    proxy, guesser, rita = next(addresses), str(next(addresses)), str(next(addresses))
    for _ in range(3):
        assert log_in(client, "rita", "wrong", proxy, **{"X-Forwarded-For": guesser}).status_code == 200
    assert log_in(client, "rita", PASSWORD, proxy, **{"X-Forwarded-For": guesser}).status_code == 429
    assert log_in(Client(), "rita", PASSWORD, proxy, **{"X-Forwarded-For": rita}).status_code == 302


def test_untrusted_x_forwarded_for_is_warned_about_once(reviewer, caplog):
    client = Client()
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            client.get(reverse("login"), headers={"X-Forwarded-For": "203.0.113.7"})
    warnings = [record for record in caplog.records if "X-Forwarded-For" in record.getMessage()]
    assert len(warnings) == 1
    assert "BEHIND_PROXY" in warnings[0].getMessage()


def settings_value(name: str, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("BEHIND_PROXY", "TRUST_X_FORWARDED_FOR")}
    code = f"import django; django.setup(); from django.conf import settings; print(repr(settings.{name}))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "reviewqueue.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def test_x_forwarded_proto_is_trusted_only_behind_a_proxy():
    assert settings_value("SECURE_PROXY_SSL_HEADER") == "None"
    assert settings_value("SECURE_PROXY_SSL_HEADER", BEHIND_PROXY="1") == "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_the_old_name_trust_x_forwarded_for_still_turns_it_on():
    assert settings_value("BEHIND_PROXY", TRUST_X_FORWARDED_FOR="1") == "True"
    assert settings_value("BEHIND_PROXY", TRUST_X_FORWARDED_FOR="1", BEHIND_PROXY="0") == "False"
