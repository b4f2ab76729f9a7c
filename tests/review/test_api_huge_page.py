"""A page number past what PostgreSQL can offset (OFFSET is a bigint) is the last page, not a 500.

Found by the API fuzz (bench/api_fuzz.py, seed 1): GET /api/v1/drafts?status=decided_elsewhere&page=
21658579885138936594432 answered 500 (the pending queue already clamped its page; the other
statuses did not).
"""

import pytest
from django.test import Client

from reviewqueue.accounts.services import api_token_issue
from reviewqueue.audit.services import Actor
from reviewqueue.review.models import Draft
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db

HUGE = "21658579885138936594432"


@pytest.mark.parametrize("status", [s for s in Draft.Status.values if s != Draft.Status.PENDING] + ["pending"])
@pytest.mark.parametrize("page", [HUGE, str(2**63), "3"])
def test_a_page_past_the_last_is_the_last_page(reviewer, status, page):
    received_draft("em_1", status=status)
    _, token = api_token_issue(user=reviewer, name="cli", actor=Actor.system("test"))
    response = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get(f"/api/v1/drafts?status={status}&page={page}")
    assert response.status_code == 200
    body = response.json()
    assert body["page"] == 1 and body["total"] == 1 and [d["status"] for d in body["drafts"]] == [status]
    assert body["has_next"] is False
