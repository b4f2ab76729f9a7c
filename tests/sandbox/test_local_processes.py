"""`make run` starts the MultiMail sandbox only on the sandbox default, never beside real MultiMail."""

import sys

from reviewqueue.sandbox import local
from reviewqueue.sandbox.multimail import defaults


def test_sandbox_mode_starts_the_multimail_sandbox_with_state_and_webhook_url(settings):
    settings.SANDBOX = True
    settings.MULTIMAIL_API_URL = defaults.API_URL
    argv = local.sandbox_processes(sys.executable)["multimail-sandbox"]
    assert argv[:3] == [sys.executable, "-m", "reviewqueue.sandbox.multimail"]
    assert argv[argv.index("--port") + 1] == "8025"
    assert argv[argv.index("--state") + 1].endswith("var/sandbox/multimail.json")
    assert argv[argv.index("--webhook-url") + 1].endswith("/webhooks/multimail")


def test_no_multimail_sandbox_when_real_multimail_is_configured_or_sandbox_is_off(settings):
    settings.SANDBOX = True
    settings.MULTIMAIL_API_URL = "https://api.multimail.dev"
    assert "multimail-sandbox" not in local.sandbox_processes(sys.executable)
    settings.SANDBOX = False
    settings.MULTIMAIL_API_URL = defaults.API_URL
    assert "multimail-sandbox" not in local.sandbox_processes(sys.executable)
