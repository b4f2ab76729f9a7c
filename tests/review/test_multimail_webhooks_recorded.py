"""MultiMail's webhooks as the sandbox really sends them (tests/fixtures/multimail/), each through the
receiver (POST /webhooks/multimail, really signed), the inbox (InboundWebhook, its task on the broker)
and the handler the worker runs."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reviewqueue.audit.models import AuditEvent
from reviewqueue.integrations.inbound.models import InboundWebhook
from reviewqueue.integrations.multimail.signature import HEADER, sign
from reviewqueue.integrations.multimail.tasks import multimail_webhook_handle
from reviewqueue.review.models import Draft
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "multimail"
SECRET = "whsec_recorded_payload_tests"


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.MULTIMAIL_WEBHOOK_SECRET = SECRET  # the account-wide subscription's secret


def recorded(event_type: str) -> dict:
    payload = json.loads((FIXTURES / f"{event_type.replace('.', '__')}.json").read_text())
    return {**payload, "timestamp": datetime.now(UTC).isoformat()}  # the receiver refuses stale events


@pytest.fixture
def deliver(client, broker, django_capture_on_commit_callbacks):
    """POST the payload signed as the sandbox signs it, then run what the worker runs for the queued task."""

    def deliver(payload: dict) -> InboundWebhook:
        raw = json.dumps(payload).encode()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/webhooks/multimail", data=raw, content_type="application/json", headers={HEADER: sign(raw, SECRET)}
            )
        assert response.status_code == 202, response.content
        record = InboundWebhook.objects.get(source="multimail", delivery_id=payload["id"])
        assert broker.queued() == [("multimail_webhook_handle", [record.pk])]
        broker.flush()
        multimail_webhook_handle(record.pk)
        record.refresh_from_db()
        return record

    return deliver


def draft_of(payload: dict, **fields) -> Draft:
    return received_draft(
        email_id=payload["message_id"], mailbox_id=payload["mailbox_id"], thread_id=payload["thread_id"], **fields
    )


def test_oversight_pending_receives_the_draft(deliver):
    payload = recorded("oversight.pending")
    record = deliver(payload)
    assert record.status == InboundWebhook.Status.PROCESSED
    draft = Draft.objects.get(email_id=payload["message_id"])
    assert (draft.mailbox_id, draft.source, draft.status) == (payload["mailbox_id"], "webhook", Draft.Status.PENDING)
    assert AuditEvent.objects.filter(action="draft.received", target_id=str(draft.pk)).count() == 1


@pytest.mark.parametrize(
    ("event_type", "status_in_multimail"),
    [("oversight.approved", "approved_and_sent"), ("oversight.rejected", "rejected")],
)
def test_a_decision_made_in_multimail_takes_the_draft_out_of_review(
    deliver, multimail, use_fakes, event_type, status_in_multimail
):
    payload = recorded(event_type)
    draft = draft_of(payload)
    multimail.add_email(payload["message_id"], mailbox_id=payload["mailbox_id"], status=status_in_multimail)
    record = deliver(payload)
    assert record.status == InboundWebhook.Status.PROCESSED
    draft.refresh_from_db()
    assert (draft.status, draft.email_status) == (Draft.Status.DECIDED_ELSEWHERE, status_in_multimail)
    [event] = AuditEvent.objects.filter(action="draft.decided_elsewhere")
    assert event.payload["multimail_status"] == status_in_multimail


def test_message_delivered_is_recorded_at_its_time(deliver):
    payload = recorded("message.delivered")
    draft = draft_of(payload)
    deliver(payload)
    draft.refresh_from_db()
    assert draft.delivered_at == datetime.fromisoformat(payload["timestamp"])
    assert AuditEvent.objects.filter(action="email.delivered").count() == 1


def test_message_bounced_is_recorded_with_its_type(deliver):
    payload = recorded("message.bounced")
    draft = draft_of(payload)
    deliver(payload)
    draft.refresh_from_db()
    assert draft.bounced_at is not None and draft.bounce_type == payload["bounce_type"] == "HardBounce"
    assert AuditEvent.objects.filter(action="email.bounced").count() == 1


def test_a_customer_reply_on_the_drafts_thread_is_recorded(deliver):
    payload = recorded("message.received")
    draft = draft_of({**payload, "message_id": "em_the_draft"})  # the reply is a new email on the draft's thread
    deliver(payload)
    draft.refresh_from_db()
    assert draft.reply_received_at is not None
    assert AuditEvent.objects.filter(action="email.reply_received").count() == 1


# --- A decision spelt otherwise: the type under `type` (event_type_of accepts `event_type`, `event` and
# `type`) and no `status`. What is recorded is what MultiMail's own copy of the email says.


def spelt_with_type_and_no_status(event_type: str) -> dict:
    payload = recorded(event_type)
    del payload["event_type"], payload["status"]
    return {**payload, "type": event_type}


def test_a_rejection_named_under_type_with_no_status_is_recorded_and_audited_as_a_rejection(
    deliver, multimail, use_fakes
):
    payload = spelt_with_type_and_no_status("oversight.rejected")
    draft = draft_of(payload)
    multimail.add_email(payload["message_id"], mailbox_id=payload["mailbox_id"], status="rejected")
    assert deliver(payload).status == InboundWebhook.Status.PROCESSED
    draft.refresh_from_db()
    assert (draft.status, draft.email_status) == (Draft.Status.DECIDED_ELSEWHERE, "rejected")
    [event] = AuditEvent.objects.filter(action="draft.decided_elsewhere")
    assert event.payload["multimail_status"] == "rejected"


def test_a_status_longer_than_its_column_is_stored_cut_to_it_and_kept_whole_in_the_detail(
    deliver, multimail, use_fakes
):
    payload = spelt_with_type_and_no_status("oversight.rejected")
    draft = draft_of(payload)
    long_status = "rejected_" + "by_a_rule_whose_name_runs_on_" * 4
    multimail.add_email(payload["message_id"], mailbox_id=payload["mailbox_id"], status=long_status)
    assert deliver(payload).status == InboundWebhook.Status.PROCESSED
    draft.refresh_from_db()
    assert draft.status == Draft.Status.DECIDED_ELSEWHERE
    assert draft.email_status == long_status[:64]
    assert long_status in draft.status_detail


def test_an_event_type_no_app_registered_is_kept_as_ignored_and_nobody_is_asked_to_handle_it(client, broker):
    payload = {**recorded("message.delivered"), "event_type": "message.complained", "id": "evt_complained"}
    raw = json.dumps(payload).encode()
    response = client.post(
        "/webhooks/multimail", data=raw, content_type="application/json", headers={HEADER: sign(raw, SECRET)}
    )
    assert response.status_code == 202
    record = InboundWebhook.objects.get(source="multimail", delivery_id="evt_complained")
    assert (record.topic, record.status) == ("message.complained", InboundWebhook.Status.IGNORED)
    assert broker.queued() == []
