"""The since/until filters: a seq range found on the created_at index, the same answer as filtering
created_at, for the page, the export and the summaries alike."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reviewqueue.audit import selectors, services
from reviewqueue.audit.models import AuditEvent

from .chain_helpers import drop_triggers, execute
from .factories import ClockAt, record_decision, record_event

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# Seconds after T0 of each event, in seq order; repeated times are events written in the same
# microsecond, or while the clock read earlier than the head (audit_record_many then keeps its time).
OFFSETS = [0, 1, 1, 1, 2, 3, 3, 5, 8]
DECIDED = {2, 5, 8}  # the seqs of the decisions (reason "Looks right") the log fixture writes


@pytest.fixture
def log(db, monkeypatch):
    for n, offset in enumerate(OFFSETS):
        monkeypatch.setattr(services, "datetime", ClockAt(T0 + timedelta(seconds=offset)))
        if n % 3 == 1:
            record_decision(decision_id=n, draft_id=n, reviewer=f"r{n % 2}")
        else:
            record_event("draft.received", draft_id=n)
    monkeypatch.undo()


def _edges() -> list[datetime | None]:
    """Every time in the log, a microsecond either side, and beyond both ends."""
    moments = {T0 + timedelta(seconds=offset) for offset in OFFSETS}
    near = {moment + timedelta(microseconds=step) for moment in moments for step in (-1, 0, 1)}
    return [None, T0 - timedelta(days=1), *sorted(near), T0 + timedelta(days=1)]


def _windows():
    edges = _edges()
    return [(since, until) for since in edges for until in edges if not (since and until and since > until)]


def _by_created_at(since, until) -> list[int]:
    events = AuditEvent.objects.order_by("seq")
    if since:
        events = events.filter(created_at__gte=since)
    if until:
        events = events.filter(created_at__lte=until)
    return list(events.values_list("seq", flat=True))


def test_every_window_holds_exactly_the_events_whose_time_is_inside_it(log):
    for since, until in _windows():
        filters = {"since": since, "until": until}
        expected = _by_created_at(since, until)
        assert list(selectors.events_filtered(filters).order_by("seq").values_list("seq", flat=True)) == expected
        page, _ = selectors.events_page(filters, size=len(OFFSETS))
        assert [event.seq for event in page] == expected[::-1], (since, until)
        assert [row[0] for row in selectors.export_rows(filters)] == expected, (since, until)
        searched, _ = selectors.events_page({**filters, "q": "right"}, size=len(OFFSETS))
        assert [event.seq for event in searched] == [seq for seq in expected[::-1] if seq in DECIDED], (since, until)


def test_summaries_count_the_decisions_inside_the_window(log):
    since, until = T0 + timedelta(seconds=1), T0 + timedelta(seconds=3)
    summaries = selectors.decision_summaries({"since": since, "until": until}, by="reviewer")
    decided = AuditEvent.objects.filter(action="draft.decided", created_at__range=(since, until))
    assert sum(summary.decisions for summary in summaries) == decided.count() == 2


def test_a_window_is_a_range_of_seq_on_the_page_query(log):
    filters = {"since": T0 + timedelta(seconds=1), "until": T0 + timedelta(seconds=3)}
    with CaptureQueriesContext(connection) as queries:
        page, _ = selectors.events_page(filters)
    assert [event.seq for event in page] == [7, 6, 5, 4, 3, 2]
    lookup, query = (q["sql"] for q in queries.captured_queries)
    assert "ORDER BY created_at" in lookup
    assert '"audit_auditevent"."seq" > 1' in query and '"audit_auditevent"."seq" < 8' in query


def test_a_search_walks_only_the_matches_inside_the_window(log, monkeypatch):
    monkeypatch.setattr(selectors, "_SEARCH_BATCH", 1)
    filters = {"q": "right", "since": T0 + timedelta(seconds=1), "until": T0 + timedelta(seconds=3)}
    with CaptureQueriesContext(connection) as queries:
        page, _ = selectors.events_page(filters)
    assert [event.seq for event in page] == [5, 2]
    walked = [q["sql"] for q in queries.captured_queries if "FROM audit_auditreasonsearch" in q["sql"]]
    assert len(walked) == 3  # seq 5, seq 2, then none left: decision 8, after the window, is not read


def test_a_window_reaching_past_the_head_keeps_events_appended_after_the_lookup(log):
    events = selectors.events_filtered({"since": T0, "until": datetime.now(UTC) + timedelta(days=1)})
    appended = record_event("draft.received", draft_id=99)
    assert appended.seq in set(events.values_list("seq", flat=True))


def test_an_event_listed_is_inside_the_window_even_if_older_rows_are_out_of_order(log):
    # Rows of the code before times were monotonic: appenders with skewed clocks, a microsecond apart.
    drop_triggers()
    execute("UPDATE audit_auditevent SET created_at = %s WHERE seq = 6", [T0 + timedelta(seconds=2, microseconds=-1)])
    for since, until in _windows():
        listed = set(selectors.events_filtered({"since": since, "until": until}).values_list("seq", flat=True))
        assert listed <= set(_by_created_at(since, until)), (since, until)
