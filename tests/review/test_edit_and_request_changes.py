"""Approve with edits and request changes: the review API, the draft page's forms, the outbox's note and reason.

MultiMail and Intercom are the fakes at the HTTP boundary (tests/fakes.py); the edit's steps at
the sandbox are in test_edit_approve.py.
"""

import json

import pytest
from django.test import Client
from django.urls import reverse

from reviewqueue.accounts.services import api_token_issue
from reviewqueue.audit.services import Actor
from reviewqueue.review.claims import draft_claim
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.errors import InvalidDecision
from reviewqueue.review.models import Decision, Draft, DraftEdit, OutboxItem
from reviewqueue.review.outbox import outbox_run
from tests.conftest import logged_in_client, make_user
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def api(user) -> Client:
    _, raw = api_token_issue(user=user, name="cli", actor=Actor.system("test"))
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def post_decision(client, draft_id, body):
    return client.post(f"/api/v1/drafts/{draft_id}/decision", data=json.dumps(body), content_type="application/json")


@pytest.fixture
def linked(db, multimail, intercom, use_fakes):
    contact = intercom.add_contact("customer@example.com")
    intercom.add_conversation("c_7", contact=contact)
    multimail.add_email("em_1", tags={"intercom_conversation_id": "c_7"})
    return received_draft(
        conversation_id="c_7",
        conversation_link="tag",
        subject="Your refund",
        markdown="Hello, your refund of 50 EUR is on its way.",
    )


def named(reviewer):
    reviewer.first_name, reviewer.last_name = "Rita", "Reyes"
    reviewer.save()
    return reviewer


def run_all(multimail, intercom):
    mm, ic = multimail.client(), intercom.client()
    for item in OutboxItem.objects.order_by("sequence", "pk"):
        outbox_run(item_id=item.pk, multimail=mm, intercom=ic)


# --- request changes -----------------------------------------------------------------------------


def test_requesting_changes_rejects_at_multimail_with_the_feedback_and_notes_the_conversation(
    broker, linked, reviewer, multimail, intercom
):
    draft_decide(
        draft=linked, reviewer=named(reviewer), action="request_changes", reason="Refund is 45 EUR", origin="web"
    )
    run_all(multimail, intercom)
    email = multimail.emails["em_1"]
    assert email["status"] == "rejected"
    assert email["decide_reason"] == "changes requested by Rita Reyes <rita@example.com>: Refund is 45 EUR"
    [note] = intercom.notes("c_7")
    assert "changes requested by Rita Reyes: Refund is 45 EUR" in note["body"]
    assert [t["name"] for t in intercom.conversations["c_7"]["tags"]["tags"]] == ["email-changes-requested"]
    assert Decision.objects.get().carried_out_status == "rejected"


def test_requesting_changes_needs_feedback(broker, linked, reviewer):
    with pytest.raises(InvalidDecision, match="feedback"):
        draft_decide(draft=linked, reviewer=reviewer, action="request_changes", reason="  ", origin="web")
    response = post_decision(api(reviewer), linked.pk, {"action": "request_changes", "reason": ""})
    assert response.status_code == 400 and "reason" in response.json()["fields"]


def test_the_api_requests_changes(broker, linked, reviewer):
    response = post_decision(api(reviewer), linked.pk, {"action": "request_changes", "reason": "Wrong amount"})
    assert response.status_code == 201
    assert response.json()["decision"]["action"] == "request_changes"
    assert response.json()["decision"]["edited"] is False


# --- approve with edits through the API ---------------------------------------------------------------


def test_the_api_approves_with_an_edit_and_shows_edited_the_final_email_and_the_diff(
    broker, linked, reviewer, multimail, intercom
):
    client = api(reviewer)
    body = {"action": "approve", "reason": "", "edit": {"markdown": "Hello, your refund of 45 EUR is on its way."}}
    response = post_decision(client, linked.pk, body)
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["decision"]["edited"] is True and answer["draft"]["edited"] is True
    assert answer["decision"]["final_email_id"] is None  # not sent yet
    assert ["-", "50"] in answer["draft"]["diff"]["markdown"] and ["+", "45"] in answer["draft"]["diff"]["markdown"]
    assert answer["draft"]["diff"]["subject"] == [["=", "Your refund"]]
    DraftEdit.objects.update(edited_email_id="em_edited")
    shown = client.get(f"/api/v1/drafts/{linked.pk}").json()
    assert shown["edited"] is True and shown["final_email_id"] == "em_edited"
    assert shown["decision"]["final_email_id"] == "em_edited"


def test_an_edit_that_changes_nothing_is_a_400_that_says_so(broker, linked, reviewer):
    body = {"action": "approve", "edit": {"subject": "Your refund", "markdown": linked.markdown}}
    response = post_decision(api(reviewer), linked.pk, body)
    assert response.status_code == 400
    assert "the edit changes nothing" in response.json()["error"]
    assert Draft.objects.get(pk=linked.pk).status == "pending"


@pytest.mark.parametrize(
    "edit, field",
    [
        ("new text", "edit"),
        ({"markdown": 5}, "edit.markdown"),
        ({"subject": "  "}, "edit.subject"),
        ({"to": []}, "edit"),
    ],
)
def test_a_malformed_edit_is_a_400(broker, linked, reviewer, edit, field):
    response = post_decision(api(reviewer), linked.pk, {"action": "approve", "edit": edit})
    assert response.status_code == 400
    assert field in json.dumps(response.json())


def test_an_edit_on_a_rejection_is_refused(broker, linked, reviewer):
    body = {"action": "reject", "reason": "no", "edit": {"markdown": "x"}}
    response = post_decision(api(reviewer), linked.pk, body)
    assert response.status_code == 400 and "edit" in response.json()["fields"]


def test_an_edit_meets_the_claim_like_an_approval(broker, linked, reviewer, django_user_model):
    other = make_user(django_user_model, "bo", "reviewer")
    draft_claim(draft=linked, reviewer=other)
    response = post_decision(api(reviewer), linked.pk, {"action": "approve", "edit": {"markdown": "Changed."}})
    assert response.status_code == 409 and response.json()["conflict"] == "claimed"
    assert not DraftEdit.objects.exists()


def test_the_note_says_approved_with_edits_with_a_summary(broker, linked, reviewer, multimail, intercom):
    draft_decide(
        draft=linked,
        reviewer=named(reviewer),
        action="approve",
        reason="",
        origin="web",
        edit={"markdown": "Hello, your refund of 45 EUR is on its way."},
    )
    note = OutboxItem.objects.get(kind=OutboxItem.Kind.INTERCOM_NOTE)
    assert "approved with edits by Rita Reyes" in note.payload["body_html"]
    assert "body: 1 word added, 1 word removed" in note.payload["body_html"]
    assert not OutboxItem.objects.filter(kind=OutboxItem.Kind.TAG_EMAIL).exists()  # tagged as it is sent


# --- the draft page -------------------------------------------------------------------------------


def test_the_preview_renders_through_the_page_sanitizer_with_a_redline(broker, linked, reviewer):
    client = logged_in_client(reviewer)
    url = reverse("review:draft_edit_preview", args=[linked.pk])
    response = client.post(
        url, {"edit_subject": "Your refund", "edit_markdown": "Hello, **45** EUR <script>alert(1)</script>"}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<strong>45</strong>" in html and "<script>" not in html
    assert '<del class="redline-del">[-' in html and '<ins class="redline-ins">{+' in html


def test_without_javascript_the_preview_is_a_page_that_confirms_the_edit(broker, linked, reviewer):
    client = logged_in_client(reviewer)
    edited = "Hello, your refund of 45 EUR is on its way."
    url = reverse("review:draft_edit_preview", args=[linked.pk])
    page = client.post(url, {"edit_subject": "", "edit_markdown": edited}).content.decode()
    assert "{+45+}" in page and reverse("review:draft_approve_edited", args=[linked.pk]) in page
    response = client.post(reverse("review:draft_approve_edited", args=[linked.pk]), {"edit_markdown": edited})
    assert response.status_code == 302
    assert DraftEdit.objects.get().edited_subject == "Your refund"  # a field left empty keeps the original's


def test_a_draft_with_attachments_offers_no_edit(broker, linked, reviewer):
    Draft.objects.filter(pk=linked.pk).update(attachments=[{"name": "a.pdf", "content_type": "application/pdf"}])
    page = logged_in_client(reviewer).get(reverse("review:draft", args=[linked.pk])).content.decode()
    assert 'id="edit-unavailable"' in page and 'data-key="e"' not in page


def test_the_page_approves_with_edits_and_the_decided_page_shows_the_redline(broker, linked, reviewer):
    client = logged_in_client(reviewer)
    assert b'data-key="e"' in client.get(reverse("review:draft", args=[linked.pk])).content
    response = client.post(
        reverse("review:draft_approve_edited", args=[linked.pk]),
        {"edit_subject": "Your refund", "edit_markdown": "Hello, your refund of 45 EUR is on its way."},
    )
    assert response.status_code == 302
    decision = Decision.objects.get()
    assert decision.is_edited and decision.verb == "approved with edits"
    page = client.get(reverse("review:draft", args=[linked.pk])).content.decode()
    assert "Approved with edits by" in page and 'id="decision-redline"' in page
    assert "[-50-]" in page and "{+45+}" in page


def test_the_page_requests_changes_from_the_feedback_form(broker, linked, reviewer):
    client = logged_in_client(reviewer)
    page = client.get(reverse("review:draft", args=[linked.pk])).content.decode()
    assert 'data-key="f"' in page
    response = client.post(reverse("review:draft_request_changes", args=[linked.pk]), {"feedback": "Wrong amount"})
    assert response.status_code == 302
    assert Decision.objects.get().action == "request_changes"


def test_the_page_refuses_an_edit_that_changes_nothing(broker, linked, reviewer):
    client = logged_in_client(reviewer)
    response = client.post(
        reverse("review:draft_approve_edited", args=[linked.pk]),
        {"edit_subject": linked.subject, "edit_markdown": linked.markdown},
    )
    assert response.status_code == 400
    assert "the edit changes nothing" in response.content.decode().lower()


# --- the audit trail ------------------------------------------------------------------------------


def test_auditors_see_the_redline_and_verify_audit_catches_a_rewritten_edit(broker, linked, reviewer, auditor):
    from django.db import connection

    from reviewqueue.audit.models import AuditEvent
    from reviewqueue.audit.verify import verify_chain
    from tests.audit.chain_helpers import drop_triggers

    decision = draft_decide(
        draft=linked,
        reviewer=reviewer,
        action="approve",
        reason="",
        origin="web",
        edit={"markdown": "Hello, your refund of 45 EUR is on its way."},
    )
    page = logged_in_client(auditor).get(reverse("audit:decision", args=[decision.pk])).content.decode()
    assert 'id="audit-redline"' in page and "[-50-]" in page and "{+45+}" in page
    assert verify_chain().intact
    event = AuditEvent.objects.get(action="draft.decided")
    drop_triggers()
    with connection.cursor() as cursor:  # someone rewrites the edit the reviewer approved
        cursor.execute(
            "UPDATE audit_auditevent SET payload = jsonb_set(payload, '{edit,edited,markdown}', '\"Pay us\"')"
            " WHERE seq = %s",
            [event.seq],
        )
    result = verify_chain()
    assert not result.intact and result.first_bad_seq == event.seq
