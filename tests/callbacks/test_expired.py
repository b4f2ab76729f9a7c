"""issue 19 x issue 18: a draft the SLA sweep expires gets its agent one `draft.expired` callback,
the decision's body like the other decision events (the expiry reason, origin system)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from reviewqueue.audit.services import Actor
from reviewqueue.callbacks.models import CallbackDelivery
from reviewqueue.routing.models import Mailbox
from reviewqueue.sla.policy import PolicyChanges, policy_set
from reviewqueue.sla.signals import send_draft_expired
from reviewqueue.sla.sweep import sla_sweep
from tests.callbacks.conftest import issued_token, submitted_draft, with_callback

pytestmark = pytest.mark.django_db


@pytest.fixture
def expiring_mailbox(db):
    Mailbox.objects.create(mailbox_id="mbx_1", address="support@acme.test", oversight_mode="gated_send")
    policy_set(mailbox_id="mbx_1", changes=PolicyChanges(expiry=timedelta(hours=24)), actor=Actor.system("test"))


def test_an_expired_draft_gets_its_agent_one_draft_expired_callback(
    lenient, broker, expiring_mailbox, django_capture_on_commit_callbacks
):
    token = issued_token()
    with_callback(token, "http://127.0.0.1:9/callbacks")
    draft = submitted_draft(token, received_at=timezone.now() - timedelta(hours=25))

    with django_capture_on_commit_callbacks(execute=True):
        assert sla_sweep().expired == 1
    decision = draft.__class__.objects.get(pk=draft.pk).decision
    with django_capture_on_commit_callbacks(execute=True):
        send_draft_expired(decision_id=decision.pk, draft_id=draft.pk)  # the signal is at least once

    delivery = CallbackDelivery.objects.get(event="draft.expired")
    assert delivery.draft_id == draft.pk and delivery.token_id == token.pk
    body = json.loads(delivery.body)
    assert body["type"] == "draft.expired"
    assert body["data"]["draft_id"] == draft.pk
    assert body["data"]["decision"]["id"] == decision.pk
    assert body["data"]["decision"]["action"] == "reject"
    assert body["data"]["decision"]["reason"] == "expired: no decision within 24h"
    assert body["data"]["decision"]["origin"] == "system"
    assert body["data"]["decision"]["reviewer"]["username"] == "reviewqueue-system"
