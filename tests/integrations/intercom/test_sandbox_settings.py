"""With REVIEWQUEUE_SANDBOX on, Intercom defaults to the local sandbox; real values always win."""

import os
import subprocess
import sys

from reviewqueue.sandbox.intercom import defaults

PRINT = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.INTERCOM_API_URL, s.INTERCOM_ACCESS_TOKEN, s.INTERCOM_CLIENT_SECRET)"
)


def intercom_settings(**env) -> list[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("INTERCOM_") and k != "REVIEWQUEUE_SANDBOX"}
    base["DJANGO_SETTINGS_MODULE"] = "reviewqueue.settings"
    result = subprocess.run(
        [sys.executable, "-c", PRINT], env={**base, **env}, capture_output=True, text=True, check=True
    )
    return result.stdout.split()


def test_sandbox_on_points_intercom_at_the_local_sandbox():
    assert intercom_settings(REVIEWQUEUE_SANDBOX="1") == [
        defaults.API_URL,
        defaults.ACCESS_TOKEN,
        defaults.CLIENT_SECRET,
    ]


def test_real_values_win_over_the_sandbox_defaults():
    found = intercom_settings(
        REVIEWQUEUE_SANDBOX="1",
        INTERCOM_API_URL="https://api.eu.intercom.io",
        INTERCOM_ACCESS_TOKEN="real-token",
        INTERCOM_CLIENT_SECRET="real-secret",
    )
    assert found == ["https://api.eu.intercom.io", "real-token", "real-secret"]


def test_sandbox_off_has_no_credentials_and_the_us_region():
    assert intercom_settings(REVIEWQUEUE_SANDBOX="0") == ["https://api.intercom.io"]
