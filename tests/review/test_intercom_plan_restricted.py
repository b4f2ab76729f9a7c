"""Intercom answering 403 api_plan_restricted (documented for get conversation and reply).

Asking again changes nothing until the workspace's plan changes, so the note is failed at once
(one call, no retry) with an error that says so, where admins see failed outbox items (the health
page); a draft's fetch says the same beside the draft. The Intercom sandbox plays it with its
plan_restricted knob, served in-process through the contract checker.
"""

import pytest

from reviewqueue.audit.services import Actor
from reviewqueue.integrations.intercom.client import IntercomClient
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.ingest import draft_fetch, draft_receive
from reviewqueue.review.models import OutboxItem
from reviewqueue.review.outbox import outbox_run
from reviewqueue.sandbox.intercom import defaults
from reviewqueue.sandbox.intercom.app import make_app
from tests.integrations.intercom.contract import ValidatingTransport
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db

CUSTOMER = "dana@example.com"


@pytest.fixture
def sandbox():
    app = make_app()
    yield app
    app.close()


@pytest.fixture
def transport(sandbox):
    return ValidatingTransport(sandbox)


@pytest.fixture
def intercom(transport):
    with IntercomClient(
        base_url="http://intercom-plan.test",
        access_token=defaults.ACCESS_TOKEN,
        admin_id=defaults.ADMIN_ID,
        transport=transport,
        sleep=lambda s: None,
    ) as client:
        yield client


@pytest.fixture
def conversation_id(sandbox):
    contact = sandbox.state.contact_create(email=CUSTOMER)
    conversation, _ = sandbox.state.conversation_create(contact_id=contact["id"], body="<p>Refund?</p>")
    return conversation["id"]


def test_a_plan_restricted_note_fails_at_once_saying_why(
    broker, sandbox, transport, intercom, conversation_id, multimail, reviewer
):
    multimail.add_email("em_1", to=[CUSTOMER], tags={"intercom_conversation_id": conversation_id})
    draft = received_draft(to=[CUSTOMER], conversation_id=conversation_id, conversation_link="tag")
    decision = draft_decide(draft=draft, reviewer=reviewer, action="reject", reason="Wrong tone", origin="web")
    sandbox.knobs.update({"plan_restricted": True})

    decide = OutboxItem.objects.get(decision=decision, kind=OutboxItem.Kind.DECIDE)
    assert outbox_run(item_id=decide.pk, multimail=multimail.client(), intercom=intercom) == "done"

    note = OutboxItem.objects.get(decision=decision, kind=OutboxItem.Kind.INTERCOM_NOTE)
    assert (note.status, note.attempts) == (OutboxItem.Status.FAILED, 1)
    assert "api_plan_restricted" in note.last_error
    assert "plan does not include this API" in note.last_error
    replies = [status for method, path, status in transport.checked if path.endswith("/reply")]
    assert replies == [403]  # asked once, never again
    assert outbox_run(item_id=note.pk, intercom=intercom) == "failed"  # stays failed until an admin retries it


def test_a_plan_restricted_conversation_leaves_the_draft_reviewable_saying_why(
    sandbox, intercom, conversation_id, multimail
):
    multimail.add_email("em_1", to=[CUSTOMER], tags={"intercom_conversation_id": conversation_id})
    draft, _ = draft_receive(
        email_id="em_1", mailbox_id="mbx_1", source="webhook", actor=Actor.system("t"), fetch=False
    )
    sandbox.knobs.update({"plan_restricted": True})

    draft = draft_fetch(draft_id=draft.pk, multimail=multimail.client(), intercom=intercom)

    assert (draft.status, draft.conversation_id, draft.snapshot_id) == ("pending", conversation_id, None)
    assert "api_plan_restricted" in draft.fetch_error and "plan does not include this API" in draft.fetch_error
