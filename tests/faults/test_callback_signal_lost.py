"""A worker killed between the commit that records a decide done and the decision_carried_out signal
(or the database gone at that moment: the signal's receivers are called robustly, their error only
logged) left the agent's callback never queued: nothing re-drives a done item. The soak found one in
1,000 drafts ("decision carried out, no draft.approved callback queued"). Beat's callbacks.missed
repair queues it, once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from reviewqueue.callbacks.models import CallbackDelivery
from reviewqueue.callbacks.services import callbacks_missed_queue
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.models import OutboxItem
from reviewqueue.review.outbox import outbox_run
from tests.callbacks.conftest import (
    intercom,
    issued_token,
    lenient,
    multimail,
    submitted_draft,
    use_fakes,
    with_callback,
)

__all__ = ["intercom", "lenient", "multimail", "use_fakes"]  # fixtures, imported to be found here
pytestmark = pytest.mark.django_db


def test_a_decision_carried_out_whose_signal_was_lost_gets_its_callback_queued_once(
    broker, lenient, reviewer, multimail, intercom, use_fakes, monkeypatch
):
    token = issued_token()
    with_callback(token, "http://127.0.0.1:9/callbacks")
    contact = intercom.add_contact("customer@example.com")
    intercom.add_conversation("c_7", contact=contact)
    multimail.add_email("em_1", tags={"intercom_conversation_id": "c_7"})
    draft = submitted_draft(token, conversation_id="c_7", conversation_link="tag", subject="Your refund")
    draft_decide(draft=draft, reviewer=reviewer, action="reject", reason="Wrong tone", origin="web")

    # The worker dies right after the decide's commit: decision_carried_out is never sent.
    monkeypatch.setattr("reviewqueue.review.outbox.send_decision_carried_out", lambda **kwargs: None)
    mm, ic = multimail.client(), intercom.client()
    for item in OutboxItem.objects.order_by("pk"):
        outbox_run(item_id=item.pk, multimail=mm, intercom=ic)
    assert OutboxItem.objects.get(kind="decide").status == "done"
    assert not CallbackDelivery.objects.exists()

    assert callbacks_missed_queue() == 0  # within the grace the signal normally needs: left alone
    later = timezone.now() + timedelta(minutes=2)
    assert callbacks_missed_queue(now=later) == 1
    [delivery] = CallbackDelivery.objects.all()
    assert (delivery.draft_id, delivery.event, delivery.status) == (draft.pk, "draft.rejected", "pending")
    assert callbacks_missed_queue(now=later) == 0  # once
    assert CallbackDelivery.objects.count() == 1
