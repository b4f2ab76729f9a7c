"""Callback tests: intake tokens with callbacks, drafts submitted by them, a real receiver on 127.0.0.1."""

import hashlib

import pytest

from reviewqueue.audit.services import Actor
from reviewqueue.callbacks import services
from reviewqueue.routing.models import IntakeRecord
from reviewqueue.routing.services import intake_token_issue
from tests.http_receiver import Receiver
from tests.review.conftest import received_draft


@pytest.fixture
def lenient(settings):
    """The tests' receivers listen on 127.0.0.1 over http: CALLBACK_ALLOW_PRIVATE_NETWORKS=1."""
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = True


def issued_token(name: str = "refund agent"):
    token, _raw = intake_token_issue(name=name, actor=Actor.system("test"))
    return token


def submitted_draft(token, email_id: str = "em_1", **fields):
    """A draft as intake leaves it: received, and an IntakeRecord naming the token that submitted it."""
    draft = received_draft(email_id=email_id, conversation_id=fields.pop("conversation_id", "conv_1"), **fields)
    IntakeRecord.objects.create(
        idempotency_key=f"rq-intake-{email_id}",
        request_hash=hashlib.sha256(email_id.encode()).hexdigest(),
        token=token,
        conversation_id=draft.conversation_id,
        email_id=email_id,
        draft_id=draft.pk,
    )
    return draft


def with_callback(token, url: str) -> str:
    """Give the token a callback URL; returns its secret."""
    _, secret = services.endpoint_set(token=token, url=url, actor=Actor.system("test"))
    return secret


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


# The review tests' fakes of MultiMail and Intercom (at the HTTP boundary), for decisions carried out.
from tests.review.conftest import intercom, multimail, use_fakes  # noqa: E402, F401
