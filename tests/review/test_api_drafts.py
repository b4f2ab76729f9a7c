import json

import pytest
from django.test import Client

from reviewqueue.accounts.services import api_token_issue
from reviewqueue.audit.services import Actor
from reviewqueue.review.claims import draft_claim
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.models import Decision
from tests.conftest import make_user
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db


def token_for(user) -> str:
    _, raw = api_token_issue(user=user, name="cli", actor=Actor.system("test"))
    return raw


def api(user=None, raw_token=None):
    raw = raw_token or (token_for(user) if user else None)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}") if raw else Client()


def post_decision(client, draft_id, body, content_type="application/json"):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(f"/api/v1/drafts/{draft_id}/decision", data=data, content_type=content_type)


def test_listing_pending_drafts_needs_a_personal_token(broker):
    response = Client().get("/api/v1/drafts?status=pending")
    assert response.status_code == 401
    assert "token" in response.json()["error"]


def test_a_token_whose_owner_is_not_a_reviewer_is_forbidden(broker, outsider):
    assert api(outsider).get("/api/v1/drafts").status_code == 403


def test_a_reviewer_lists_pending_drafts_longest_waiting_first(broker, reviewer):
    from django.utils import timezone

    newer = received_draft("em_new", waiting_since=timezone.now())
    older = received_draft("em_old", waiting_since=timezone.now() - timezone.timedelta(hours=3))
    body = api(reviewer).get("/api/v1/drafts?status=pending").json()
    assert [d["id"] for d in body["drafts"]] == [older.pk, newer.pk]
    assert body["total"] == 2 and body["has_next"] is False
    assert body["drafts"][0]["to"] == ["customer@example.com"]


def test_bad_list_parameters_get_a_clear_400(broker, reviewer):
    client = api(reviewer)
    assert "status" in client.get("/api/v1/drafts?status=maybe").json()["error"]
    assert client.get("/api/v1/drafts?page=zero").status_code == 400
    assert client.get("/api/v1/drafts?flag=purple").status_code == 400


def test_a_reviewer_reads_one_draft(broker, reviewer, draft):
    body = api(reviewer).get(f"/api/v1/drafts/{draft.pk}").json()
    assert body["email_id"] == "em_1" and body["markdown"] == "Hello" and body["decision"] is None


def test_an_unknown_draft_is_404(broker, reviewer):
    assert api(reviewer).get("/api/v1/drafts/999999").status_code == 404


def test_a_reviewer_decides_with_their_token(broker, reviewer, draft):
    response = post_decision(api(reviewer), draft.pk, {"action": "reject", "reason": "Tone not appropriate"})
    assert response.status_code == 201
    body = response.json()
    assert body["decision"]["reviewer"]["username"] == "rita"
    assert body["draft"]["status"] == "decided"
    decision = Decision.objects.get()
    assert (decision.origin, decision.reason) == ("api", "Tone not appropriate")


def test_a_second_decision_is_409_naming_who_decided_when(broker, reviewer, draft, django_user_model):
    first = make_user(django_user_model, "sam", "reviewer")
    draft_decide(draft=draft, reviewer=first, action="approve", reason="", origin="web")
    response = post_decision(api(reviewer), draft.pk, {"action": "approve", "reason": ""})
    assert response.status_code == 409
    body = response.json()
    assert body["conflict"] == "already_decided"
    assert body["decision"]["reviewer"]["username"] == "sam"
    assert body["decision"]["decided_at"]
    assert "approved by sam" in body["error"]


def test_a_draft_claimed_by_someone_else_is_409_naming_the_holder(broker, reviewer, draft, django_user_model):
    holder = make_user(django_user_model, "sam", "reviewer")
    draft_claim(draft=draft, reviewer=holder)
    response = post_decision(api(reviewer), draft.pk, {"action": "approve"})
    assert response.status_code == 409
    assert response.json()["claimed_by"]["username"] == "sam"
    assert not Decision.objects.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "JSON"),
        ("[1, 2]", "object"),
        ({"action": "maybe"}, "invalid decision"),
        ({"action": "reject", "reason": ""}, "invalid decision"),
        ({"action": "approve", "reason": 7}, "invalid decision"),
    ],
)
def test_bad_decision_bodies_get_a_clear_400_and_change_nothing(broker, reviewer, draft, body, message):
    response = post_decision(api(reviewer), draft.pk, body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not Decision.objects.exists()


def test_deciding_without_a_token_is_401(broker, draft):
    assert post_decision(Client(), draft.pk, {"action": "approve"}).status_code == 401
    assert not Decision.objects.exists()


def test_posting_to_the_collection_goes_to_intake_not_the_review_api(broker, reviewer):
    # Intake takes intake tokens: a person's token is not one.
    response = api(reviewer).post("/api/v1/drafts", data="{}", content_type="application/json")
    assert response.status_code == 401
