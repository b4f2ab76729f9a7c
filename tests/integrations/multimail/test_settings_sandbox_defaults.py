"""With REVIEWQUEUE_SANDBOX on, MultiMail settings default to the local sandbox; real values win."""

import json
import os
import subprocess
import sys
from pathlib import Path

from reviewqueue.sandbox.multimail import defaults

ROOT = Path(__file__).resolve().parents[3]
NAMES = [
    "MULTIMAIL_API_URL",
    "MULTIMAIL_API_KEY",
    "MULTIMAIL_SEND_API_KEY",
    "MULTIMAIL_ADMIN_API_KEY",
    "MULTIMAIL_WEBHOOK_SECRET",
]


def multimail_settings(**overrides) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in NAMES and k != "REVIEWQUEUE_SANDBOX"}
    env.update(DJANGO_SETTINGS_MODULE="reviewqueue.settings", **overrides)
    code = (
        "import json; from django.conf import settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {NAMES!r}}}))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_sandbox_on_without_real_values_uses_the_sandbox_url_keys_and_secret():
    found = multimail_settings(REVIEWQUEUE_SANDBOX="1")
    assert found == {
        "MULTIMAIL_API_URL": defaults.API_URL,
        "MULTIMAIL_API_KEY": defaults.OVERSIGHT_KEY,
        "MULTIMAIL_SEND_API_KEY": defaults.SEND_KEY,
        "MULTIMAIL_ADMIN_API_KEY": defaults.ADMIN_KEY,
        "MULTIMAIL_WEBHOOK_SECRET": defaults.WEBHOOK_SECRET,
    }


def test_a_real_key_in_the_environment_turns_every_sandbox_default_off():
    found = multimail_settings(REVIEWQUEUE_SANDBOX="1", MULTIMAIL_API_KEY="mm_live_real")
    assert found["MULTIMAIL_API_URL"] == "https://api.multimail.dev"
    assert found["MULTIMAIL_API_KEY"] == "mm_live_real"
    assert found["MULTIMAIL_SEND_API_KEY"] == "" and found["MULTIMAIL_ADMIN_API_KEY"] == ""
    assert found["MULTIMAIL_WEBHOOK_SECRET"] == ""


def test_sandbox_off_leaves_everything_unset():
    found = multimail_settings(REVIEWQUEUE_SANDBOX="0")
    assert found["MULTIMAIL_API_URL"] == "https://api.multimail.dev" and found["MULTIMAIL_API_KEY"] == ""
