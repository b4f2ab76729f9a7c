"""The review pages in Chromium: keyboard work from the queue through a decision, and the live queue.

Served by gunicorn under the real CSP, so static/js/review.js and htmx run as a reviewer's browser
runs them; any CSP refusal or script error shows up in page_watch.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from reviewqueue.review.models import Decision
from tests.browser.conftest import log_in
from tests.review.page_helpers import make_draft


def selected_row(page) -> str | None:
    return page.evaluate("document.querySelector('[data-queue-row].is-selected')?.dataset.draftId ?? null")


def assert_quiet(page_watch) -> None:
    assert page_watch.console_errors == [], "\n".join(page_watch.console_errors)
    assert page_watch.page_errors == []
    assert page_watch.foreign_requests == []


@pytest.mark.browser
def test_a_reviewer_works_the_queue_with_the_keyboard(page, page_watch, person):
    person("rita", "reviewer")
    now = timezone.now()
    first, second, third = (make_draft(waiting_since=now - timedelta(hours=h), subject=f"Kb {h}") for h in (3, 2, 1))
    log_in(page, "rita")
    page.goto("/queue/", wait_until="load")

    page.keyboard.press("j")
    assert selected_row(page) == str(first.pk)
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert selected_row(page) == str(second.pk)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/queue/drafts/{second.pk}/")

    page.keyboard.press("?")
    assert page.locator("#keyboard-help").is_visible()
    page.keyboard.press("j")  # keys wait while the help is open
    assert page.url.endswith(f"/queue/drafts/{second.pk}/")
    page.keyboard.press("Escape")
    assert not page.locator("#keyboard-help").is_visible()

    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.id") == "reason-preset"
    page.keyboard.press("Escape")  # leaves the field; "a" is a key again, not a letter typed
    page.keyboard.press("a")
    page.wait_for_url(f"**/queue/drafts/{third.pk}/")

    decision = Decision.objects.get(draft=second)
    assert (decision.action, decision.reviewer.username) == ("approve", "rita")
    assert page.get_by_text("Approved «Kb 2»").is_visible()
    assert_quiet(page_watch)


@pytest.mark.browser
def test_typing_a_reason_does_not_trigger_keys_and_rejecting_opens_the_next_draft(page, page_watch, person):
    person("rita", "reviewer")
    now = timezone.now()
    first, second = (
        make_draft(waiting_since=now - timedelta(hours=2)),
        make_draft(waiting_since=now - timedelta(hours=1)),
    )
    log_in(page, "rita")
    page.goto(f"/queue/drafts/{first.pk}/", wait_until="load")

    page.keyboard.press("r")
    page.keyboard.press("Tab")
    page.keyboard.type("a colleague already answered; skip this")  # a, s and j inside the text
    assert page.url.endswith(f"/queue/drafts/{first.pk}/")
    assert not Decision.objects.filter(draft=first).exists()
    page.get_by_role("button", name="Reject").click()
    page.wait_for_url(f"**/queue/drafts/{second.pk}/")

    decision = Decision.objects.get(draft=first)
    assert (decision.action, decision.reason) == ("reject", "a colleague already answered; skip this")
    assert_quiet(page_watch)


@pytest.mark.browser
def test_the_queue_shows_a_new_draft_without_reloading(page, page_watch, person):
    person("rita", "reviewer")
    make_draft(subject="Already here")
    log_in(page, "rita")
    page.goto("/queue/", wait_until="load")
    page.evaluate("window.__sameDocument = true")

    arrived = make_draft(subject="Just arrived")
    page.wait_for_selector(f'[data-draft-id="{arrived.pk}"]', timeout=15_000)

    assert page.evaluate("window.__sameDocument === true"), "the page reloaded instead of swapping the table"
    assert page.get_by_text("Just arrived").is_visible()
    assert_quiet(page_watch)
