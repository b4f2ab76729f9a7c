"""A Slack post retried after Slack took it (a timeout on the answer, a worker killed before the ts was
stored) must not post the review request twice: chat.postMessage has no idempotency key, so the retry
looks for its own message first (reviewqueue/slack/delivery.py). Slack is faked at the HTTP boundary
(httpx.MockTransport): a channel that keeps what was posted, and loses the answer when told to.
"""

import json
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from reviewqueue.integrations.slack.client import SlackClient
from reviewqueue.slack.delivery import delivery_run
from reviewqueue.slack.models import SlackDelivery
from tests.slack import conftest as slack_fixtures

pytestmark = pytest.mark.django_db

slack, channel, vendors = slack_fixtures.slack, slack_fixtures.channel, slack_fixtures.vendors
review_request = slack_fixtures.review_request


class FakeSlack:
    """One channel. `lose_answer`: the next chat.postMessage is posted, then the answer times out.
    `history_error`: conversations.history answers ok: false with this error."""

    def __init__(self):
        self.messages, self.calls, self.lose_answer, self.history_error = [], [], False, ""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        method, body = request.url.path.rsplit("/", 1)[1], json.loads(request.content)
        self.calls.append(method)
        if method == "chat.postMessage":
            ts = f"1700000000.{len(self.messages) + 1:06d}"
            self.messages.append({"ts": ts, "text": body["text"], "metadata": body.get("metadata")})
            if self.lose_answer:
                self.lose_answer = False
                raise httpx.ReadTimeout("Slack took it; the answer never came", request=request)
            return httpx.Response(200, json={"ok": True, "channel": "C0REVIEWS", "ts": ts})
        if method == "conversations.history":
            if self.history_error:
                return httpx.Response(200, json={"ok": False, "error": self.history_error})
            found = list(reversed(self.messages))  # the draft was made just now: every message is newer
            return httpx.Response(200, json={"ok": True, "messages": found, "has_more": False})
        return httpx.Response(200, json={"ok": False, "error": "unknown_method"})

    def client(self) -> SlackClient:
        return SlackClient(base_url="https://slack.example/api", token="t", transport=httpx.MockTransport(self))

    def posts(self) -> int:
        return self.calls.count("chat.postMessage")


@pytest.fixture
def post(review_request) -> SlackDelivery:
    return review_request


def _due_again(delivery: SlackDelivery) -> None:
    """The backoff has passed (or the dead worker's lease lapsed)."""
    SlackDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_a_post_whose_answer_timed_out_is_found_not_posted_again(post):
    fake = FakeSlack()
    fake.lose_answer = True
    assert delivery_run(delivery_id=post.pk, client=fake.client()) == "retry"
    _due_again(post)
    assert delivery_run(delivery_id=post.pk, client=fake.client()) == "done"
    post.refresh_from_db()
    assert fake.posts() == 1 and len(fake.messages) == 1
    assert post.ts == fake.messages[0]["ts"]


def test_a_worker_killed_after_slack_took_the_post_leaves_one_message(post):
    fake = FakeSlack()
    assert delivery_run(delivery_id=post.pk, client=fake.client()) == "done"
    # As a worker killed between Slack's answer and the commit of the ts leaves it: running, lease lapsed.
    SlackDelivery.objects.filter(pk=post.pk).update(
        status="running", ts="", done_at=None, locked_until=timezone.now() - timedelta(seconds=1)
    )
    assert delivery_run(delivery_id=post.pk, client=fake.client()) == "done"
    post.refresh_from_db()
    assert fake.posts() == 1 and post.ts == fake.messages[0]["ts"]


def test_a_retry_that_cannot_reach_the_history_waits_instead_of_posting_again(post):
    fake = FakeSlack()
    fake.lose_answer = True
    delivery_run(delivery_id=post.pk, client=fake.client())
    fake.history_error = "internal_error"  # transient: look again later, do not post blind
    _due_again(post)
    assert delivery_run(delivery_id=post.pk, client=fake.client()) == "retry"
    assert fake.posts() == 1


def test_without_the_history_scope_a_retry_posts_as_before(post):
    """Slack refusing the lookup for good (no channels:history) leaves at least once, not never."""
    fake = FakeSlack()
    fake.lose_answer = True
    delivery_run(delivery_id=post.pk, client=fake.client())
    fake.history_error = "missing_scope"
    _due_again(post)
    assert delivery_run(delivery_id=post.pk, client=fake.client()) == "done"
    assert fake.posts() == 2


def test_the_first_attempt_posts_without_looking(post):
    fake = FakeSlack()
    assert delivery_run(delivery_id=post.pk, client=fake.client()) == "done"
    assert fake.calls == ["chat.postMessage"]
    assert fake.messages[0]["metadata"]["event_payload"]["delivery_id"] == post.pk
