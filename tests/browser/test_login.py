"""A person logs in through the real login page, served by gunicorn, under the strict CSP."""

import pytest

from tests.browser.conftest import assert_no_template_syntax, log_in


@pytest.mark.browser
def test_reviewer_logs_in_and_lands_on_the_queue(page, page_watch, person):
    person("rita", "reviewer")
    page.goto("/")
    assert "/accounts/login/" in page.url
    assert_no_template_syntax(page)
    log_in(page, "rita")
    assert page.url.endswith("/queue/")
    assert page.get_by_role("heading", name="Review queue").is_visible()
    assert page_watch.console_errors == [], "\n".join(page_watch.console_errors)
    assert page_watch.page_errors == []


@pytest.mark.browser
def test_wrong_password_is_refused_with_a_message(page, person):
    person("rita", "reviewer")
    log_in(page, "rita", "not-the-password")
    assert "/accounts/login/" in page.url
    assert page.get_by_role("alert").is_visible()
