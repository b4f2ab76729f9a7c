"""A held draft's one review request in its mailbox's channel, edited in place once decided, and what
Slack's failures do (429 with Retry-After, ok: false, timeouts): retried with backoff, never touching
the decision. Against the Slack sandbox on a loopback thread."""

from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from reviewqueue.integrations.slack.client import SlackClient
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.models import Decision, Draft
from reviewqueue.sandbox.slack import defaults
from reviewqueue.slack.delivery import delivery_run
from reviewqueue.slack.models import SlackDelivery
from reviewqueue.slack.services import post_queue, slack_sweep, update_queue

pytestmark = pytest.mark.django_db


@pytest.fixture
def posted(held, django_capture_on_commit_callbacks) -> SlackDelivery:
    """The review request, queued by review's draft_ready signal when the fetch committed."""
    return SlackDelivery.objects.get(draft=held, kind="post")


def messages(slack) -> list[dict]:
    return slack.app.state.channel(defaults.CHANNEL)["messages"]


def buttons(message: dict) -> list[str]:
    return [e["text"]["text"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def shown_text(message: dict) -> str:
    parts = []
    for block in message["blocks"]:
        if block["type"] == "section":
            parts.append(block["text"]["text"])
        elif block["type"] == "context":
            parts.extend(element["text"] for element in block["elements"])
    return "\n".join(parts)


def api_calls(slack, method: str) -> int:
    return sum(call["method"] == method for call in slack.app.calls)


def decide(held, reviewer, django_capture_on_commit_callbacks, **fields) -> Decision:
    with django_capture_on_commit_callbacks(execute=True):
        return draft_decide(
            draft=held, reviewer=reviewer, origin="web", **{"action": "reject", "reason": "Tone", **fields}
        )


@pytest.fixture
def held(slack, channel, vendors, broker, django_capture_on_commit_callbacks) -> Draft:
    from reviewqueue.audit.services import Actor
    from reviewqueue.review.ingest import draft_fetch, draft_receive

    received, _ = draft_receive(
        email_id="em_1", mailbox_id="mbx_1", source="poll", actor=Actor.system("t"), fetch=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        return draft_fetch(draft_id=received.pk)


def test_a_held_draft_is_posted_once_with_its_facts_and_buttons_however_often_asked(slack, posted, broker):
    assert "slack.deliver" in broker.names()
    assert post_queue(draft_id=posted.draft_id).pk == posted.pk  # the signal again, the sweep: the same row
    assert delivery_run(delivery_id=posted.pk) == "done"
    assert delivery_run(delivery_id=posted.pk) == "done"  # a second broker message: not taken again
    [message] = messages(slack)
    assert api_calls(slack, "chat.postMessage") == 1
    draft = posted.draft
    text = shown_text(message)
    assert draft.subject in text and "customer@example.com" in text and "waiting" in text and "Flags:" in text
    assert buttons(message) == ["Approve", "Reject", "Open"]
    posted.refresh_from_db()
    assert (posted.status, posted.ts, posted.channel) == ("done", message["ts"], defaults.CHANNEL)


def test_the_message_is_edited_in_place_once_the_draft_is_decided_anywhere(
    slack, posted, reviewer, django_capture_on_commit_callbacks
):
    delivery_run(delivery_id=posted.pk)
    decision = decide(posted.draft, reviewer, django_capture_on_commit_callbacks, reason="Wrong refund amount")
    update = SlackDelivery.objects.get(draft=posted.draft, kind="update")  # queued by decision_recorded
    assert delivery_run(delivery_id=update.pk) == "done"
    [message] = messages(slack)
    assert message["edited"] is True
    text = shown_text(message)
    assert f"*Rejected* by rita on the draft page, {decision.decided_at:%Y-%m-%d %H:%M} UTC" in text
    assert "Wrong refund amount" in text
    assert buttons(message) == ["Open"]  # nothing left to click but the link
    assert update_queue(draft_id=posted.draft_id).pk == update.pk  # decision_carried_out later: the same row


def test_slack_answering_429_is_retried_no_sooner_than_retry_after_and_then_posts_once(slack, posted):
    slack.app.knobs.fail_next = [429]
    slack.app.knobs.retry_after = 7
    before = timezone.now()
    assert delivery_run(delivery_id=posted.pk) == "retry"
    posted.refresh_from_db()
    assert posted.status == "pending" and "rate limited (429)" in posted.last_error
    assert posted.next_attempt_at >= before + timedelta(seconds=7)
    assert delivery_run(delivery_id=posted.pk) == "pending"  # not due yet: nobody takes it
    SlackDelivery.objects.filter(pk=posted.pk).update(next_attempt_at=timezone.now())
    assert delivery_run(delivery_id=posted.pk) == "done"
    assert len(messages(slack)) == 1


def test_ok_false_is_retried_with_backoff_and_an_error_no_retry_mends_fails_at_once(slack, posted):
    slack.app.knobs.fail_next = ["internal_error"]
    assert delivery_run(delivery_id=posted.pk) == "retry"
    posted.refresh_from_db()
    assert "chat.postMessage: internal_error" in posted.last_error
    assert posted.next_attempt_at > timezone.now()
    SlackDelivery.objects.filter(pk=posted.pk).update(next_attempt_at=timezone.now())
    # A retried post first looks for an earlier attempt's message (conversations.history), then posts.
    slack.app.knobs.fail_next = [None, "channel_not_found"]
    assert delivery_run(delivery_id=posted.pk) == "failed"


def test_a_timeout_is_retried(slack, posted):
    def times_out(request):
        raise httpx.ReadTimeout("slow", request=request)

    client = SlackClient(base_url="https://slack.example/api", token="t", transport=httpx.MockTransport(times_out))
    assert delivery_run(delivery_id=posted.pk, client=client) == "retry"
    posted.refresh_from_db()
    assert "timed out" in posted.last_error and posted.attempts == 1


def test_slack_failing_never_blocks_or_undoes_a_decision(slack, posted, reviewer, django_capture_on_commit_callbacks):
    delivery_run(delivery_id=posted.pk)
    slack.app.knobs.fail_next = [429, "internal_error"]
    decision = decide(posted.draft, reviewer, django_capture_on_commit_callbacks)
    update = SlackDelivery.objects.get(draft=posted.draft, kind="update")
    assert delivery_run(delivery_id=update.pk) == "retry"
    assert Decision.objects.get(draft=posted.draft) == decision
    assert Draft.objects.get(pk=posted.draft_id).status == "decided"


def test_an_update_waits_for_its_post_without_spending_attempts(
    slack, posted, reviewer, django_capture_on_commit_callbacks
):
    decide(posted.draft, reviewer, django_capture_on_commit_callbacks)
    update = SlackDelivery.objects.get(draft=posted.draft, kind="update")
    assert delivery_run(delivery_id=update.pk) == "waiting"
    update.refresh_from_db()
    assert (update.status, update.attempts) == ("pending", 0)


def test_a_post_that_failed_for_good_settles_its_update(slack, posted, reviewer, django_capture_on_commit_callbacks):
    decide(posted.draft, reviewer, django_capture_on_commit_callbacks)
    slack.app.knobs.fail_next = ["channel_not_found"]
    assert delivery_run(delivery_id=posted.pk) == "failed"
    assert SlackDelivery.objects.get(draft=posted.draft, kind="update").status == "failed"


def test_a_mailbox_without_a_channel_or_a_site_without_a_token_posts_nothing(slack, posted, settings):
    SlackDelivery.objects.all().delete()
    settings.SLACK_BOT_TOKEN = ""
    assert post_queue(draft_id=posted.draft_id) is None
    settings.SLACK_BOT_TOKEN = "xoxb-tests-token"
    Draft.objects.filter(pk=posted.draft_id).update(mailbox_id="mbx_without_channel")
    assert post_queue(draft_id=posted.draft_id) is None


def test_the_sweep_posts_what_a_lost_signal_never_queued_and_re_drives_a_dead_workers_lease(slack, posted, broker):
    SlackDelivery.objects.all().delete()
    Draft.objects.filter(pk=posted.draft_id).update(updated_at=timezone.now() - timedelta(minutes=1))
    assert slack_sweep()["posts"] == 1
    delivery = SlackDelivery.objects.get(draft_id=posted.draft_id, kind="post")
    SlackDelivery.objects.filter(pk=delivery.pk).update(
        status="running", attempts=1, locked_until=timezone.now() - timedelta(seconds=1)
    )
    broker.flush()
    assert slack_sweep()["redriven"] == 1
    assert broker.names() == ["slack.deliver"]
