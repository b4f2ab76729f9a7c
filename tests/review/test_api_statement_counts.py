"""The review API's GET of a draft and a decision take a fixed number of statements (issue 23: the
web's CPU per draft at the soak's rate); a draft that is neither a revision nor revised costs no
revision-chain query, one that is still shows its chain's length."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from reviewqueue.accounts.services import api_token_issue
from reviewqueue.audit.services import Actor
from reviewqueue.review.models import Draft
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db

# The token with its user and roles; the draft with its decision and claim.
DRAFT_GET_STATEMENTS = 2
# The token; the draft; the decision's transaction (lock, read, decision, status, outbox, audit); the answer's
# draft and outbox items (a rejection has no edit to read). Savepoints left out.
DECISION_POST_STATEMENTS = 11


def reviewer_api(user) -> Client:
    _, raw = api_token_issue(user=user, name="cli", actor=Actor.system("test"))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.get("/api/v1/drafts/0")  # the token's first use writes last_used_at: not counted below
    return client


def statements(request) -> tuple:
    with CaptureQueriesContext(connection) as queries:
        response = request()
    sql = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    return response, sql


def test_a_draft_get_takes_a_fixed_number_of_statements(broker, reviewer):
    client, draft = reviewer_api(reviewer), received_draft()
    response, sql = statements(lambda: client.get(f"/api/v1/drafts/{draft.pk}"))
    assert response.status_code == 200 and response.json()["revision"] == {"number": 1, "total": 1, "revision_of": None}
    assert len(sql) == DRAFT_GET_STATEMENTS, "\n".join(sql)


def test_a_decision_takes_a_fixed_number_of_statements(broker, reviewer):
    client, draft = reviewer_api(reviewer), received_draft()
    response, sql = statements(
        lambda: client.post(
            f"/api/v1/drafts/{draft.pk}/decision",
            data={"action": "reject", "reason": "Tone"},
            content_type="application/json",
        )
    )
    assert response.status_code == 201 and response.json()["draft"]["revision"]["total"] == 1
    assert len(sql) == DECISION_POST_STATEMENTS, "\n".join(sql)


def test_a_revised_draft_and_its_revision_both_show_the_chain(broker, reviewer):
    client, first = reviewer_api(reviewer), received_draft("em_1")
    asked = client.post(
        f"/api/v1/drafts/{first.pk}/decision",
        data={"action": "request_changes", "reason": "Say when it ships"},
        content_type="application/json",
    )
    assert asked.status_code == 201 and asked.json()["draft"]["revision"]["total"] == 1  # not revised yet
    second = received_draft("em_2")
    Draft.objects.filter(pk=second.pk).update(revision_of=first, revision_number=2)
    assert client.get(f"/api/v1/drafts/{first.pk}").json()["revision"] == {"number": 1, "total": 2, "revision_of": None}
    assert client.get(f"/api/v1/drafts/{second.pk}").json()["revision"] == {
        "number": 2,
        "total": 2,
        "revision_of": first.pk,
    }
