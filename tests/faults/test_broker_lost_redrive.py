"""The broker lost its messages (Redis restarted without persistence, or flushed) while new work fills its
queue again: what was queued before the loss is re-driven at the next sweep, not after the 10 minutes the
sweeper gives work that may still be waiting in a busy queue; what was queued after it still waits them out.

Found by the soak (bench/soak.py, Redis restarted and flushed under load): 6,101 outbox items sat pending
with the machine idle, each waiting out SWEEP_GRACE_BACKLOGGED. Real Redis (the test run's own database,
flushed as a restart without persistence would leave it) and real PostgreSQL, nothing mocked.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from reviewqueue.review.models import Draft, OutboxItem
from reviewqueue.review.outbox import outbox_sweep
from reviewqueue.review.tasks import draft_fetch_task
from tests.review.conftest import intercom, linked_draft, multimail, received_draft, use_fakes
from tests.review.test_outbox import decide

__all__ = ["intercom", "linked_draft", "multimail", "use_fakes"]  # fixtures, imported to be found here
pytestmark = pytest.mark.django_db


def test_an_item_whose_message_the_broker_lost_is_redriven_at_once_in_a_busy_queue_and_once(
    broker, linked_draft, reviewer
):
    decide(linked_draft, reviewer)
    item = OutboxItem.objects.get(kind="decide")
    OutboxItem.objects.filter(pk=item.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=1))
    broker.flush()  # the loss: the item's message is gone
    draft_fetch_task.delay(linked_draft.pk, False)  # new work fills the queue again: backlogged

    assert outbox_sweep() == 1  # due a minute, well inside SWEEP_GRACE_BACKLOGGED: re-driven anyway
    assert broker.names() == ["review.draft_fetch", "review.outbox_run"]
    # Re-driven just now, after the loss: its message is in the queue, so it waits the backlogged grace.
    assert outbox_sweep(grace=timedelta(0)) == 0
    assert broker.names() == ["review.draft_fetch", "review.outbox_run"]


def test_an_item_queued_after_the_loss_waits_out_the_backlogged_grace(broker, linked_draft, reviewer):
    broker.kept_messages_since(timezone.now() - timedelta(minutes=5))  # the loss, five minutes ago
    decide(linked_draft, reviewer)
    item = OutboxItem.objects.get(kind="decide")
    OutboxItem.objects.filter(pk=item.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=1))
    draft_fetch_task.delay(linked_draft.pk, False)  # its message may be waiting behind this one

    assert outbox_sweep() == 0  # due a minute, after the loss: left for SWEEP_GRACE_BACKLOGGED
    assert "review.outbox_run" not in broker.names()


def test_a_draft_whose_fetch_the_broker_lost_is_fetched_again_at_once_in_a_busy_queue_and_once(broker, linked_draft):
    lost = received_draft("em_2", created_at=timezone.now() - timedelta(minutes=1), fetched_at=None)
    broker.flush()  # the loss: its fetch message is gone
    draft_fetch_task.delay(linked_draft.pk, False)  # new work fills the queue again: backlogged

    outbox_sweep()
    outbox_sweep()  # once per loss: the next sweep does not queue it again
    assert broker.queued() == [
        ("review.draft_fetch", [linked_draft.pk, False]),
        ("review.draft_fetch", [lost.pk, False]),
    ]


def test_a_draft_received_after_the_loss_is_not_fetched_again_in_a_busy_queue(broker, linked_draft):
    broker.kept_messages_since(timezone.now() - timedelta(minutes=5))  # the loss, five minutes ago
    received_draft("em_3", created_at=timezone.now() - timedelta(minutes=1), fetched_at=None)
    draft_fetch_task.delay(linked_draft.pk, False)  # its fetch message may be waiting behind this one

    outbox_sweep()
    assert broker.queued() == [("review.draft_fetch", [linked_draft.pk, False])]


def test_with_the_broker_down_no_loss_is_known_and_nothing_is_handed_out(broker_down):
    from reviewqueue.queueing import broker_messages_kept_since, lost_with_the_broker

    assert broker_messages_kept_since() is None
    unfetched = Draft.objects.filter(fetched_at__isnull=True)
    assert lost_with_the_broker("review.draft_fetch", unfetched, queued_at="created_at", limit=10) == []
