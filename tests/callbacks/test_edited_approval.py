"""An approval with edits, carried out against the MultiMail sandbox: the agent's draft.approved says
edited, names the edited email as the final one and carries the edited text's hash."""

import hashlib
import json

import pytest

from reviewqueue.audit.services import Actor
from reviewqueue.callbacks.models import CallbackDelivery
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.ingest import draft_fetch, draft_receive
from reviewqueue.review.models import DraftEdit, OutboxItem
from reviewqueue.review.outbox import outbox_run
from reviewqueue.routing.models import IntakeRecord
from reviewqueue.sandbox.multimail import defaults as mm_defaults
from tests.callbacks.conftest import issued_token, with_callback
from tests.review.live import sandboxes_started

pytestmark = pytest.mark.django_db

EDITED_BODY = "Hello,\n\nit ships tomorrow, with a 10% refund.\n\nAcme Support"


@pytest.fixture
def sandboxes(settings, broker, lenient):
    with sandboxes_started(settings) as running:
        yield running


def test_the_callback_of_an_edited_approval_names_the_edited_email_and_its_hash(sandboxes, reviewer):
    token = issued_token()
    with_callback(token, "http://127.0.0.1:9/callbacks")
    conversation_id = sandboxes.conversation("cleo@customer.example")
    email_id = sandboxes.agent_draft("cleo@customer.example", subject="Your order", conversation_id=conversation_id)
    draft, _ = draft_receive(
        email_id=email_id, mailbox_id=mm_defaults.DEMO_MAILBOX_ID, source="intake", actor=Actor.system("t"), fetch=False
    )
    IntakeRecord.objects.create(
        idempotency_key="rq-intake-edit",
        request_hash=hashlib.sha256(b"edit").hexdigest(),
        token=token,
        conversation_id=conversation_id,
        email_id=email_id,
        draft_id=draft.pk,
    )
    draft = draft_fetch(draft_id=draft.pk)
    decision = draft_decide(
        draft=draft,
        reviewer=reviewer,
        action="approve",
        reason="",
        origin="web",
        shown_snapshot_id=draft.latest_snapshot_id,
        edit={"markdown": EDITED_BODY},
    )
    assert outbox_run(item_id=OutboxItem.objects.get(decision=decision, kind="decide").pk) == "done"

    edit = DraftEdit.objects.get(decision=decision)
    [approved] = CallbackDelivery.objects.all()
    assert (approved.event, approved.draft_id) == ("draft.approved", draft.pk)
    data = json.loads(approved.body)["data"]
    assert data["email_id"] == email_id and data["final_email_id"] == edit.edited_email_id != email_id
    assert data["decision"]["edited"] is True
    assert data["decision"]["final_content_hash"] == edit.edited_content_hash != draft.content_hash
    assert data["decision"]["multimail_status"] == "approved_and_sent"
