from datetime import UTC, datetime, timedelta

import pytest

from reviewqueue.review.presentation import age_text

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ago", "text"),
    [
        (timedelta(seconds=20), "just now"),
        (timedelta(minutes=12), "12 min"),
        (timedelta(hours=2), "2 h"),
        (timedelta(hours=3, minutes=5), "3 h 5 min"),
        (timedelta(days=1), "1 d"),
        (timedelta(days=4, hours=7, minutes=59), "4 d 7 h"),
        (timedelta(minutes=-5), "just now"),  # a clock slightly ahead never shows a negative age
    ],
)
def test_age_text_shows_the_two_largest_units(ago, text):
    assert age_text(NOW - ago, NOW) == text


def test_the_customer_is_named_by_who_wrote_in_when_contacts_carry_only_ids():
    from dataclasses import replace

    from reviewqueue.integrations.intercom.types import ContactRef
    from reviewqueue.review.presentation import conversation_view
    from tests.review.page_helpers import make_conversation

    conversation = replace(make_conversation(), contacts=[ContactRef(id="6543", external_id="", email="")])
    assert conversation_view(conversation, written_at=None).customer == "Ana Customer <ana@customer.example>"


def test_an_intercom_link_that_is_not_http_is_not_offered():
    from dataclasses import replace

    from reviewqueue.review.presentation import conversation_view
    from tests.review.page_helpers import make_conversation

    conversation = replace(make_conversation(), url="javascript:alert(1)")
    assert conversation_view(conversation, written_at=None).url == ""


def _row(**overrides):
    from reviewqueue.review.presentation import Badge, QueueRow

    fields = {
        "draft_id": 7,
        "url": "/queue/drafts/7/",
        "subject": "Refund",
        "mailbox": "billing@ours.example",
        "recipients": "zed@customer.example",
        "waiting_since": NOW,
        "waiting_iso": NOW.isoformat(),
        "waiting_title": "2026-11-25 12:00 UTC",
        "age": "just now",
        "claimed_by": "",
        "badges": [Badge("unknown_links", "unseen link domains", "warn", 'Links to "x".example')],
    }
    return QueueRow(**{**fields, **overrides})


def test_queue_rows_html_escapes_every_value_as_the_template_would():
    from reviewqueue.review.presentation import queue_rows_html

    html = queue_rows_html([_row(subject='<img src=x onerror="alert(1)">', mailbox="a&b", claimed_by="<b>bo</b>")])
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert "<td>a&amp;b</td>" in html
    assert "<td>&lt;b&gt;bo&lt;/b&gt;</td>" in html
    assert 'title="Links to &quot;x&quot;.example"' in html
    assert "<img" not in html and "<b>" not in html


def test_queue_rows_html_fills_in_what_a_row_lacks():
    from reviewqueue.review.presentation import queue_rows_html

    html = queue_rows_html([_row(subject="", recipients="", badges=[])])
    assert ">(no subject)</a>" in html
    assert "<td>—</td>" in html
    assert '<td><span class="muted">—</span></td>' in html  # nobody holds it
    assert 'data-draft-id="7"' in html
