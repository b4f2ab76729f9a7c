"""An auditor browses, filters and verifies the audit trail in Chromium, under the strict CSP,
against gunicorn and a real Celery worker."""

import pytest

from reviewqueue.audit.models import AuditVerification
from tests.audit.factories import record_decision, record_event
from tests.browser.conftest import assert_no_template_syntax, log_in


@pytest.mark.browser
def test_auditor_filters_the_stream_in_place_and_verifies_the_log(page, page_watch, person):
    person("aldo", "auditor")
    record_event("draft.received", draft_id=10, mailbox_id="mbx_support")
    record_decision(decision_id=1, draft_id=10, reason="Refund amount is wrong", action="reject")
    record_event("decide.sent", draft_id=10, decision_id=1)
    log_in(page, "aldo")
    page.goto("/audit/")
    assert page.locator("#events-table tbody tr").count() >= 3

    page.fill("#id_action", "draft.decided")
    page.press("#id_action", "Enter")
    page.wait_for_url("**/audit/?*action=draft.decided*")
    rows = page.locator("#events-table tbody tr")
    rows.first.wait_for()
    assert rows.count() == 1 and "Refund amount is wrong" in rows.first.inner_text()
    assert_no_template_syntax(page)

    page.click("text=record")
    page.wait_for_url("**/audit/decisions/1/")
    assert page.get_by_role("heading", name="What happened next").is_visible()
    assert "decide.sent" in page.content()

    page.goto("/audit/verification/")
    page.click("button:has-text('Verify now')")
    page.locator("#verification-status .badge.ok").wait_for(timeout=20_000)  # the worker ran it
    assert AuditVerification.objects.get().status == "intact"
    assert page_watch.console_errors == [] and page_watch.page_errors == []


@pytest.mark.browser
def test_the_summary_chart_renders_without_breaking_the_csp(page, page_watch, person):
    person("aldo", "auditor")
    record_decision(decision_id=1, draft_id=1, reviewer="rita")
    record_decision(decision_id=2, draft_id=2, reviewer="sam", action="reject")
    log_in(page, "aldo")
    page.goto("/audit/summaries/")
    assert page.locator("svg.chart rect.chart-bar").count() == 3  # two reviewers, one mailbox
    assert_no_template_syntax(page)
    assert page_watch.console_errors == []
