"""Review tests: drafts made through the services, MultiMail and Intercom faked at the HTTP boundary."""

import pytest

from reviewqueue.audit.services import Actor
from reviewqueue.review.models import Draft
from reviewqueue.review.services import draft_receive


def received_draft(email_id: str = "em_1", mailbox_id: str = "mbx_1", **fields) -> Draft:
    """A pending draft as if fetched: receive it, then fill the fields a fetch would."""
    draft, _ = draft_receive(email_id=email_id, mailbox_id=mailbox_id, source="poll", actor=Actor.system("t"), fetch=False)
    defaults = {
        "from_address": "support@acme.test",
        "to": ["customer@example.com"],
        "subject": "About your order",
        "markdown": "Hello",
        "content_hash": "0" * 64,
    }
    Draft.objects.filter(pk=draft.pk).update(**{**defaults, **fields})
    draft.refresh_from_db()
    return draft


@pytest.fixture
def draft(db):
    return received_draft()
