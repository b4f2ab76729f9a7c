"""`make run` starts the local OIDC provider while single sign-on uses its values, and not beside a real one."""

import sys

from reviewqueue.sandbox import local
from reviewqueue.sandbox.oidc import defaults as oidc


def test_sandbox_mode_starts_the_oidc_provider_with_the_apps_callback(settings):
    settings.SANDBOX = True
    settings.OIDC_ISSUER = oidc.ISSUER
    argv = local.sandbox_processes(sys.executable)["oidc-sandbox"]
    assert argv[:3] == [sys.executable, "-m", "reviewqueue.sandbox.oidc"]
    assert argv[argv.index("--port") + 1] == str(oidc.PORT)
    assert argv[argv.index("--state-dir") + 1].endswith("sandbox/oidc")
    assert argv[argv.index("--redirect-uri") + 1].endswith("/accounts/oidc/callback/")


def test_a_real_identity_provider_means_no_oidc_sandbox(settings):
    settings.SANDBOX = True
    settings.OIDC_ISSUER = "https://login.example.com/oauth2/default"
    assert "oidc-sandbox" not in local.sandbox_processes(sys.executable)
