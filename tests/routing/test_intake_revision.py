"""Intake's revision_of: an agent answers a request for changes with a revision, linked into its chain."""

import json

import pytest
from django.utils import timezone

from reviewqueue.audit.models import AuditEvent
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.models import Draft
from reviewqueue.review.revisions import revision_chain
from reviewqueue.review.selectors import QueueFilters, pending_drafts
from tests.routing.conftest import intake_token, mailbox, rules_saved

pytestmark = pytest.mark.django_db

URL = "/api/v1/drafts"
FIRST = {
    "intercom_conversation_id": "215467",
    "to": ["customer@bigcorp.com"],
    "subject": "Your refund",
    "markdown": "Hello, your refund of 50 EUR is on its way.",
}


def post(client, body, token):
    return client.post(
        URL, json.dumps(body), content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )


@pytest.fixture
def routed(db, multimail):
    mailbox("mb_support", "support@acme.multimail.dev")
    return rules_saved(default="mb_support")


def submitted(client, token, body=FIRST) -> Draft:
    response = post(client, body, token)
    assert response.status_code == 202, response.content
    draft = Draft.objects.get(pk=response.json()["id"])
    # As the fetch leaves it: the content is in.
    Draft.objects.filter(pk=draft.pk).update(
        subject=body["subject"], markdown=body["markdown"], fetched_at=timezone.now()
    )
    draft.refresh_from_db()
    return draft


def changes_requested(draft, reviewer, feedback="The refund is 45 EUR, not 50."):
    return draft_decide(draft=draft, reviewer=reviewer, action="request_changes", reason=feedback, origin="api")


def revision(previous_id: int, markdown="Hello, your refund of 45 EUR is on its way.") -> dict:
    return {**FIRST, "markdown": markdown, "revision_of": previous_id}


def test_a_revision_joins_its_chain_and_tells_one_story_in_the_audit_trail(client, routed, reviewer):
    _, raw = intake_token(kinds=())
    first = submitted(client, raw)
    changes_requested(first, reviewer)
    second = submitted(client, raw, revision(first.pk))
    assert (second.revision_of_id, second.revision_number) == (first.pk, 2)
    assert [d.pk for d in revision_chain(second)] == [first.pk, second.pk]
    [event] = AuditEvent.objects.filter(action="draft.revision_received")
    assert event.target_id == str(first.pk)  # the chain's story is told on its first draft
    assert event.payload["draft_id"] == second.pk and event.payload["feedback"] == "The refund is 45 EUR, not 50."


def test_a_revision_enters_the_queue_ahead_of_fresh_drafts_of_the_same_wait(client, routed, reviewer):
    _, raw = intake_token(kinds=())
    first = submitted(client, raw)
    changes_requested(first, reviewer)
    fresh = submitted(client, raw, {**FIRST, "markdown": "Another answer, fresh."})
    second = submitted(client, raw, revision(first.pk))
    Draft.objects.filter(pk=fresh.pk).update(waiting_since=first.waiting_since)  # the same customer wait
    order = list(pending_drafts(user=reviewer, filters=QueueFilters()).values_list("pk", flat=True))
    assert order.index(second.pk) < order.index(fresh.pk)


def test_a_revision_from_another_token_is_refused_naming_the_field(client, routed, reviewer):
    _, raw = intake_token(name="fin", kinds=())
    _, other = intake_token(name="other-agent", kinds=())
    first = submitted(client, raw)
    changes_requested(first, reviewer)
    response = post(client, revision(first.pk), other)
    assert response.status_code == 400
    assert "revision_of" in response.json()["fields"]
    assert "not submitted with this intake token" in response.json()["fields"]["revision_of"]
    assert Draft.objects.count() == 1


def test_a_revision_of_a_draft_whose_changes_were_not_requested_is_refused(client, routed, reviewer):
    _, raw = intake_token(kinds=())
    first = submitted(client, raw)
    response = post(client, revision(first.pk), raw)
    assert response.status_code == 400
    assert "no request for changes" in response.json()["fields"]["revision_of"]


@pytest.mark.parametrize("value", ["12", 0, -3, True, 1.5])
def test_revision_of_must_be_a_positive_integer(client, routed, value):
    _, raw = intake_token(kinds=())
    response = post(client, {**FIRST, "revision_of": value}, raw)
    assert response.status_code == 400
    assert "revision_of" in response.json()["fields"]


def test_a_draft_is_revised_once(client, routed, reviewer):
    _, raw = intake_token(kinds=())
    first = submitted(client, raw)
    changes_requested(first, reviewer)
    submitted(client, raw, revision(first.pk))
    response = post(client, revision(first.pk, markdown="A third try at the same version."), raw)
    assert response.status_code == 400
    assert "revised already" in response.json()["fields"]["revision_of"]


def test_a_revisions_page_shows_its_place_in_the_chain_the_feedback_and_a_redline(client, routed, reviewer):
    from django.urls import reverse

    from tests.conftest import logged_in_client

    _, raw = intake_token(kinds=())
    first = submitted(client, raw)
    changes_requested(first, reviewer)
    second = submitted(client, raw, revision(first.pk))
    page = logged_in_client(reviewer).get(reverse("review:draft", args=[second.pk])).content.decode()
    assert "Revision 2 of 2" in page
    assert "The refund is 45 EUR, not 50." in page
    assert "[-50-]" in page and "{+45+}" in page
    assert 'data-flag="revision"' in page
    first_page = logged_in_client(reviewer).get(reverse("review:draft", args=[first.pk])).content.decode()
    assert "Revision 1 of 2" in first_page and 'id="revision-next"' in first_page
