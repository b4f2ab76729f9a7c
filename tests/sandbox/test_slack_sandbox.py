"""The Slack sandbox answers as contracts/slack.md says Slack does, and signs what its page posts back."""

import json
import time
from urllib.parse import parse_qs

import httpx
import pytest

from reviewqueue.integrations.slack.signature import request_is_signed
from reviewqueue.sandbox.server import serve_in_thread
from reviewqueue.sandbox.slack import defaults
from reviewqueue.sandbox.slack.app import Knobs, make_app

AUTH = {"Authorization": f"Bearer {defaults.BOT_TOKEN}"}


@pytest.fixture
def sandbox():
    app = make_app(knobs=Knobs())
    with serve_in_thread(app) as server:
        server.app = app
        server.api = httpx.Client(base_url=f"{server.url}/api/", headers=AUTH)
        yield server
        server.api.close()


def test_post_then_update_edits_the_same_message(sandbox):
    posted = sandbox.api.post("chat.postMessage", json={"channel": "#reviews", "text": "hi", "blocks": []}).json()
    assert posted["ok"] is True and posted["channel"] == defaults.CHANNEL and posted["ts"]
    updated = sandbox.api.post("chat.update", json={"channel": defaults.CHANNEL, "ts": posted["ts"], "text": "bye"})
    assert updated.json()["ok"] is True
    [message] = sandbox.app.state.channel(defaults.CHANNEL)["messages"]
    assert (message["text"], message["edited"]) == ("bye", True)


@pytest.mark.parametrize(
    "method, body, headers, error",
    [
        ("chat.postMessage", {"channel": "#reviews"}, {}, "not_authed"),
        ("chat.postMessage", {"channel": "#reviews"}, {"Authorization": "Bearer xoxb-wrong"}, "invalid_auth"),
        ("chat.postMessage", {"channel": "#nowhere"}, AUTH, "channel_not_found"),
        ("chat.update", {"channel": defaults.CHANNEL, "ts": "1.1"}, AUTH, "message_not_found"),
        ("users.info", {"user": "U0NOBODY"}, AUTH, "user_not_found"),
        ("views.open", {"trigger_id": "1.abc", "view": {"type": "modal"}}, AUTH, "expired_trigger_id"),
        ("chat.delete", {}, AUTH, "unknown_method"),
    ],
)
def test_failures_are_http_200_with_ok_false_and_the_error(sandbox, method, body, headers, error):
    answer = httpx.post(f"{sandbox.url}/api/{method}", json=body, headers=headers)
    assert (answer.status_code, answer.json()) == (200, {"ok": False, "error": error})


def test_a_429_knob_answers_429_with_retry_after(sandbox):
    httpx.post(f"{sandbox.url}/_sandbox/knobs", json={"fail_next": [429], "retry_after": 9})
    answer = sandbox.api.post("chat.postMessage", json={"channel": "#reviews", "text": "x"})
    assert (answer.status_code, answer.headers["Retry-After"]) == (429, "9")
    assert sandbox.api.post("chat.postMessage", json={"channel": "#reviews", "text": "x"}).json()["ok"] is True


def test_users_info_gives_the_confirmed_email(sandbox):
    user = sandbox.api.post("users.info", json={"user": "U0MAYA"}).json()["user"]
    assert (user["profile"]["email"], user["is_email_confirmed"]) == ("maya.patel@fernhill.example", True)


def test_a_click_on_the_page_is_posted_signed_to_the_interactivity_url_and_views_open_takes_its_trigger(sandbox):
    seen = []

    def app_receives(request):
        seen.append(request)
        return httpx.Response(200)

    sandbox.app.transport = httpx.MockTransport(app_receives)
    sandbox.app.knobs.interactions_url = "http://reviewqueue.test/integrations/slack/interactions"
    form = {"as": "U0MAYA", "channel": defaults.CHANNEL, "ts": "1.1", "action_id": "reject", "value": "7:3"}
    assert httpx.post(f"{sandbox.url}/_click", data=form).status_code == 303
    [request] = seen
    assert request_is_signed(request.content, request.headers, defaults.SIGNING_SECRET, now=time.time)
    payload = json.loads(parse_qs(request.content.decode())["payload"][0])
    assert payload["type"] == "block_actions" and payload["actions"][0]["value"] == "7:3"
    assert payload["response_url"].startswith(f"{sandbox.url}/_respond/")
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Reject draft"}, "blocks": []}
    opened = sandbox.api.post("views.open", json={"trigger_id": payload["trigger_id"], "view": view}).json()
    assert opened["ok"] is True and sandbox.app.state.data["modals"]["U0MAYA"]["id"] == opened["view"]["id"]
    again = sandbox.api.post("views.open", json={"trigger_id": payload["trigger_id"], "view": view}).json()
    assert again == {"ok": False, "error": "expired_trigger_id"}  # a trigger opens one view
    httpx.post(payload["response_url"], json={"response_type": "ephemeral", "text": "rejected."})
    assert sandbox.app.state.data["ephemeral"]["U0MAYA"] == ["rejected."]
