from datetime import UTC, datetime

from reviewqueue.integrations.intercom.models import ConversationSnapshot

from .factories import record_decision, record_event


def test_the_record_of_a_decision_shows_what_the_reviewer_knew(auditor_client, db):
    record_event("draft.received", draft_id=7)
    decided = record_decision(decision_id=42, draft_id=7, action="reject", reason="Wrong refund amount")
    record_event("decide.sent", draft_id=7, decision_id=42, status="rejected")
    record_event("intercom.note_written", draft_id=7, part_id="p_9")
    record_event("draft.received", draft_id=8)  # another draft: not part of this record

    response = auditor_client.get("/audit/decisions/42/")
    body = response.content.decode()
    assert response.status_code == 200
    for expected in ["Re: order 7", "customer@example.org", "<strong>there</strong>", "Wrong refund amount",
                     "rita@example.com", "10.1.2.3", "Firefox/140", "mbx_support", "em_7"]:  # fmt: skip
        assert expected in body, expected
    assert [e.action for e in response.context["later_events"]] == ["decide.sent", "intercom.note_written"]
    assert response.context["decided"].seq == decided.seq


def test_draft_content_is_rendered_safely(auditor_client, db):
    record_decision(decision_id=5, draft_id=1, markdown="<script>alert(1)</script> [x](javascript:alert(1))")
    body = auditor_client.get("/audit/decisions/5/").content.decode()
    assert "<script>alert(1)" not in body
    assert 'href="javascript:' not in body
    assert "&lt;script&gt;alert(1)" in body  # shown as text


def test_a_missing_snapshot_is_said_plainly(auditor_client, db):
    record_decision(decision_id=6, draft_id=1, snapshot_id=None)
    record_decision(decision_id=7, draft_id=2, snapshot_id=99999)
    assert "no snapshot was recorded" in auditor_client.get("/audit/decisions/6/").content.decode()
    assert "snapshot #99999 not available" in auditor_client.get("/audit/decisions/7/").content.decode()


def test_the_conversation_snapshot_the_reviewer_saw_is_shown(auditor_client, db):
    snapshot = ConversationSnapshot.objects.create(
        conversation_id="conv_1",
        fetched_at=datetime.now(UTC),
        checked_at=datetime.now(UTC),
        data=_conversation_data(),
        content_hash="h" * 64,
    )
    record_decision(decision_id=8, draft_id=3, snapshot_id=snapshot.pk)
    body = auditor_client.get("/audit/decisions/8/").content.decode()
    assert "Where is my refund?" in body
    assert "<img" not in body


def test_an_unknown_decision_is_404(auditor_client, db):
    assert auditor_client.get("/audit/decisions/404/").status_code == 404


def _conversation_data() -> dict:
    from reviewqueue.integrations.intercom.types import Conversation

    sample = {
        "type": "conversation",
        "id": "conv_1",
        "title": "Refund",
        "created_at": 1764000000,
        "updated_at": 1764000100,
        "open": True,
        "state": "open",
        "source": {"type": "email", "subject": "Refund", "body": "<p>Where is my refund?</p><img src=https://t.example/x.gif>",
                   "author": {"type": "user", "id": "u1", "name": "Cust", "email": "c@example.org"}},
        "contacts": {"contacts": []},
        "tags": {"tags": []},
        "conversation_parts": {"conversation_parts": []},
    }  # fmt: skip
    return Conversation.from_api(sample).to_data()
