"""Issue 16, finding 5: a signed oversight.approved/rejected is only the payload's word.

Before a draft leaves review as decided elsewhere, MultiMail's own copy of the email is read back;
while MultiMail still holds it for approval the draft stays in the queue. And the poll, which skips
drafts it knows, brings back a draft marked decided elsewhere that MultiMail still lists as pending.
MultiMail and Intercom are faked at the HTTP boundary (tests/fakes.py).
"""

import pytest

from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor
from reviewqueue.integrations.multimail.client import MultiMailError
from reviewqueue.review.ingest import draft_fetch, draft_receive
from reviewqueue.review.models import Draft
from reviewqueue.review.poll import pending_sync
from tests.fakes import FakeIntercom, FakeMultiMail
from tests.review.conftest import multimail_event
from tests.review.test_api_drafts import api

FORGED = {"status": "approved", "approved_by": "key_dashboard"}


@pytest.fixture
def multimail(monkeypatch):
    """MultiMail holding em_1 for approval; the code's MultiMail client talks to it."""
    fake = FakeMultiMail()
    fake.add_email("em_1")
    client = fake.client()
    monkeypatch.setattr("reviewqueue.integrations.multimail.client.get_multimail_client", lambda: client)
    return fake


@pytest.fixture
def held(db, multimail) -> Draft:
    draft, _ = draft_receive(email_id="em_1", mailbox_id="mbx_1", source="poll", actor=Actor.system("t"), fetch=False)
    return draft_fetch(draft_id=draft.pk, intercom=FakeIntercom().client())


def test_an_approved_event_for_an_email_multimail_still_holds_leaves_the_draft_in_review(held, multimail):
    reads = multimail.calls["get_email"]
    multimail_event("oversight.approved", "em_1", FORGED)
    assert multimail.calls["get_email"] == reads + 1  # MultiMail was asked
    assert Draft.objects.get(pk=held.pk).status == Draft.Status.PENDING
    assert not AuditEvent.objects.filter(action="draft.decided_elsewhere").exists()


def test_a_rejected_event_multimail_confirms_takes_the_draft_out_on_multimails_word(held, multimail):
    multimail.emails["em_1"]["status"] = "rejected"
    multimail_event("oversight.rejected", "em_1", FORGED)
    draft = Draft.objects.get(pk=held.pk)
    assert draft.status == Draft.Status.DECIDED_ELSEWHERE
    assert draft.email_status == "rejected"  # what MultiMail said, not what the payload claimed
    assert "key_dashboard" not in draft.status_detail
    assert AuditEvent.objects.get(action="draft.decided_elsewhere").payload["multimail_status"] == "rejected"


def test_when_multimail_cannot_be_asked_the_event_is_retried_and_the_draft_stays(held, multimail):
    multimail.down = True
    with pytest.raises(MultiMailError):  # the webhook task retries it
        multimail_event("oversight.approved", "em_1", FORGED)
    assert Draft.objects.get(pk=held.pk).status == Draft.Status.PENDING


@pytest.mark.django_db(transaction=True)  # the poll fetches on threads, each with its own connection
def test_the_poll_returns_a_draft_marked_decided_elsewhere_that_multimail_still_lists(multimail, reviewer):
    intercom = FakeIntercom().client()
    pending_sync(multimail=multimail.client(), intercom=intercom)
    # Taken out of review on an event's word alone (as before this fix), while MultiMail still holds it.
    Draft.objects.filter(email_id="em_1").update(
        status=Draft.Status.DECIDED_ELSEWHERE, status_detail="MultiMail status: approved"
    )
    result = pending_sync(multimail=multimail.client(), intercom=intercom)
    draft = Draft.objects.get(email_id="em_1")
    assert (draft.status, draft.status_detail) == (Draft.Status.PENDING, "")
    assert result.returned_to_review == 1
    event = AuditEvent.objects.get(action="draft.returned_to_review")
    assert event.payload["multimail_status"] == "pending_send_approval"
    listed = api(reviewer).get("/api/v1/drafts?status=pending").json()["drafts"]
    assert [d["email_id"] for d in listed] == ["em_1"]


@pytest.mark.django_db(transaction=True)
def test_the_poll_leaves_a_draft_multimail_really_decided(multimail):
    intercom = FakeIntercom().client()
    pending_sync(multimail=multimail.client(), intercom=intercom)
    multimail.emails["em_1"]["status"] = "approved_and_sent"
    pending_sync(multimail=multimail.client(), intercom=intercom)
    pending_sync(multimail=multimail.client(), intercom=intercom)
    assert Draft.objects.get(email_id="em_1").status == Draft.Status.DECIDED_ELSEWHERE
    assert not AuditEvent.objects.filter(action="draft.returned_to_review").exists()
