"""A mailbox filter PostgreSQL cannot compare (a NUL character) is a 400 naming it, not a 500.

Found by the API fuzz (bench/api_fuzz.py, seed 7): GET /api/v1/drafts?mailbox=…%00… answered 500
(psycopg refuses NUL in a query parameter). Surrogates cannot arrive in a URL (Django decodes the
query string as UTF-8, replacing what is not), but the filter refuses them too, as intake does.
"""

import pytest
from django.test import Client

from reviewqueue.accounts.services import api_token_issue
from reviewqueue.audit.services import Actor
from reviewqueue.review.selectors import QueueFilters

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("status", ["pending", "decided", "edited_version"])
def test_a_nul_in_the_mailbox_filter_is_a_400_naming_it(reviewer, status):
    _, token = api_token_issue(user=reviewer, name="cli", actor=Actor.system("test"))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get(f"/api/v1/drafts?status={status}&mailbox=mbx%00one")
    assert response.status_code == 400
    assert "mailbox" in response.json()["error"] and "NUL" in response.json()["error"]
    assert client.get(f"/api/v1/drafts?status={status}&mailbox=mbx_one").status_code == 200


def test_the_filter_refuses_an_unpaired_surrogate():
    with pytest.raises(ValueError, match="mailbox"):
        QueueFilters(mailbox_id="mbx \ud800")
