"""Bulk actions in Chromium: tick drafts with x and shift-click, keep the ticks across the poll, reject together."""

from datetime import timedelta

import pytest
from django.utils import timezone

from reviewqueue.review.models import Decision
from tests.browser.conftest import log_in
from tests.review.page_helpers import make_draft


def ticked(page) -> list[str]:
    return page.evaluate("Array.from(document.querySelectorAll('input[data-bulk-select]:checked')).map(b => b.value)")


@pytest.mark.browser
def test_a_reviewer_ticks_drafts_with_x_and_shift_click_and_rejects_them_together(page, page_watch, person):
    person("rita", "reviewer")
    now = timezone.now()
    drafts = [make_draft(waiting_since=now - timedelta(hours=10 - h), subject=f"Bulk {h}") for h in range(5)]
    log_in(page, "rita")
    page.goto("/queue/", wait_until="load")

    page.keyboard.press("j")  # the first row (longest wait) is selected…
    page.keyboard.press("x")  # …and ticked
    assert ticked(page) == [str(drafts[0].pk)]
    page.click(f'input[data-bulk-select][value="{drafts[3].pk}"]', modifiers=["Shift"])  # a range: rows 1 to 4
    assert ticked(page) == [str(d.pk) for d in drafts[:4]]
    page.keyboard.press("x")  # x on the selected row again unticks it
    assert ticked(page) == [str(d.pk) for d in drafts[1:4]]
    page.keyboard.press("x")
    assert page.locator("[data-bulk-count]").inner_text() == "4 selected"

    arrived = make_draft(waiting_since=now, subject="Arrived while ticking")  # the poll swaps the table
    page.wait_for_selector(f'[data-draft-id="{arrived.pk}"]', timeout=15_000)
    assert ticked(page) == [str(d.pk) for d in drafts[:4]], "the ticks did not survive the poll"

    page.select_option("#bulk-reason-preset", "Customer already answered elsewhere")
    page.get_by_role("button", name="Reject selected").click()
    page.wait_for_selector("text=Rejected 4 drafts.")

    decisions = Decision.objects.filter(draft__in=drafts)
    assert sorted(d.draft_id for d in decisions) == sorted(d.pk for d in drafts[:4])
    assert {(d.action, d.reason, d.reviewer.username) for d in decisions} == {
        ("reject", "Customer already answered elsewhere", "rita")
    }
    remaining = page.evaluate("Array.from(document.querySelectorAll('[data-queue-row]')).map(r => r.dataset.draftId)")
    assert remaining == [str(drafts[4].pk), str(arrived.pk)]
    assert page_watch.console_errors == [] and page_watch.page_errors == [] and page_watch.foreign_requests == []


@pytest.mark.browser
def test_bulk_approval_lists_the_unflagged_drafts_first_and_approves_only_those(page, page_watch, person):
    person("rita", "reviewer")
    now = timezone.now()
    clean = make_draft(waiting_since=now - timedelta(hours=3), subject="Clean answer")
    flagged = make_draft(waiting_since=now - timedelta(hours=2), subject="Flagged answer", flag_spam=True)
    log_in(page, "rita")
    page.goto("/queue/", wait_until="load")

    page.check(f'input[data-bulk-select][value="{clean.pk}"]')
    page.check(f'input[data-bulk-select][value="{flagged.pk}"]')
    page.get_by_role("button", name="Approve selected…").click()
    page.wait_for_selector("text=Approve 1 draft?")
    listed = page.evaluate(
        "Array.from(document.querySelectorAll('[data-bulk-approve-row]')).map(r => r.dataset.draftId)"
    )
    assert listed == [str(clean.pk)]
    assert "Flagged answer" in page.locator("#bulk-approve-flagged").inner_text()
    assert not Decision.objects.exists()  # nothing before the confirmation

    page.get_by_role("button", name="Yes, approve 1 draft").click()
    page.wait_for_selector("text=Approved 1 draft.")
    assert list(Decision.objects.values_list("draft_id", "action")) == [(clean.pk, "approve")]
    assert page_watch.console_errors == [] and page_watch.page_errors == [] and page_watch.foreign_requests == []
