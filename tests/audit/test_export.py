import csv
import io
import json

from reviewqueue.audit.models import AuditEvent

from .factories import record_decision, record_event


def _body(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def test_csv_export_streams_the_filtered_rows_in_order(auditor_client, db):
    record_decision(decision_id=1, draft_id=10, reason="=HYPERLINK(evil)")
    record_event("draft.received", draft_id=11, mailbox_id="mbx_sales")
    record_decision(decision_id=2, draft_id=11, mailbox_id="mbx_sales")
    response = auditor_client.get("/audit/export.csv", {"action": "draft.decided"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(_body(response))))
    expected = AuditEvent.objects.filter(action="draft.decided").order_by("seq")
    assert [int(row["seq"]) for row in rows] == [event.seq for event in expected]
    assert [row["hash"] for row in rows] == [event.hash for event in expected]
    assert json.loads(rows[1]["payload"])["mailbox_id"] == "mbx_sales"


def test_csv_cells_that_look_like_formulas_stay_text(auditor_client, db):
    record_event("note", actor="=cmd|' /C calc'!A0")
    rows = list(csv.DictReader(io.StringIO(_body(auditor_client.get("/audit/export.csv")))))
    assert rows[0]["actor_label"] == "'=cmd|' /C calc'!A0"


def test_jsonl_export_streams_one_object_per_event(auditor_client, db):
    record_event("draft.received", draft_id=10, mailbox_id="mbx_support")
    record_event("draft.received", draft_id=11, mailbox_id="mbx_sales")
    record_event("draft.claimed", draft_id=12, mailbox_id="mbx_sales")
    response = auditor_client.get("/audit/export.jsonl", {"mailbox": "mbx_sales"})
    assert response["Content-Type"].startswith("application/x-ndjson")
    records = [json.loads(line) for line in _body(response).splitlines()]
    assert [(r["seq"], r["action"], r["payload"]["draft_id"]) for r in records] == [
        (2, "draft.received", 11),
        (3, "draft.claimed", 12),
    ]
    assert records[0]["hash"] == AuditEvent.objects.get(seq=2).hash


def test_every_export_is_audited_with_its_filters(auditor_client, auditor, db):
    record_event("draft.received", draft_id=10)
    _body(auditor_client.get("/audit/export.jsonl", {"draft": "10"}))
    made = AuditEvent.objects.get(action="export.made")
    assert made.actor_label == auditor.username
    assert made.payload == {"format": "jsonl", "filters": {"draft": "10"}}


def test_exports_refuse_bad_filters_and_unknown_formats(auditor_client, db):
    response = auditor_client.get("/audit/export.csv", {"since": "yesterday-ish"})
    assert response.status_code == 400 and b"Invalid filters" in response.content
    assert auditor_client.get("/audit/export.xml").status_code == 404
    assert not AuditEvent.objects.filter(action="export.made").exists()
