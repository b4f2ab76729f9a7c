"""Edit, then approve, in Chromium: `e` opens the editor, the live preview and redline follow the typing,
and confirming records one decision "approved with edits" (and `f` requests changes).

Served by gunicorn under the real CSP, so htmx's live preview and static/js/review.js run as a
reviewer's browser runs them; a CSP refusal or a script error shows up in page_watch.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from reviewqueue.review.models import Decision, DraftEdit
from tests.browser.conftest import log_in
from tests.review.page_helpers import make_draft

EDITED = "Hello **Ana**, your order ships tomorrow with free returns."


def assert_quiet(page_watch) -> None:
    assert page_watch.console_errors == [], "\n".join(page_watch.console_errors)
    assert page_watch.page_errors == []
    assert page_watch.foreign_requests == []


@pytest.mark.browser
def test_a_reviewer_edits_sees_the_redline_and_approves_with_edits(page, page_watch, person):
    person("rita", "reviewer")
    now = timezone.now()
    draft = make_draft(
        subject="Your order", markdown="Hello **Ana**, your order shipped.", waiting_since=now - timedelta(hours=2)
    )
    log_in(page, "rita")
    page.goto(f"/queue/drafts/{draft.pk}/", wait_until="load")

    page.keyboard.press("e")
    assert page.locator("#edit-panel").evaluate("panel => panel.open")
    assert page.evaluate("document.activeElement.id") == "edit-markdown"
    page.locator("#edit-markdown").fill(EDITED)

    redline = page.locator("#edit-redline .redline-body")
    redline.locator("ins", has_text="ships tomorrow with free returns").wait_for()
    assert "[-shipped-]" in redline.inner_text()  # readable without colour
    assert "{+ships tomorrow with free returns+}" in redline.inner_text()
    assert redline.locator("del", has_text="shipped").count() == 1
    preview = page.locator("#edit-preview-body")
    assert preview.locator("strong", has_text="Ana").count() == 1  # rendered through the page's sanitizer
    assert "ships tomorrow" in preview.inner_text()

    page.get_by_role("button", name="Approve with edits").click()
    page.wait_for_url("**/queue/")  # the queue is empty now: the boosted redirect lands on the whole queue page
    assert page.get_by_text("Approved with edits: «Your order»").is_visible()
    assert page.get_by_role("heading", name="Review queue").is_visible()  # the layout, not the table alone
    assert page.locator("header.topbar nav").is_visible()
    decision = Decision.objects.get(draft=draft)
    assert decision.action == "approve" and decision.is_edited
    edit = DraftEdit.objects.get(decision=decision)
    assert edit.edited_markdown == EDITED and edit.original_markdown == "Hello **Ana**, your order shipped."

    page.goto(f"/queue/drafts/{draft.pk}/", wait_until="load")
    assert "Approved with edits by" in page.locator("#decided").inner_text()
    assert "{+ships tomorrow with free returns+}" in page.locator("#decision-redline").inner_text()
    assert_quiet(page_watch)


@pytest.mark.browser
def test_f_takes_the_reviewer_to_the_feedback_and_requests_changes(page, page_watch, person):
    person("rita", "reviewer")
    now = timezone.now()
    draft = make_draft(subject="Your refund", waiting_since=now - timedelta(hours=2))
    following = make_draft(waiting_since=now - timedelta(hours=1))
    log_in(page, "rita")
    page.goto(f"/queue/drafts/{draft.pk}/", wait_until="load")

    page.keyboard.press("f")
    assert page.evaluate("document.activeElement.id") == "feedback"
    page.keyboard.type("The refund is 45 EUR, not 50; say so")  # a, e, f, r, s inside the text are not keys
    assert not Decision.objects.filter(draft=draft).exists()
    page.get_by_role("button", name="Request changes").click()
    page.wait_for_url(f"**/queue/drafts/{following.pk}/")
    assert page.get_by_text("Changes requested: «Your refund»").is_visible()
    decision = Decision.objects.get(draft=draft)
    assert (decision.action, decision.reason) == ("request_changes", "The refund is 45 EUR, not 50; say so")
    assert_quiet(page_watch)


@pytest.mark.browser
def test_the_whole_system_carries_an_edit_out_and_the_edited_email_never_reaches_the_queue(live_system, person):
    """gunicorn, a Celery worker and the sandboxes with their webhooks: the edited email comes back
    to reviewqueue by MultiMail's webhook (or the poll) and is known as the edit, not a new draft."""
    from reviewqueue.accounts.services import api_token_issue
    from reviewqueue.audit.services import Actor
    from reviewqueue.review.models import Draft
    from tests.flow import Driver
    from tests.livesystem import wait_for

    reviewer = person("rita", "reviewer")
    _, token = api_token_issue(user=reviewer, name="edit-flow", actor=Actor.system("test"))
    driver = Driver(live_system)
    try:
        driver.customer_conversation(email="edith@customer.example", text="When does my order ship?")
        email_id = driver.agent_draft(to="edith@customer.example", subject="Your order ships")
        draft = wait_for(
            lambda: Draft.objects.filter(email_id=email_id, fetched_at__isnull=False).first(),
            timeout=45,
            what="the agent's draft in the queue",
        )
        with driver.api(token) as api:
            shown = api.get(f"/drafts/{draft.pk}").json()
            body = {
                "action": "approve",
                "snapshot_id": shown["latest_snapshot_id"],
                "edit": {"markdown": shown["markdown"].replace("ships today", "ships tomorrow")},
            }
            answer = api.post(f"/drafts/{draft.pk}/decision", json=body)
            assert answer.status_code == 201, answer.text
            assert answer.json()["draft"]["edited"] is True

            def edited_in():
                final = api.get(f"/drafts/{draft.pk}").json()["final_email_id"]
                found = Draft.objects.filter(email_id=final or "-", edit_of=draft).first()
                return found if found is not None and found.email_status in ("approved", "approved_and_sent") else None

            edited = wait_for(edited_in, timeout=45, what="the edited email approved and known as the edit")
            assert edited.status == Draft.Status.EDITED_VERSION and not edited.flag_edit_mismatch
            pending = api.get("/drafts?status=pending").json()["drafts"]
            assert edited.pk not in [d["id"] for d in pending]
        assert driver.multimail_decisions()[edited.email_id] == 1
    finally:
        driver.close()
