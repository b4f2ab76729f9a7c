"""The Slack Web API client at the HTTP boundary (httpx.MockTransport): requests and typed errors."""

import json

import httpx
import pytest

from reviewqueue.integrations.slack.client import SlackClient, SlackError


def client_answering(*answers, seen=None):
    queue = list(answers)

    def handler(request):
        if seen is not None:
            seen.append(request)
        return queue.pop(0)

    return SlackClient(base_url="https://slack.example/api", token="xoxb-1", transport=httpx.MockTransport(handler))


def test_a_call_posts_json_with_the_bot_token_to_the_method_url():
    seen = []
    client = client_answering(httpx.Response(200, json={"ok": True, "channel": "C1", "ts": "1.2"}), seen=seen)
    posted = client.post_message(channel="#reviews", text="t", blocks=[{"type": "divider"}])
    assert (posted.channel, posted.ts) == ("C1", "1.2")
    [request] = seen
    assert str(request.url) == "https://slack.example/api/chat.postMessage"
    assert request.headers["authorization"] == "Bearer xoxb-1"
    assert request.headers["content-type"].startswith("application/json")
    assert json.loads(request.content) == {"channel": "#reviews", "text": "t", "blocks": [{"type": "divider"}]}


def test_429_is_a_transient_rate_limit_carrying_retry_after():
    client = client_answering(httpx.Response(429, headers={"Retry-After": "30"}, json={"ok": False}))
    with pytest.raises(SlackError) as raised:
        client.update_message(channel="C1", ts="1.2", text="t", blocks=[])
    assert (raised.value.rate_limited, raised.value.transient, raised.value.retry_after) == (True, True, 30.0)


@pytest.mark.parametrize(
    "answer, code, transient",
    [
        (httpx.Response(200, json={"ok": False, "error": "internal_error"}), "internal_error", True),
        (httpx.Response(200, json={"ok": False, "error": "channel_not_found"}), "channel_not_found", False),
        (httpx.Response(200, json={"ok": False, "error": "invalid_auth"}), "invalid_auth", False),
        (httpx.Response(503, text="down"), "http_503", True),
        (httpx.Response(200, text="<html>"), "not_json", True),
    ],
)
def test_ok_false_and_other_failures_are_typed_errors_saying_whether_to_try_again(answer, code, transient):
    with pytest.raises(SlackError) as raised:
        client_answering(answer).post_message(channel="C1", text="t", blocks=[])
    assert (raised.value.code, raised.value.transient) == (code, transient)
    assert str(raised.value).startswith("chat.postMessage: ")


def test_users_info_gives_the_email_and_whether_slack_confirmed_it():
    user = {"id": "U1", "is_email_confirmed": True, "deleted": False, "profile": {"email": " Rita@Example.com "}}
    found = client_answering(httpx.Response(200, json={"ok": True, "user": user})).user_info("U1")
    assert (found.id, found.email, found.email_confirmed, found.deleted) == ("U1", "Rita@Example.com", True, False)
    bare = client_answering(httpx.Response(200, json={"ok": True, "user": {"id": "U2", "profile": {}}})).user_info("U2")
    assert (bare.email, bare.email_confirmed) == ("", False)  # no is_email_confirmed: not confirmed
