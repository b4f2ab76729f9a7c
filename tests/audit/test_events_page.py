import pytest
from django.test import Client
from django.urls import reverse

from reviewqueue.audit.models import AuditEvent

from .factories import record_decision, record_event


@pytest.fixture
def log(db):
    record_event("draft.received", draft_id=10, mailbox_id="mbx_support", conversation_id="conv_1")
    record_decision(decision_id=1, draft_id=10, reason="Refund amount is wrong for this customer", action="reject")
    record_event("decide.sent", draft_id=10, decision_id=1)
    record_event("draft.received", draft_id=11, mailbox_id="mbx_sales", conversation_id="conv_2")
    record_decision(decision_id=2, draft_id=11, reviewer="sam", mailbox_id="mbx_sales", conversation_id="conv_2")
    record_event("role.granted", actor="grant_role", role="auditor")


def _seqs(response) -> list[int]:
    return [event.seq for event in response.context["events"]]


def _actions(response) -> list[str]:
    return [event.action for event in response.context["events"]]


def test_auditor_sees_the_event_stream_newest_first(auditor_client, log):
    response = auditor_client.get("/audit/")
    assert response.status_code == 200
    assert _seqs(response) == sorted(AuditEvent.objects.values_list("seq", flat=True), reverse=True)
    assert b"Refund amount is wrong" in response.content


def test_each_row_links_the_event_and_a_decision_record(auditor_client, log):
    html = auditor_client.get("/audit/", {"action": "draft.decided"}).content.decode()
    decided = AuditEvent.objects.filter(action="draft.decided").order_by("-seq").first()
    assert f'<td><a href="/audit/events/{decided.seq}/">{decided.seq}</a></td>' in html
    assert f"<td>{decided.created_at:%Y-%m-%d %H:%M:%S}</td>" in html
    assert '<a href="/audit/decisions/2/">record</a>' in html
    assert '<td>sam <span class="muted">person</span></td>' in html
    assert "<td>draft:11</td>" in html


def test_rows_escape_what_people_wrote_and_cut_long_reasons(auditor_client, db):
    hostile = '<img src=x onerror="alert(1)">'
    record_decision(decision_id=9, draft_id=1, reviewer="<b>eve</b>", reason=hostile + "x" * 200)
    html = auditor_client.get("/audit/").content.decode()
    assert "<img" not in html and "<b>eve" not in html
    assert "&lt;b&gt;eve&lt;/b&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" + "x" * 89 + "…</td>" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "draft.decided"}, ["draft.decided", "draft.decided"]),
        ({"action": "draft."}, ["draft.decided", "draft.received", "draft.decided", "draft.received"]),
        ({"actor": "sam"}, ["draft.decided"]),
        ({"mailbox": "mbx_sales"}, ["draft.decided", "draft.received"]),
        ({"conversation": "conv_1"}, ["draft.decided", "draft.received"]),
        ({"draft": "10"}, ["decide.sent", "draft.decided", "draft.received"]),
        ({"decision": "1"}, ["decide.sent", "draft.decided"]),
        ({"q": "refunds"}, ["draft.decided"]),
        ({"q": "customer -refund"}, []),
        ({"actor": "grant_role", "action": "role.granted"}, ["role.granted"]),
    ],
)
def test_filters_return_the_matching_events(auditor_client, log, query, expected):
    response = auditor_client.get("/audit/", query)
    assert _actions(response) == expected


def test_a_time_range_filters_by_when_events_happened(auditor_client, log):
    third = AuditEvent.objects.get(seq=3)
    response = auditor_client.get("/audit/", {"since": third.created_at.strftime("%Y-%m-%d %H:%M:%S.%f")[:19]})
    assert set(_seqs(response)) >= {3, 4, 5, 6}
    response = auditor_client.get("/audit/", {"until": "2000-01-01T00:00"})
    assert _seqs(response) == []


def test_an_inverted_time_range_is_a_clear_400(auditor_client, log):
    response = auditor_client.get("/audit/", {"since": "2026-01-02T00:00", "until": "2026-01-01T00:00"})
    assert response.status_code == 400
    assert "must not be after" in response.content.decode()


def test_htmx_requests_get_only_the_table(auditor_client, log):
    response = auditor_client.get("/audit/", {"action": "role.granted"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="events-table">')
    assert "<html" not in body and "role.granted" in body


def test_pages_are_keyset_paginated(auditor_client, db):
    for n in range(120):
        record_event("draft.received", draft_id=n)
    first = auditor_client.get("/audit/")
    assert _seqs(first) == list(range(120, 70, -1))
    second = auditor_client.get("/audit/", {"before": 71})
    assert _seqs(second) == list(range(70, 20, -1))
    assert 'hx-get="/audit/?before=21"' in second.content.decode()
    last = auditor_client.get("/audit/", {"before": 21})
    assert _seqs(last) == list(range(20, 0, -1)) and not last.context["next_query"]


def test_event_detail_shows_hashes_and_payload(auditor_client, log):
    event = AuditEvent.objects.get(seq=2)
    response = auditor_client.get(f"/audit/events/{event.seq}/")
    body = response.content.decode()
    assert event.hash in body and event.prev_hash in body and "Refund amount is wrong" in body
    assert auditor_client.get("/audit/events/999/").status_code == 404


@pytest.mark.parametrize("persona", ["reviewer", "admin_user", "outsider"])
def test_people_without_the_auditor_role_get_403(request, log, persona):
    client = Client()
    client.force_login(request.getfixturevalue(persona))
    for url in [
        "/audit/",
        "/audit/events/1/",
        "/audit/decisions/1/",
        "/audit/export.csv",
        "/audit/export.jsonl",
        "/audit/summaries/",
        "/audit/verification/",
        "/audit/reconciliation/",
    ]:
        assert client.get(url).status_code == 403, url
    assert client.post("/audit/verification/").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(log):
    response = Client().get("/audit/?action=draft.decided")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert Client().get("/audit/export.csv").status_code == 302


def test_an_action_prefix_is_read_from_the_action_index(log):
    """A prefix matching few events must not read the whole log (it took 5 s at 1,000,000 events)."""
    from django.db import connection

    from reviewqueue.audit.selectors import events_filtered

    query = events_filtered({"action": "role."}).order_by("-seq").values("seq")[:51]
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "audit_event_action_seq" in plan and "Index Cond" in plan, plan
