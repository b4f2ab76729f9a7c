from datetime import timedelta

from .factories import record_decision


def test_summaries_count_decisions_approval_rate_and_median_wait(auditor_client, db):
    record_decision(decision_id=1, draft_id=1, reviewer="rita", action="approve", waited=timedelta(seconds=60))
    record_decision(decision_id=2, draft_id=2, reviewer="rita", action="reject", waited=timedelta(seconds=180))
    record_decision(decision_id=3, draft_id=3, reviewer="rita", action="approve", waited=timedelta(seconds=600))
    record_decision(decision_id=4, draft_id=4, reviewer="sam", action="approve", mailbox_id="mbx_sales")
    response = auditor_client.get("/audit/summaries/")
    assert response.status_code == 200
    sections = {section["by"]: section for section in response.context["sections"]}
    rita, sam = sections["reviewer"]["rows"]
    assert (rita.key, rita.decisions, rita.approved, rita.median_seconds) == ("rita", 3, 2, 180)
    assert (sam.key, sam.decisions, sam.approval_rate) == ("sam", 1, 1.0)
    mailboxes = {row.key: row.decisions for row in sections["mailbox"]["rows"]}
    assert mailboxes == {"mbx_support": 3, "mbx_sales": 1}


def test_the_chart_is_inline_svg_without_style_attributes_or_script(auditor_client, db):
    record_decision(decision_id=1, draft_id=1, reviewer="rita")
    record_decision(decision_id=2, draft_id=2, reviewer="rita")
    record_decision(decision_id=3, draft_id=3, reviewer="sam")
    body = auditor_client.get("/audit/summaries/").content.decode()
    assert body.count("<svg") == 2 and body.count('<section class="card">') == 2  # one per summary, once
    svg = body[body.index("<svg") : body.index("</svg>")]
    assert 'class="chart-bar"' in svg and "rita" in svg
    assert "style=" not in body and "<script>" not in svg
    widths = [
        int(part.split('"')[0]) for part in svg.split('class="chart-bar"')[1:] for part in [part.split('width="')[1]]
    ]
    assert widths[0] == 2 * widths[1]  # rita decided twice as often as sam


def test_summaries_can_be_limited_to_a_mailbox(auditor_client, db):
    record_decision(decision_id=1, draft_id=1, reviewer="rita")
    record_decision(decision_id=2, draft_id=2, reviewer="sam", mailbox_id="mbx_sales")
    response = auditor_client.get("/audit/summaries/", {"mailbox": "mbx_sales"})
    sections = {section["by"]: section for section in response.context["sections"]}
    assert [row.key for row in sections["reviewer"]["rows"]] == ["sam"]
