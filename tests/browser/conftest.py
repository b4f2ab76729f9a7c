"""Browser tests: Debian's Chromium, headless, against the app served by gunicorn with a real worker.

`live_system` starts, once for this folder, the MultiMail and Intercom sandboxes, gunicorn on the
TEST database and a Celery worker on the test run's Redis, all on free loopback ports; it stops
them when the folder's last test has run. Tests that use it run with a transactional database so
the servers see what the test writes (and the test sees what the servers write).

The pytest-playwright plugin is disabled (it would try to download its own browser); these
fixtures drive Playwright's sync API directly.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.conftest import PASSWORD, make_user
from tests.livesystem import LiveSystem, database_url
from tests.two_factor import code_for_key, key_from_manual_entry, next_code

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: install it with `apt-get install -y chromium` "
            "(make test does so when it can), or point CHROMIUM_PATH at a Chromium binary. Browser tests do not skip.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running on this thread; the ORM calls the tests make
    # meanwhile are ordinary blocking calls, so Django's async guard is lifted while the browser lives.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class PageWatch:
    """What a page did that it must not: script dialogs, console errors, requests leaving 127.0.0.1."""

    def __init__(self):
        self.dialogs: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.foreign_requests: list[str] = []

    def attach(self, context, page):
        def route(route):
            url = route.request.url
            if url.startswith(("http://127.0.0.1:", "data:", "blob:", "about:")):
                route.continue_()
            else:
                self.foreign_requests.append(url)
                route.abort()

        context.route("**/*", route)

        def dialog(d):
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)

        def console(message):
            if message.type == "error":
                where = message.location or {}
                self.console_errors.append(
                    f"{message.text} (at {page.url}, {where.get('url', '')}:{where.get('lineNumber', '')})"
                )

        page.on("console", console)
        # Name the exact CSP refusal (directive, what it refused and where) in the console error list.
        context.add_init_script(
            "document.addEventListener('securitypolicyviolation', e => console.error("
            "'CSP refused ' + e.violatedDirective + ': ' + (e.sample || e.blockedURI) + ' at ' + e.sourceFile"
            " + ':' + e.lineNumber + ':' + e.columnNumber));"
        )
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))


@pytest.fixture
def page_watch():
    return PageWatch()


@pytest.fixture
def page(browser, page_watch, live_system):
    context = browser.new_context(base_url=live_system.web_url, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)
    # A decision is a POST, a redirect and the next draft's page: on CI's two cores, shared with the
    # live system's worker and sandboxes, that navigation has taken over 10 s (the keyboard flow's reject).
    page.set_default_navigation_timeout(30_000)
    page_watch.attach(context, page)
    yield page
    context.close()


@pytest.fixture(scope="package")
def live_system(django_db_setup, django_db_blocker):
    """The whole system on loopback, against the test database."""
    with django_db_blocker.unblock():
        url = database_url(connection.settings_dict)
    redis_url = settings.REDIS_URL
    redis.Redis.from_url(redis_url).flushdb()  # this run's own Redis database: stale tasks would confuse it
    system = LiveSystem(database_url=url, redis_url=redis_url)
    try:
        system.start_multimail(wait=False)
        system.start_intercom(wait=False)
        system.start_web(wait=False)
        system.start_worker(concurrency=2, wait=False)
        system.wait_ready()
        yield system
    except Exception:
        print(system.logs())
        raise
    finally:
        system.cleanup()
        redis.Redis.from_url(redis_url).flushdb()


@pytest.fixture(autouse=True)
def fast_passwords():
    """Not here: gunicorn checks the persons' passwords with the production hashers, so they are made with them."""


@pytest.fixture
def person(transactional_db, django_user_model):
    """Make a person with roles, committed so the live server sees them."""

    def make(username: str, *roles: str):
        return make_user(django_user_model, username, *roles)

    return make


def log_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    pass_two_factor(page, username)


def pass_two_factor(page, username: str) -> None:
    """When the password asks for a second factor (admins), give it as a person with an authenticator app
    would: enrolling with the key the page shows, or with a code of the device enrolled before."""
    path = urlsplit(page.url).path
    if path == "/accounts/two-factor/setup/":
        page.fill("#id_code", code_for_key(key_from_manual_entry(page.locator("code.secret").inner_text())))
        with page.expect_navigation():
            page.click("button[type=submit]")
        with page.expect_navigation():
            page.get_by_role("link", name="I have saved them: continue").click()
    elif path == "/accounts/two-factor/":
        page.fill("#id_code", next_code(username))
        with page.expect_navigation():
            page.click("button[type=submit]")


def assert_no_template_syntax(page) -> None:
    """A last look at what a person sees: no template syntax leaks onto the page."""
    text = page.inner_text("body")
    assert not [marker for marker in ("{#", "#}", "{%", "%}") if marker in text], f"template syntax on {page.url}"


def screenshot(page, name: str) -> None:
    """A PNG of the visible page for the README (docs/screenshots/NAME.png), after assert_no_template_syntax.

    Only test_demo_pages.py takes them, from the demo `make run` shows.
    """
    assert_no_template_syntax(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)
