"""`make run` starts the Intercom sandbox and the traffic generator only beside local vendors."""

import sys

from reviewqueue.sandbox import local
from reviewqueue.sandbox.intercom import defaults as intercom
from reviewqueue.sandbox.multimail import defaults as multimail


def test_sandbox_mode_starts_the_intercom_sandbox_and_traffic(settings):
    settings.SANDBOX = True
    settings.MULTIMAIL_API_URL = multimail.API_URL
    settings.INTERCOM_API_URL = intercom.API_URL
    processes = local.sandbox_processes(sys.executable)
    argv = processes["intercom-sandbox"]
    assert argv[:3] == [sys.executable, "-m", "reviewqueue.sandbox.intercom"]
    assert argv[argv.index("--port") + 1] == "8026"
    assert argv[argv.index("--state") + 1].endswith("var/sandbox/intercom.json")
    assert argv[argv.index("--webhook-url") + 1].endswith("/webhooks/intercom")
    assert argv[argv.index("--inbox-app-url") + 1].endswith("/integrations/intercom/canvas")
    assert processes["traffic"][:3] == [sys.executable, "-m", "reviewqueue.sandbox.traffic"]


def test_real_intercom_means_no_intercom_sandbox_and_no_traffic(settings):
    settings.SANDBOX = True
    settings.MULTIMAIL_API_URL = multimail.API_URL
    settings.INTERCOM_API_URL = "https://api.eu.intercom.io"
    processes = local.sandbox_processes(sys.executable)
    assert "intercom-sandbox" not in processes
    assert "traffic" not in processes


def test_sandbox_off_starts_nothing(settings):
    settings.SANDBOX = False
    settings.INTERCOM_API_URL = intercom.API_URL
    assert local.sandbox_processes(sys.executable) == {}
