"""The traffic bot as the callbacks' receiver: it verifies each signed callback, takes a retried one
once, and answers draft.changes_requested with a revision posted to intake with revision_of."""

import json
import time

import httpx
import pytest

from reviewqueue.callbacks import signing
from reviewqueue.sandbox.traffic import Traffic, parse_config
from reviewqueue.sandbox.traffic_agent import CallbackListener, RevisingAgent, Submitted, revised_markdown
from tests.http_receiver import Answer, Receiver
from tests.livesystem import free_port

SECRET = signing.secret_new()


def changes_requested(draft_id: int, feedback: str = "The refund is 45 EUR, not 50.") -> str:
    decision = {"action": "request_changes", "reason": feedback, "reviewer": {"username": "rita", "name": "Rita"}}
    data = {"draft_id": draft_id, "email_id": "em_1", "conversation_id": "c_7", "decision": decision}
    return json.dumps({"type": "draft.changes_requested", "timestamp": "2026-12-07T10:00:00+00:00", "data": data})


def post(listener: CallbackListener, body: str, *, secret: str = SECRET, webhook_id: str = "msg_1") -> int:
    headers = signing.signed_headers(secret=secret, webhook_id=webhook_id, timestamp=int(time.time()), body=body)
    return httpx.post(f"http://127.0.0.1:{listener.port}/callbacks", content=body, headers=headers).status_code


@pytest.fixture
def listener():
    running = CallbackListener(port=0, secret=SECRET).start()
    yield running
    running.stop()


def test_a_signed_callback_is_taken_once_and_a_forged_one_refused(listener):
    assert post(listener, changes_requested(1)) == 204
    assert post(listener, changes_requested(1)) == 204  # a retry: the same webhook-id
    assert post(listener, changes_requested(2), secret=signing.secret_new(), webhook_id="msg_2") == 401
    assert [event["data"]["draft_id"] for event in listener.drain()] == [1]
    assert listener.drain() == []


def test_changes_requested_is_answered_with_a_revision(listener):
    with Receiver([Answer(202, body=b'{"id": 12, "status": "pending"}')]) as intake:
        agent = RevisingAgent(listener, lambda body: httpx.post(f"{intake.url}/api/v1/drafts", json=body))
        original = "Hi Dana,\n\nYour refund of 50 EUR is on its way.\n\nBest,\nSupport"
        agent.remember(11, Submitted("c_7", "dana@example.com", "Your refund", original))
        assert post(listener, changes_requested(11)) == 204
        agent.answer()
    [request] = intake.requests
    body = json.loads(request.body)
    assert body["revision_of"] == 11
    assert (body["intercom_conversation_id"], body["to"], body["subject"]) == (
        "c_7",
        ["dana@example.com"],
        "Your refund",
    )
    assert body["markdown"] == (
        "Hi Dana,\n\nYour refund of 50 EUR is on its way.\n\n"
        "To be precise: The refund is 45 EUR, not 50.\n\nBest,\nSupport"
    )
    assert agent.submitted[12].revision == 2  # the revision can be sent back in turn


def test_other_events_are_only_told(listener, capsys):
    agent = RevisingAgent(listener, lambda body: pytest.fail("no intake for an approval"))
    approved = json.loads(changes_requested(5))
    approved["type"] = "draft.approved"
    assert post(listener, json.dumps(approved)) == 204
    agent.answer()
    assert "traffic: callback draft.approved for draft 5 by Rita" in capsys.readouterr().out


def test_a_chain_sent_back_too_often_is_left_to_a_person(listener, capsys):
    agent = RevisingAgent(listener, lambda body: pytest.fail("no fourth version"))
    agent.remember(30, Submitted("c_7", "dana@example.com", "Your refund", "Hi", revision=3))
    post(listener, changes_requested(30))
    agent.answer()
    assert "sent back 3 times; the bot leaves it to a person" in capsys.readouterr().out


def test_intake_unavailable_keeps_the_request_for_the_next_tick(listener):
    calls = []

    def unavailable(body):
        calls.append(body)
        raise httpx.ConnectError("intake is restarting")

    agent = RevisingAgent(listener, unavailable)
    agent.remember(40, Submitted("c_7", "dana@example.com", "Your refund", "Hi"))
    post(listener, changes_requested(40))
    agent.answer()
    agent.answer()
    assert len(calls) == 2 and all(call["revision_of"] == 40 for call in calls)


def test_the_revision_keeps_the_sign_off_last():
    assert revised_markdown("Hello", "Say sorry.") == "Hello\n\nTo be precise: Say sorry."


def test_the_traffic_generator_listens_only_with_a_token_and_a_secret(monkeypatch):
    monkeypatch.setenv("REVIEWQUEUE_TRAFFIC_INTAKE_TOKEN", "rqi_x")
    monkeypatch.delenv("REVIEWQUEUE_TRAFFIC_CALLBACK_SECRET", raising=False)
    without = Traffic(parse_config([]))
    assert without.agent is None
    without.close()
    monkeypatch.setenv("REVIEWQUEUE_TRAFFIC_CALLBACK_SECRET", SECRET)
    port = free_port()
    with_secret = Traffic(parse_config(["--callback-port", str(port)]))
    try:
        assert with_secret.agent is not None and with_secret.agent.listener.port == port
    finally:
        with_secret.close()
