"""Review tests: drafts made through the services, MultiMail and Intercom faked at the HTTP boundary."""

import pytest
from django.utils import timezone

from reviewqueue.audit.services import Actor
from reviewqueue.integrations.multimail.events import handler_for
from reviewqueue.review.ingest import draft_receive
from reviewqueue.review.models import Draft
from tests.fakes import FakeIntercom, FakeMultiMail


def received_draft(email_id: str = "em_1", mailbox_id: str = "mbx_1", **fields) -> Draft:
    """A pending draft as if fetched: receive it, then fill the fields a fetch would."""
    draft, _ = draft_receive(
        email_id=email_id, mailbox_id=mailbox_id, source="poll", actor=Actor.system("t"), fetch=False
    )
    defaults = {
        "from_address": "support@acme.test",
        "to": ["customer@example.com"],
        "subject": "About your order",
        "markdown": "Hello",
        "content_hash": "0" * 64,
        "fetched_at": timezone.now(),
    }
    Draft.objects.filter(pk=draft.pk).update(**{**defaults, **fields})
    draft.refresh_from_db()
    return draft


def multimail_event(event_type: str, email_id: str, payload: dict) -> bool:
    """What MultiMail's webhook task runs for the event: the handler the review app registered, on the email."""
    handler = handler_for(event_type)
    return handler is not None and handler({**payload, "event_type": event_type, "message_id": email_id})


@pytest.fixture
def draft(db):
    return received_draft()


@pytest.fixture
def multimail():
    return FakeMultiMail()


@pytest.fixture
def intercom():
    return FakeIntercom()


@pytest.fixture
def use_fakes(multimail, intercom, monkeypatch):
    """Make get_multimail_client / get_intercom_client (used by tasks and services) answer from the fakes."""
    mm_client, ic_client = multimail.client(), intercom.client()
    monkeypatch.setattr("reviewqueue.integrations.multimail.client.get_multimail_client", lambda: mm_client)
    monkeypatch.setattr("reviewqueue.integrations.intercom.client.get_intercom_client", lambda **_: ic_client)
    return mm_client, ic_client


@pytest.fixture
def linked_draft(db, multimail, intercom, use_fakes):
    """A received draft whose email is tagged with its Intercom conversation, both known to the fakes."""
    contact = intercom.add_contact("customer@example.com")
    intercom.add_conversation("c_7", contact=contact)
    multimail.add_email("em_1", tags={"intercom_conversation_id": "c_7"})
    return received_draft(conversation_id="c_7", conversation_link="tag", subject="Your refund")
