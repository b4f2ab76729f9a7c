"""Finding 10: the sandbox's Intercom secret could be live in production.

With REVIEWQUEUE_SANDBOX=1, INTERCOM_CLIENT_SECRET fell back to the value published in the
repository even beside a real Intercom URL and token, so anyone could sign webhooks. Now both
vendors take the sandbox's values all together or not at all (none once any of the vendor's
variables holds a value of its own), the sandbox's published credentials beside a vendor that is
not on loopback stop the process at start-up, and the web process logs which settings each uses.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from reviewqueue.sandbox.intercom import defaults as intercom
from reviewqueue.sandbox.multimail import defaults as multimail

ROOT = Path(__file__).resolve().parents[2]
VENDOR_VARIABLES = (
    "REVIEWQUEUE_SANDBOX",
    "MULTIMAIL_API_URL",
    "MULTIMAIL_API_KEY",
    "MULTIMAIL_SEND_API_KEY",
    "MULTIMAIL_ADMIN_API_KEY",
    "MULTIMAIL_WEBHOOK_SECRET",
    "INTERCOM_API_URL",
    "INTERCOM_ACCESS_TOKEN",
    "INTERCOM_CLIENT_SECRET",
)
PRINT_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    f"print(json.dumps({{n: getattr(s, n) for n in {VENDOR_VARIABLES[1:]!r}}}))"
)


def run(code: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in VENDOR_VARIABLES}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "reviewqueue.settings", **env},
        capture_output=True,
        text=True,
    )


def vendor_settings(**env: str) -> dict:
    result = run(PRINT_SETTINGS, **env)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def refusal(**env: str) -> str:
    result = run("import django; django.setup()", **env)
    assert result.returncode != 0, "the process started"
    return result.stderr


def test_the_sandbox_secret_is_not_used_beside_a_real_intercom():
    found = vendor_settings(
        REVIEWQUEUE_SANDBOX="1", INTERCOM_API_URL="https://api.eu.intercom.io", INTERCOM_ACCESS_TOKEN="real-token"
    )
    assert found["INTERCOM_CLIENT_SECRET"] == ""  # webhooks answer 503 "not set" rather than trust a public key
    assert found["INTERCOM_ACCESS_TOKEN"] == "real-token"


def test_one_real_intercom_value_turns_off_every_intercom_sandbox_default():
    found = vendor_settings(REVIEWQUEUE_SANDBOX="1", INTERCOM_CLIENT_SECRET="real-client-secret")
    assert found["INTERCOM_API_URL"] == "https://api.intercom.io"
    assert found["INTERCOM_ACCESS_TOKEN"] == ""
    assert found["MULTIMAIL_API_URL"] == multimail.API_URL  # each vendor decides alone


def test_one_real_multimail_value_turns_off_every_multimail_sandbox_default():
    found = vendor_settings(REVIEWQUEUE_SANDBOX="1", MULTIMAIL_WEBHOOK_SECRET="whsec_real")
    assert found["MULTIMAIL_API_URL"] == "https://api.multimail.dev"
    assert found["MULTIMAIL_API_KEY"] == "" and found["MULTIMAIL_ADMIN_API_KEY"] == ""
    assert found["INTERCOM_API_URL"] == intercom.API_URL


def test_the_sandbox_secret_set_beside_a_real_intercom_stops_start_up():
    stderr = refusal(
        REVIEWQUEUE_SANDBOX="1",
        INTERCOM_ACCESS_TOKEN="real-token",
        INTERCOM_CLIENT_SECRET=intercom.CLIENT_SECRET,  # copied from a sandbox .env
    )
    assert "INTERCOM_CLIENT_SECRET" in stderr and "https://api.intercom.io" in stderr


def test_the_sandbox_credentials_beside_a_real_multimail_stop_start_up_even_with_the_sandbox_off():
    stderr = refusal(
        REVIEWQUEUE_SANDBOX="0", MULTIMAIL_API_KEY="mm_live_real", MULTIMAIL_WEBHOOK_SECRET=multimail.WEBHOOK_SECRET
    )
    assert "MULTIMAIL_WEBHOOK_SECRET" in stderr and "https://api.multimail.dev" in stderr


def test_a_sandbox_on_another_loopback_port_may_use_the_sandbox_credentials():
    found = vendor_settings(
        REVIEWQUEUE_SANDBOX="1",
        INTERCOM_API_URL="http://127.0.0.1:18026",
        INTERCOM_ACCESS_TOKEN=intercom.ACCESS_TOKEN,
        INTERCOM_CLIENT_SECRET=intercom.CLIENT_SECRET,
    )
    assert found["INTERCOM_API_URL"] == "http://127.0.0.1:18026"
    assert found["INTERCOM_CLIENT_SECRET"] == intercom.CLIENT_SECRET


def test_the_web_process_logs_which_settings_each_vendor_uses():
    result = run(
        "import reviewqueue.wsgi",
        REVIEWQUEUE_SANDBOX="1",
        INTERCOM_ACCESS_TOKEN="real-token",
        INTERCOM_CLIENT_SECRET="real-client-secret",
        LOG_LEVEL="INFO",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    messages = [json.loads(line)["message"] for line in result.stdout.splitlines() if line.startswith("{")]
    assert f"vendor settings in use: MultiMail: the local sandbox's settings, {multimail.API_URL}" in messages
    assert "vendor settings in use: Intercom: the configured settings, https://api.intercom.io" in messages
