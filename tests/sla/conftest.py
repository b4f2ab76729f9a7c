"""SLA tests: the review tests' drafts and vendor fakes, mailboxes with a policy."""

import pytest

from reviewqueue.routing.models import Mailbox
from tests.fakes import FakeMultiMail


@pytest.fixture
def multimail():
    return FakeMultiMail()


@pytest.fixture
def mailbox(db):
    return Mailbox.objects.create(mailbox_id="mbx_1", address="support@acme.test", oversight_mode="gated_send")
