"""An auditor reads the oversight evidence in Chromium: the charts are drawn, every label sits inside its
chart (bounding boxes), the tables under them hold the numbers."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.browser.conftest import assert_no_template_syntax, log_in
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
