import pytest

from reviewqueue.accounts import throttle
from reviewqueue.accounts.oidc import forget_provider_metadata
from reviewqueue.sandbox.oidc import defaults
from tests.oidc_sandbox import start_oidc_sandbox


@pytest.fixture(scope="session")
def oidc_provider():
    """One local OIDC provider for the run (its demo people and state are the sandbox's)."""
    sandbox = start_oidc_sandbox()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sso(settings, oidc_provider):
    """reviewqueue configured for the local provider, as an operator would with the OIDC_* variables."""
    settings.OIDC_ENABLED = True
    settings.OIDC_ISSUER = oidc_provider.issuer
    settings.OIDC_CLIENT_ID = settings.OIDC_RP_CLIENT_ID = defaults.CLIENT_ID
    settings.OIDC_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET = defaults.CLIENT_SECRET
    settings.OIDC_PROVIDER_NAME = defaults.PROVIDER_NAME
    settings.OIDC_ROLE_CLAIM = "groups"
    settings.OIDC_ROLE_MAP = {"rq-reviewers": "reviewer", "rq-auditors": "auditor", "rq-admins": "admin"}
    settings.OIDC_ONLY = False
    settings.BREAK_GLASS_USERNAME = ""
    forget_provider_metadata()
    oidc_provider.fault("")
    yield oidc_provider
    oidc_provider.fault("")
    forget_provider_metadata()


@pytest.fixture
def clean_throttle():
    """Login failure counters of the names the tests use, cleared before and after."""
    names = ("ada", "bo", "rita", "glass", "nobody")

    def clear():
        for name in names:
            throttle.login_succeeded(name, "127.0.0.1")

    clear()
    yield
    clear()
