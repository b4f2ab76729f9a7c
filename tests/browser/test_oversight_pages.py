"""An auditor reads the oversight evidence in Chromium: the charts are drawn, every label sits inside its
chart (bounding boxes), the tables under them hold the numbers."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.browser.conftest import assert_no_template_syntax, log_in
from tests.livesystem import wait_for
from tests.oversight.factories import seed_decision

# The boxes of every text of every chart, and of the chart, in page coordinates.
_BOXES = """() => [...document.querySelectorAll('svg.chart')].map(svg => {
  const frame = svg.getBoundingClientRect();
  return {
    frame: {left: frame.left, right: frame.right, top: frame.top, bottom: frame.bottom},
    texts: [...svg.querySelectorAll('text')].map(t => {
      const b = t.getBoundingClientRect();
      return {text: t.textContent, left: b.left, right: b.right, top: b.top, bottom: b.bottom};
    }),
  };
})"""


def _overlaps(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


@pytest.mark.browser
def test_evidence_charts_are_drawn_with_no_label_clipped_or_overlapping(page, page_watch, person):
    reviewer = person("rita", "reviewer")
    person("aldo", "auditor")
    now = datetime.now(UTC)
    long_reason = "Promises a refund to a customer whose order is outside the 30-day return window"
    for week in range(12):
        for index in range(5 + week):
            rejected = index == 0
            seed_decision(
                reviewer,
                kind="refund" if index % 2 else "",
                decided_at=now - timedelta(days=7 * week, hours=index),
                action="reject" if rejected else "approve",
                reason=long_reason if week % 2 else "Wrong recipient",
                waited=timedelta(minutes=5 + 30 * index),
            )
    log_in(page, "aldo")
    page.goto("/audit/oversight/")
    assert page.locator("svg.chart").count() == 5
    assert page.locator("table.chart-table").count() == 5
    assert page.locator("svg.chart rect").count() > 12
    for chart in page.evaluate(_BOXES):
        frame = chart["frame"]
        for text in chart["texts"]:
            inside = (
                text["left"] >= frame["left"] - 0.5 and text["right"] <= frame["right"] + 0.5
                and text["top"] >= frame["top"] - 0.5 and text["bottom"] <= frame["bottom"] + 0.5
            )  # fmt: skip
            assert inside, f"label {text['text']!r} runs out of its chart: {text} not in {frame}"
        texts = chart["texts"]
        for i, a in enumerate(texts):
            for b in texts[i + 1 :]:
                assert not _overlaps(a, b), f"labels {a['text']!r} and {b['text']!r} overlap"
    assert long_reason in page.locator("#chart-reasons svg").inner_html()  # the whole reason, not cut
    assert "Not ready" in page.locator("#readiness-title + p + .verdict, .verdict").first.inner_text()
    assert_no_template_syntax(page)
    page.select_option("#id_kind", "refund")
    page.click("button:has-text('Show')")
    page.wait_for_url("**/audit/oversight/?*kind=refund*")
    assert page.locator("table.cells tbody tr").count() == 1
    assert page_watch.console_errors == [] and page_watch.page_errors == []


@pytest.mark.browser
def test_an_auditor_uploads_a_sent_email_and_sees_the_decision_behind_it(
    page, page_watch, person, live_system, tmp_path
):
    from reviewqueue.integrations.multimail.client import MultiMailClient
    from reviewqueue.sandbox.multimail import defaults

    reviewer = person("rita", "reviewer")
    person("aldo", "auditor")
    markdown = "Hi Ana,\n\nYour refund of **42 EUR** is on its way.\n\nBest,\nFernhill"
    decision = seed_decision(reviewer, to="ana@example.org", subject="Your refund", markdown=markdown)
    client = MultiMailClient(base_url=live_system.multimail_url, api_key=defaults.OVERSIGHT_KEY,
                             send_api_key=defaults.SEND_KEY, admin_api_key=defaults.ADMIN_KEY)  # fmt: skip
    mailbox = client.create_mailbox(address_local="refunds", display_name="Refunds")
    sent = client.send(mailbox_id=mailbox.id, to=["ana@example.org"], subject="Your refund", markdown=markdown)
    wait_for(lambda: client.get_email(mailbox_id=mailbox.id, email_id=sent.id).status == "pending_send_approval",
             timeout=10, what="the sandbox's scan")  # fmt: skip
    client.decide(email_id=sent.id, action="approve", reason="approved by rita")
    eml = httpx.get(f"{live_system.multimail_url}/_sandbox/emails/{sent.id}.eml", timeout=10)
    path = tmp_path / "forwarded.eml"
    path.write_bytes(eml.content)

    log_in(page, "aldo")
    page.goto("/audit/oversight/sent-check/")
    page.set_input_files("#id_eml", str(path))
    page.click("button:has-text('Check')")
    verdict = page.locator("[data-verdict]")
    verdict.wait_for()
    assert verdict.get_attribute("data-verdict") == "matched"
    assert "Signed by MultiMail" in verdict.inner_text()
    assert page.locator("table.claim-fields").inner_text().count("multimail") >= 1
    link = page.locator(f"ul.matched-decisions a[href='/audit/decisions/{decision.pk}/']")
    assert "approved by rita" in page.locator("ul.matched-decisions li").first.inner_text().lower()
    assert link.count() == 1

    page.fill("#id_pasted", "From: support@fernhill.example\nTo: ana@example.org\nSubject: Your refund\n\nHello")
    page.click("button:has-text('Check')")
    page.locator("[data-verdict='no_claim']").wait_for()
    assert_no_template_syntax(page)
    assert page_watch.console_errors == [] and page_watch.page_errors == []


@pytest.mark.browser
def test_a_reviewer_works_the_spot_check_queue_from_the_keyboard(page, page_watch, person):
    from reviewqueue.oversight.models import MonitoredSend

    person("rita", "reviewer")
    for n in range(2):
        MonitoredSend.objects.create(
            email_id=f"em_spot_{n}",
            mailbox_id="mb_orders",
            to=["c@example.org"],
            subject=f"Order {n}",
            markdown=f"Your order **{n}** ships today.",
            sampled=True,
        )
    log_in(page, "rita")
    page.goto("/spot-checks/")
    assert "Order 0" in page.locator("article.spot-check").inner_text()
    page.keyboard.press("a")
    page.wait_for_url("**/spot-checks/")
    page.locator("article.spot-check:has-text('Order 1')").wait_for()
    page.keyboard.press("r")
    page.keyboard.type("Promises a date we cannot keep")
    page.keyboard.press("Enter")
    page.locator("text=No spot checks waiting.").wait_for()
    verdicts = dict(MonitoredSend.objects.values_list("email_id", "verdict"))
    assert verdicts == {"em_spot_0": "would_approve", "em_spot_1": "would_reject"}
    assert MonitoredSend.objects.get(email_id="em_spot_1").reason == "Promises a date we cannot keep"
    assert page_watch.console_errors == [] and page_watch.page_errors == []


@pytest.mark.browser
def test_an_admin_changes_a_mailboxs_spot_check_settings_on_the_policy_page(page, page_watch, person):
    from reviewqueue.oversight.models import SpotCheckPolicy
    from reviewqueue.routing.models import Mailbox

    person("ada", "admin")
    Mailbox.objects.create(mailbox_id="mb_news", address="news@fernhill.example", oversight_mode="gated_send")
    Mailbox.objects.create(mailbox_id="mb_orders", address="orders@fernhill.example", oversight_mode="monitored")
    log_in(page, "ada")
    page.goto("/manage/oversight/policy/")
    page.get_by_label("Sample, % of sent emails of orders@fernhill.example").fill("20")
    page.get_by_label("Window, spot checks of orders@fernhill.example").fill("30")
    page.locator("table.spot-policies tr:has-text('mb_orders') button").click()  # the row's own form
    page.locator("text=Spot-check settings of mb_orders saved.").wait_for()
    policy = SpotCheckPolicy.objects.get()
    assert (policy.mailbox_id, str(policy.sample_rate), policy.window, policy.daily_minimum) == (
        "mb_orders",
        "0.200",
        30,
        5,
    )
    assert page.get_by_label("Sample, % of sent emails of orders@fernhill.example").input_value() == "20.0"
    assert page_watch.console_errors == [] and page_watch.page_errors == []
