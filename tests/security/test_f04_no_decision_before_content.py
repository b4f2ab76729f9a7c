"""Issue 16, finding 4: a draft whose content is not fetched yet cannot be decided.

Only the template hid the buttons; the service and the API let an approval through and recorded an
empty content hash for content nobody saw. Now the service refuses it, the API answers 409
content_not_in and the page says so, and nothing is decided or told to MultiMail.
"""

import pytest
from django.urls import reverse

from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.errors import ReviewError
from reviewqueue.review.ingest import draft_receive
from reviewqueue.review.models import Decision, Draft, OutboxItem
from tests.conftest import logged_in_client
from tests.review.test_api_drafts import api, post_decision

pytestmark = pytest.mark.django_db


@pytest.fixture
def unfetched() -> Draft:
    """Just received from MultiMail's webhook: its content is still being fetched."""
    draft, _ = draft_receive(
        email_id="em_1", mailbox_id="mbx_1", source="webhook", actor=Actor.system("t"), fetch=False
    )
    return draft


def assert_nothing_decided(draft: Draft) -> None:
    assert Draft.objects.get(pk=draft.pk).status == Draft.Status.PENDING
    assert not Decision.objects.exists()
    assert not OutboxItem.objects.exists()
    assert not AuditEvent.objects.filter(action="draft.decided").exists()


@pytest.mark.parametrize(("action", "reason"), [("approve", ""), ("reject", "Not what we would say")])
def test_the_api_refuses_a_decision_before_the_content_is_in(unfetched, reviewer, action, reason):
    response = post_decision(api(reviewer), unfetched.pk, {"action": action, "reason": reason})
    assert response.status_code == 409
    body = response.json()
    assert body["conflict"] == "content_not_in"
    assert "not in yet" in body["error"]
    assert_nothing_decided(unfetched)


def test_the_service_refuses_it_for_every_caller(unfetched, reviewer):
    with pytest.raises(ReviewError, match="not in yet"):
        draft_decide(draft=unfetched, reviewer=reviewer, action="approve", reason="", origin="web")
    assert_nothing_decided(unfetched)


def test_a_forged_form_post_from_the_page_is_refused_and_the_page_says_why(unfetched, reviewer):
    response = logged_in_client(reviewer).post(
        reverse("review:draft_decision", args=[unfetched.pk]), {"action": "approve", "shown_snapshot_id": ""}
    )
    assert response.status_code == 409
    assert "not in yet" in response.content.decode()
    assert_nothing_decided(unfetched)
