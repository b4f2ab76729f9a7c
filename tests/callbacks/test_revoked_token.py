"""A revoked intake token's agent is cut off: no new callback is queued for its drafts, and one still
pending when it was revoked fails at its next attempt, nothing sent, with a last error that says so."""

import pytest

from reviewqueue.audit.services import Actor
from reviewqueue.callbacks import delivery, services
from reviewqueue.callbacks.models import CallbackDelivery
from reviewqueue.routing.services import intake_token_revoke
from tests.callbacks.conftest import issued_token, submitted_draft, with_callback

pytestmark = pytest.mark.django_db


def revoke(token) -> None:
    assert intake_token_revoke(token=token, actor=Actor.system("test"))
    token.refresh_from_db()


def test_no_callback_is_queued_for_a_revoked_tokens_draft(lenient, receiver):
    token = issued_token()
    with_callback(token, receiver.url)
    draft = submitted_draft(token)
    revoke(token)
    assert services.callback_queue(draft_id=draft.pk, event="draft.approved") is None
    assert not CallbackDelivery.objects.exists()


def test_a_pending_delivery_fails_once_its_token_is_revoked_and_nothing_is_sent(lenient, receiver):
    token = issued_token()
    with_callback(token, receiver.url)
    draft = submitted_draft(token)
    queued = services.callback_queue(draft_id=draft.pk, event="draft.approved")
    revoke(token)
    assert delivery.delivery_run(delivery_id=queued.pk) == "failed"
    queued.refresh_from_db()
    assert queued.status == "failed"
    assert queued.last_error.startswith("not sent: the intake token was revoked at ")
    assert receiver.requests == []
