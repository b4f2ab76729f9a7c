"""Search pages walk the search table in batches; they must return what the plain query returns."""

import pytest

from reviewqueue.audit import selectors

from .factories import record_event


@pytest.fixture
def log(db):
    for n in range(40):
        reason = "refund was wrong" if n % 3 == 0 else "tone is fine"
        record_event("draft.decided", draft_id=n, reason=reason, mailbox_id="mbx_a" if n % 2 else "mbx_b")


@pytest.mark.parametrize("batch", [1, 2, 5, 500])
@pytest.mark.parametrize("extra", [{}, {"mailbox": "mbx_a"}, {"actor": "nobody"}])
def test_search_pages_match_the_plain_query_whatever_the_batch_size(log, monkeypatch, batch, extra):
    monkeypatch.setattr(selectors, "_SEARCH_BATCH", batch)
    filters = {"q": "refunds", **extra}
    expected = list(selectors.events_filtered(filters).order_by("-seq").values_list("seq", flat=True))
    seen, before = [], None
    while True:
        page, before = selectors.events_page(filters, before=before, size=4)
        seen += [event.seq for event in page]
        if before is None:
            break
    assert seen == expected
    assert len(expected) == {"": 14, "mbx_a": 7, "nobody": 0}[extra.get("mailbox", extra.get("actor", ""))]


def test_past_the_batch_limit_the_plain_query_finishes_the_page(log, monkeypatch):
    monkeypatch.setattr(selectors, "_SEARCH_BATCH", 1)
    monkeypatch.setattr(selectors, "_SEARCH_BATCHES", 2)
    page, _ = selectors.events_page({"q": "refund"}, size=5)
    assert [e.seq for e in page] == list(
        selectors.events_filtered({"q": "refund"}).order_by("-seq").values_list("seq", flat=True)[:5]
    )
