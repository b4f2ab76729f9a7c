"""Finding 13: a session had no absolute lifetime.

The idle timeout alone let a session used now and then live for ever, and a stolen cookie with it.
Sessions now end SESSION_MAX_AGE seconds (12 hours by default) after login, however active.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

from django.urls import reverse

from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def test_a_session_ends_at_its_lifetime_however_active(client, reviewer, settings):
    settings.SESSION_MAX_AGE = 4
    started = time.monotonic()
    client.post(reverse("login"), {"username": "rita", "password": PASSWORD})
    while time.monotonic() - started < 2:  # busy the whole time: the idle timeout never comes near
        assert client.get(reverse("review:queue")).status_code == 200
        time.sleep(0.25)
    time.sleep(4.2 - (time.monotonic() - started))
    response = client.get(reverse("review:queue"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session  # ended, not merely refused once


def test_logging_in_again_starts_a_new_lifetime(client, reviewer, settings):
    settings.SESSION_MAX_AGE = 2
    client.post(reverse("login"), {"username": "rita", "password": PASSWORD})
    time.sleep(2.1)
    assert client.get(reverse("review:queue")).status_code == 302
    client.post(reverse("login"), {"username": "rita", "password": PASSWORD})
    assert client.get(reverse("review:queue")).status_code == 200


def test_a_session_from_before_the_lifetime_existed_counts_from_its_next_request(client, reviewer, settings):
    settings.SESSION_MAX_AGE = 2
    client.force_login(reviewer)  # a session made without going through the login page
    assert client.get(reverse("review:queue")).status_code == 200
    time.sleep(2.1)
    assert client.get(reverse("review:queue")).status_code == 302


def test_the_lifetime_is_twelve_hours_unless_set():
    env = {k: v for k, v in os.environ.items() if k != "SESSION_MAX_AGE"}
    code = "import django; django.setup(); from django.conf import settings; print(settings.SESSION_MAX_AGE)"
    run = lambda **extra: subprocess.run(  # noqa: E731
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "reviewqueue.settings", **extra},
        capture_output=True,
        text=True,
    )
    assert run().stdout.split()[-1] == str(12 * 60 * 60)
    assert run(SESSION_MAX_AGE="3600").stdout.split()[-1] == "3600"
    refused = run(SESSION_MAX_AGE="soon")
    assert refused.returncode != 0 and "SESSION_MAX_AGE must be a whole number" in refused.stderr
