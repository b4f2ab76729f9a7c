"""The Slack app's tests: the Slack sandbox served on a loopback thread, settings pointed at it,
requests signed as Slack signs them (contracts/slack.md), drafts made through the services."""

import json
import time
from urllib.parse import urlencode

import pytest
from django.core.cache import cache

from reviewqueue.audit.services import Actor
from reviewqueue.integrations.slack.signature import sign
from reviewqueue.review.models import Draft
from reviewqueue.sandbox.server import start_in_thread
from reviewqueue.sandbox.slack import defaults
from reviewqueue.sandbox.slack.app import Knobs, make_app
from reviewqueue.slack.channels import slack_channel_set
from reviewqueue.slack.models import SlackChannel, SlackDelivery
from tests.surfaces import em_1_held, vendors_patched

SECRET = "slack_signing_secret_for_tests"
TOKEN = "xoxb-tests-token"
SITE = "https://reviewqueue.example"
INTERACTIONS = "/integrations/slack/interactions"


@pytest.fixture
def slack(settings):
    """The Slack sandbox on a thread; SLACK_* point at it. `.app` is the sandbox (state, knobs, calls)."""
    app = make_app(bot_token=TOKEN, signing_secret=SECRET, knobs=Knobs(retry_after=1))
    server = start_in_thread(app)
    settings.SLACK_API_URL = f"{server.url}/api"
    settings.SLACK_BOT_TOKEN = TOKEN
    settings.SLACK_SIGNING_SECRET = SECRET
    settings.SITE_URL = SITE
    settings.CONTEXT_MAX_AGE = 60
    cache.clear()
    server.app = app
    yield server
    server.stop()
    cache.clear()


@pytest.fixture
def vendors(monkeypatch):
    """MultiMail holding em_1 for conversation c_7 in Intercom; every client in the code talks to these fakes."""
    return vendors_patched(monkeypatch)


@pytest.fixture
def channel(db):
    slack_channel_set(mailbox_id="mbx_1", channel=defaults.CHANNEL, actor=Actor.system("t"))
    return SlackChannel.objects.get(mailbox_id="mbx_1")


@pytest.fixture
def held(slack, channel, vendors, broker) -> Draft:
    """em_1, held for c_7 in mbx_1 (posted to the sandbox's channel): received and fetched, as the poll does."""
    return em_1_held()


@pytest.fixture
def review_request(slack, channel, vendors, broker, django_capture_on_commit_callbacks) -> SlackDelivery:
    """em_1 held (as `held`) with its on-commit work run: the review request draft_ready queued, not yet posted."""
    with django_capture_on_commit_callbacks(execute=True):
        draft = em_1_held()
    return SlackDelivery.objects.get(draft=draft, kind="post")


def signed_post(client, payload: dict | None = None, *, raw: bytes | None = None, secret: str = SECRET,
                timestamp: int | None = None, headers: dict | None = None):  # fmt: skip
    """POST the interactivity URL as Slack does: form field `payload`, signed over the exact body."""
    body = raw if raw is not None else urlencode({"payload": json.dumps(payload)}).encode()
    signed = sign(body, secret, int(time.time()) if timestamp is None else timestamp)
    return client.post(
        INTERACTIONS,
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers=signed if headers is None else headers,
    )


def click(draft: Draft, action: str, *, user: str = "U0MAYA", response_url: str = "", snapshot=..., trigger_id="t1"):
    snapshot_id = draft.latest_snapshot_id if snapshot is ... else snapshot
    return {
        "type": "block_actions",
        "user": {"id": user},
        "trigger_id": trigger_id,
        "response_url": response_url,
        "container": {"type": "message", "message_ts": "1.000100", "channel_id": defaults.CHANNEL},
        "channel": {"id": defaults.CHANNEL},
        "actions": [{"type": "button", "action_id": action, "value": f"{draft.pk}:{snapshot_id or ''}"}],
    }


def submission(draft: Draft, reason: str, *, user: str = "U0MAYA", response_url: str = "", snapshot=...):
    snapshot_id = draft.latest_snapshot_id if snapshot is ... else snapshot
    metadata = {"draft_id": draft.pk, "snapshot_id": snapshot_id, "response_url": response_url}
    return {
        "type": "view_submission",
        "user": {"id": user},
        "view": {
            "id": "V1",
            "callback_id": "reviewqueue_reject",
            "private_metadata": json.dumps(metadata),
            "state": {"values": {"reason": {"reason_text": {"type": "plain_text_input", "value": reason}}}},
        },
    }


def response_url(slack, user: str = "U0MAYA") -> str:
    """A response_url the sandbox knows: what it says there shows to `user` only."""
    return f"{slack.url}/_respond/{slack.app.state.response_url_token(user, defaults.CHANNEL)}"


def told(slack, user: str = "U0MAYA") -> list[str]:
    return slack.app.state.data["ephemeral"].get(user, [])
