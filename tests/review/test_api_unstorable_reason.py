"""A decision reason PostgreSQL cannot store (NUL, an unpaired surrogate) is a 400 naming the field, not a 500."""

import json

import pytest
from django.test import Client
from django.utils import timezone

from reviewqueue.accounts.services import api_token_issue
from reviewqueue.audit.services import Actor
from reviewqueue.review.models import Decision, Draft


@pytest.mark.parametrize("reason", ["nul \x00 inside", "lone \ud800 surrogate"])
def test_a_reason_that_cannot_be_stored_is_refused(reviewer, reason):
    draft = Draft.objects.create(email_id="em_1", mailbox_id="mb_1", source="webhook", fetched_at=timezone.now())
    _, token = api_token_issue(user=reviewer, name="t", actor=Actor.system("test"))
    body = json.dumps({"action": "reject", "reason": reason})  # ASCII-escaped: \u0000, \ud800 travel as JSON escapes

    response = Client().post(
        f"/api/v1/drafts/{draft.pk}/decision", data=body, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip

    assert response.status_code == 400
    assert "cannot be stored" in response.json()["fields"]["reason"]
    assert not Decision.objects.filter(draft=draft).exists()
