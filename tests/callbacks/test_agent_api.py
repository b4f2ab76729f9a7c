"""GET /api/v1/drafts/<id> with the intake token that submitted the draft: its status and decision,
for agents that poll instead of receiving callbacks; another token's draft is a 404."""

import pytest
from django.test import Client

from reviewqueue.accounts.services import api_token_issue
from reviewqueue.audit.services import Actor
from reviewqueue.callbacks.models import CallbackDelivery
from reviewqueue.callbacks.services import callback_queue
from reviewqueue.review.decisions import draft_decide
from reviewqueue.routing.services import intake_token_issue, intake_token_revoke
from tests.callbacks.conftest import submitted_draft, with_callback
from tests.routing.test_openapi import conforms

pytestmark = pytest.mark.django_db


def agent(name: str = "refund agent"):
    token, raw = intake_token_issue(name=name, actor=Actor.system("test"))
    return token, Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_the_submitting_token_sees_status_and_decision(broker, reviewer):
    token, client = agent()
    draft = submitted_draft(token, conversation_id="c_7")
    answer = client.get(f"/api/v1/drafts/{draft.pk}")
    assert answer.status_code == 200
    assert answer.json() == {
        "draft_id": draft.pk,
        "status": "pending",
        "email_id": "em_1",
        "final_email_id": "em_1",
        "conversation_id": "c_7",
        "revision_of": None,
        "revision_number": 1,
        "decision": None,
        "email": {"sent_at": None, "delivered_at": None, "bounced_at": None, "bounce_type": ""},
    }
    decision = draft_decide(draft=draft, reviewer=reviewer, action="request_changes", reason="Say 45 EUR", origin="api")
    seen = client.get(f"/api/v1/drafts/{draft.pk}").json()
    assert seen["status"] == "decided"
    assert seen["decision"]["id"] == decision.pk and seen["decision"]["action"] == "request_changes"
    assert seen["decision"]["reason"] == "Say 45 EUR" and seen["decision"]["reviewer"]["username"] == "rita"


def test_another_tokens_draft_is_a_404_like_a_missing_one(broker):
    owner, _ = agent("owner")
    _, stranger = agent("stranger")
    draft = submitted_draft(owner)
    other = stranger.get(f"/api/v1/drafts/{draft.pk}")
    missing = stranger.get("/api/v1/drafts/999999")
    assert other.status_code == missing.status_code == 404
    assert other.json()["error"] == f"no draft {draft.pk} submitted with this token"
    assert "email_id" not in other.json()


def test_a_revoked_or_unknown_intake_token_is_a_401(broker):
    token, client = agent()
    draft = submitted_draft(token)
    intake_token_revoke(token=token, actor=Actor.system("test"))
    answer = client.get(f"/api/v1/drafts/{draft.pk}")
    assert answer.status_code == 401 and answer["WWW-Authenticate"] == "Bearer"
    forged = Client(HTTP_AUTHORIZATION="Bearer rqi_not-a-real-token").get(f"/api/v1/drafts/{draft.pk}")
    assert forged.status_code == 401


def test_an_intake_token_cannot_list_or_decide(broker):
    token, client = agent()
    draft = submitted_draft(token)
    assert client.get("/api/v1/drafts").status_code == 401
    decided = client.post(f"/api/v1/drafts/{draft.pk}/decision", data="{}", content_type="application/json")
    assert decided.status_code == 401


def test_reviewers_keep_their_view(broker, reviewer):
    token, _ = agent()
    draft = submitted_draft(token)
    _, raw = api_token_issue(user=reviewer, name="cli", actor=Actor.system("test"))
    answer = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get(f"/api/v1/drafts/{draft.pk}")
    assert answer.status_code == 200
    assert answer.json()["id"] == draft.pk and "markdown" in answer.json()


def test_sent_at_is_known_once_multimail_said_so(broker, lenient):
    token, client = agent()
    with_callback(token, "http://127.0.0.1:9/cb")
    draft = submitted_draft(token)
    delivery = callback_queue(draft_id=draft.pk, event=CallbackDelivery.Event.SENT)
    assert client.get(f"/api/v1/drafts/{draft.pk}").json()["email"]["sent_at"] == delivery.created_at.isoformat()


def test_the_agents_answers_match_the_openapi_document(broker, reviewer):
    token, client = agent()
    draft = submitted_draft(token)
    path = f"/api/v1/drafts/{draft.pk}"
    pending = conforms(client.get(path), "GET", path)
    assert pending["decision"] is None
    draft_decide(draft=draft, reviewer=reviewer, action="reject", reason="No", origin="api")
    assert conforms(client.get(path), "GET", path)["decision"]["action"] == "reject"
    _, stranger = agent("stranger")
    conforms(stranger.get(path), "GET", path)  # 404
    conforms(Client(HTTP_AUTHORIZATION="Bearer rqi_nope").get(path), "GET", path)  # 401
