"""Redis (the broker) down while a callback or a Slack message is queued: the work is committed, the
caller is answered, and the sweeper queues it once the broker is back; carried out exactly once.

The fault is real for this process: the Celery app's broker is pointed at a closed port (what a
stopped redis-server answers), nothing of ours is mocked. Before reviewqueue/queueing.py, the
callbacks' and the Slack app's enqueue raised kombu's OperationalError after the commit, into
whatever had just committed (a decision carried out, a draft fetched, an admin's redelivery).
"""

from datetime import timedelta

import pytest

from reviewqueue.audit.services import Actor
from reviewqueue.callbacks import delivery as callback_delivery
from reviewqueue.callbacks.models import CallbackDelivery
from reviewqueue.callbacks.services import callback_queue, delivery_redeliver
from reviewqueue.review.decisions import draft_decide
from reviewqueue.slack.delivery import delivery_run as slack_delivery_run
from reviewqueue.slack.models import SlackDelivery
from reviewqueue.slack.services import slack_sweep
from tests.callbacks import conftest as callback_fixtures
from tests.callbacks.conftest import issued_token, submitted_draft, with_callback
from tests.http_receiver import Receiver
from tests.slack import conftest as slack_fixtures

pytestmark = pytest.mark.django_db

# The callbacks' and the Slack app's own fixtures (their conftest.py files), for the tests below.
lenient = callback_fixtures.lenient
slack, channel, vendors = slack_fixtures.slack, slack_fixtures.channel, slack_fixtures.vendors
review_request = slack_fixtures.review_request


def test_a_callback_queued_while_the_broker_is_down_is_delivered_once_after_the_sweep(
    lenient, broker, broker_down, django_capture_on_commit_callbacks
):
    with Receiver() as receiver:
        token = issued_token()
        with_callback(token, f"{receiver.url}/hook")
        draft = submitted_draft(token)
        with django_capture_on_commit_callbacks(execute=True):  # raised here, after the commit
            queued = callback_queue(draft_id=draft.pk, event="draft.approved")
        assert CallbackDelivery.objects.get(pk=queued.pk).status == "pending"

        broker_down()  # Redis is back: the sweep (beat, every 15 s) queues what was left
        assert callback_delivery.deliveries_sweep(grace=timedelta(0)) == 1
        assert broker.queued() == [("callbacks.deliver", [queued.pk])]
        assert callback_delivery.delivery_run(delivery_id=queued.pk) == "delivered"
        callback_delivery.delivery_run(delivery_id=queued.pk)  # the sweep's copy and the first message: once
        assert callback_delivery.deliveries_sweep(grace=timedelta(0)) == 0
    assert len(receiver.requests) == 1


def test_an_admins_redelivery_while_the_broker_is_down_is_kept_not_failed(
    lenient, broker, broker_down, django_capture_on_commit_callbacks
):
    token = issued_token()
    with_callback(token, "http://127.0.0.1:9/hook")
    delivered = callback_queue(draft_id=submitted_draft(token).pk, event="draft.approved")
    CallbackDelivery.objects.filter(pk=delivered.pk).update(status=CallbackDelivery.Status.DELIVERED)
    delivered.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery_redeliver(delivery=delivered, actor=Actor.system("test")) is True
    assert CallbackDelivery.objects.get(pk=delivered.pk).status == "pending"  # the sweep's to send


@pytest.fixture
def posted(review_request) -> SlackDelivery:
    """em_1 held and fetched (broker up): its review request queued by draft_ready, and posted."""
    post = review_request
    assert slack_delivery_run(delivery_id=post.pk) == "done"
    return post


def test_a_decision_while_the_broker_is_down_gets_its_slack_edit_once_after_the_sweep(
    slack, posted, reviewer, broker, broker_down, django_capture_on_commit_callbacks
):
    held = posted.draft

    with django_capture_on_commit_callbacks(execute=True):  # the decision, then its signals, after commit
        draft_decide(draft=held, reviewer=reviewer, origin="web", action="reject", reason="Tone")
    update = SlackDelivery.objects.get(draft=held, kind="update")
    assert (update.status, update.attempts) == ("pending", 0)

    broker_down()
    broker.flush()
    assert slack_sweep(grace=timedelta(0))["redriven"] == 1
    assert broker.queued() == [("slack.deliver", [update.pk])]
    assert slack_delivery_run(delivery_id=update.pk) == "done"
    slack_delivery_run(delivery_id=update.pk)
    calls = [call["method"] for call in slack.app.calls]
    assert (calls.count("chat.postMessage"), calls.count("chat.update")) == (1, 1)
