"""The Slack app with a real Celery worker, the MultiMail and Intercom sandboxes and the Slack sandbox:
a held draft's review request goes out once, an Approve clicked in Slack is decided by the worker,
and the message is edited in place after it."""

import pytest
from django.conf import settings
from django.db import connection

from reviewqueue.audit.services import Actor
from reviewqueue.review.ingest import draft_fetch, draft_receive
from reviewqueue.review.models import Decision, OutboxItem
from reviewqueue.sandbox.slack import defaults
from reviewqueue.slack.channels import slack_channel_set
from reviewqueue.slack.models import SlackDelivery
from tests.conftest import role_group
from tests.livesystem import LiveSystem, database_url, wait_for
from tests.review.live import sandboxes_started
from tests.slack.conftest import SECRET, TOKEN, click, response_url, signed_post, told

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandboxes(settings, broker, slack):
    with sandboxes_started(settings) as running:
        yield running


@pytest.fixture
def worker(sandboxes, slack):
    system = LiveSystem(
        database_url=database_url(connection.settings_dict),
        redis_url=settings.REDIS_URL,
        multimail_port=sandboxes.multimail_port,
        intercom_port=sandboxes.intercom_port,
        extra_env={"SLACK_API_URL": f"{slack.url}/api", "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET},
    )
    system.start_worker(concurrency=2)
    yield system
    system.cleanup()


def messages(slack) -> list[dict]:
    return slack.app.state.channel(defaults.CHANNEL)["messages"]


def test_the_request_goes_out_once_a_slack_approve_is_decided_by_the_worker_and_the_message_is_edited(
    client, sandboxes, slack, worker, django_user_model
):
    maya = django_user_model.objects.create_user(username="maya", email="maya.patel@fernhill.example")
    maya.groups.add(role_group("reviewer"))
    slack_channel_set(mailbox_id="mb_sandbox_support", channel=defaults.CHANNEL, actor=Actor.system("t"))
    conversation_id = sandboxes.conversation("cleo@customer.example")
    email_id = sandboxes.agent_draft("cleo@customer.example", subject="Your refund", conversation_id=conversation_id)
    received, _ = draft_receive(
        email_id=email_id, mailbox_id="mb_sandbox_support", source="poll", actor=Actor.system("t"), fetch=False
    )
    draft = draft_fetch(draft_id=received.pk)  # committed: draft_ready queues the post for the worker
    draft_fetch(draft_id=received.pk, refresh=True)  # a refresh sends draft_ready again: still one post

    wait_for(lambda: len(messages(slack)) == 1, timeout=30, what="the worker posted the review request")
    assert "*Your refund*" in messages(slack)[0]["blocks"][0]["text"]["text"]

    assert (
        signed_post(client, click(draft, "approve", user="U0MAYA", response_url=response_url(slack))).status_code == 200
    )
    decision = wait_for(lambda: Decision.objects.filter(draft=draft).first(), timeout=30, what="the worker decided")
    assert (decision.reviewer, decision.origin) == (maya, "slack")
    wait_for(lambda: messages(slack)[0]["edited"], timeout=30, what="the message was edited in place")
    [message] = messages(slack)
    assert "*Approved* by maya in Slack" in str(message["blocks"])
    wait_for(
        lambda: not OutboxItem.objects.filter(decision=decision).exclude(status="done").exists(),
        timeout=30,
        what="the outbox carried the decision out",
    )
    assert sandboxes.email(draft.email_id)["status"] in ("approved", "approved_and_sent")
    assert told(slack) == ["«Your refund»: approved."]
    assert sum(call["method"] == "chat.postMessage" for call in slack.app.calls) == 1
    assert set(SlackDelivery.objects.filter(draft=draft).values_list("kind", "status")) == {
        ("post", "done"),
        ("update", "done"),
    }
