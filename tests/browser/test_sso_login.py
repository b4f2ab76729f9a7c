"""Single sign-on in Chromium: the login page's "Sign in with …" button, the local OIDC provider's own
sign-in form (python -m reviewqueue.sandbox.oidc), and back to reviewqueue's queue, signed in as the
provider's reviewer. The web process here is configured for that provider through the OIDC_* variables."""

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from reviewqueue.accounts.roles import user_roles
from reviewqueue.audit.models import AuditEvent
from reviewqueue.sandbox.oidc import defaults
from tests.browser.conftest import assert_no_template_syntax
from tests.livesystem import LiveSystem, database_url
from tests.oidc_sandbox import start_oidc_sandbox

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def sso_system(django_db_setup, django_db_blocker):
    """gunicorn on the test database, signing people in through a local provider of its own."""
    with django_db_blocker.unblock():
        url = database_url(connection.settings_dict)
    system = LiveSystem(database_url=url, redis_url=settings.REDIS_URL)
    provider = start_oidc_sandbox(f"{system.web_url}/accounts/oidc/callback/")
    system.extra_env.update(
        {
            "OIDC_ISSUER": provider.issuer,
            "OIDC_CLIENT_ID": defaults.CLIENT_ID,
            "OIDC_CLIENT_SECRET": defaults.CLIENT_SECRET,
            "OIDC_ROLE_MAP": defaults.ROLE_MAP,
            "OIDC_PROVIDER_NAME": defaults.PROVIDER_NAME,
        }
    )
    try:
        system.start_web(workers=1, threads=4)
        yield system, provider
    except Exception:
        print(system.logs())
        raise
    finally:
        system.cleanup()
        provider.stop()


def test_a_reviewer_signs_in_through_the_provider_and_reaches_the_queue(
    browser, sso_system, page_watch, transactional_db
):
    system, provider = sso_system
    context = browser.new_context(base_url=system.web_url, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page_watch.attach(context, page)

    page.goto("/accounts/login/")
    with page.expect_navigation():
        page.get_by_role("link", name=f"Sign in with {defaults.PROVIDER_NAME}").click()
    assert page.url.startswith(f"{provider.url}/login/")

    page.fill("#id_username", "riley")
    page.fill("#id_password", defaults.demo_password("riley"))
    with page.expect_navigation(url=f"{system.web_url}/queue/"):
        page.click("button[type=submit]")

    assert urlsplit(page.url).path == "/queue/"
    assert "riley" in page.inner_text("body")
    assert_no_template_syntax(page)
    riley = get_user_model().objects.get(username="riley")
    assert user_roles(riley) == ["reviewer"]
    assert AuditEvent.objects.filter(action="login", actor_label="riley", payload__method="sso").exists()
    ours = [error for error in page_watch.console_errors if system.web_url in error]
    assert ours == [], "\n".join(ours)
    assert page_watch.foreign_requests == []
    context.close()
