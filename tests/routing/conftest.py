"""The routing tests' helpers, and the shared fake MultiMail (tests/fakes.py) behind every client."""

import pytest

from reviewqueue.audit.services import Actor
from reviewqueue.routing.models import Mailbox
from reviewqueue.routing.rules import Rule
from reviewqueue.routing.services import intake_token_issue, ruleset_save
from tests.fakes import FakeMultiMail


@pytest.fixture
def multimail(monkeypatch):
    """The fake MultiMail; every get_multimail_client() in the code under test talks to it."""
    fake = FakeMultiMail()
    client = fake.client()
    monkeypatch.setattr("reviewqueue.integrations.multimail.client.get_multimail_client", lambda: client)
    return fake


def mailbox(mailbox_id="mb_support", address="support@acme.multimail.dev", mode="gated_send"):
    return Mailbox.objects.create(mailbox_id=mailbox_id, address=address, oversight_mode=mode)


def rules_saved(default="mb_support", rules=()):
    return ruleset_save(rules=list(rules), default_mailbox_id=default, actor=Actor.system("test"))


def intake_token(name="fin", kinds=("refund",)):
    return intake_token_issue(name=name, kinds=kinds, actor=Actor.system("test"))


__all__ = ["Rule", "intake_token", "mailbox", "rules_saved"]
