"""The sandbox posts a signed notification for each conversation change, from a background thread."""

import json
import threading

from werkzeug.wrappers import Request, Response

from reviewqueue.integrations.intercom.signature import verify_signature
from reviewqueue.sandbox.intercom import defaults
from reviewqueue.sandbox.server import serve_in_thread


class Receiver:
    """A stand-in receiver that records what arrives (our real receiver is tested end to end elsewhere)."""

    def __init__(self, status: int = 200):
        self.status = status
        self.received = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        request = Request(environ)
        raw = request.get_data()
        with self.lock:
            self.received.append((request.headers.get("X-Hub-Signature"), raw))
        return Response("", status=self.status)(environ, start_response)


def test_changes_are_posted_signed_in_intercoms_envelope(sandbox, api):
    receiver = Receiver()
    with serve_in_thread(receiver) as server:
        sandbox.knobs.update({"webhook_url": f"{server.url}/hook"})
        contact = api.post("/contacts", json={"email": "dana@example.com"}).json()
        conversation_id = api.post(
            "/conversations", json={"from": {"type": "user", "id": contact["id"]}, "body": "hi"}
        ).json()["conversation_id"]
        note = {"message_type": "note", "type": "admin", "admin_id": defaults.ADMIN_ID, "body": "n"}
        api.post(f"/conversations/{conversation_id}/reply", json=note)
        sandbox.webhooks.drain()

    topics = []
    for header, raw in receiver.received:
        assert verify_signature(raw, header, defaults.CLIENT_SECRET)
        event = json.loads(raw)
        assert event["type"] == "notification_event" and event["id"].startswith("notif_")
        assert event["app_id"] == defaults.APP_ID
        assert event["data"]["item"]["id"] == conversation_id
        assert isinstance(event["created_at"], int)
        topics.append(event["topic"])
    assert topics == ["conversation.user.created", "conversation.admin.noted"]


def test_a_failing_receiver_gets_the_same_notification_again(sandbox, api, monkeypatch):
    from reviewqueue.sandbox.intercom import webhooks

    monkeypatch.setattr(webhooks, "RETRY_DELAY", 0.01)
    receiver = Receiver(status=503)
    with serve_in_thread(receiver) as server:
        sandbox.knobs.update({"webhook_url": f"{server.url}/hook"})
        contact = api.post("/contacts", json={"email": "dana@example.com"}).json()
        api.post("/conversations", json={"from": {"type": "user", "id": contact["id"]}, "body": "hi"})
        sandbox.webhooks.drain()
    events = [json.loads(raw) for _, raw in receiver.received]
    assert len(events) == webhooks.ATTEMPTS
    assert len({e["id"] for e in events}) == 1
    assert [e["delivery_attempts"] for e in events] == [1, 2, 3]
    assert sandbox.webhooks.sent()[-1]["status"] == 503


def test_fin_replying_is_an_operator_reply_by_a_bot(sandbox, api):
    receiver = Receiver()
    with serve_in_thread(receiver) as server:
        sandbox.knobs.update({"webhook_url": f"{server.url}/hook"})
        contact = api.post("/contacts", json={"email": "dana@example.com"}).json()
        conversation_id = api.post(
            "/conversations", json={"from": {"type": "user", "id": contact["id"]}, "body": "hi"}
        ).json()["conversation_id"]
        fin = {"message_type": "comment", "type": "admin", "admin_id": "992", "body": "I can help with that."}
        conversation = api.post(f"/conversations/{conversation_id}/reply", json=fin).json()
        sandbox.webhooks.drain()
    assert conversation["conversation_parts"]["conversation_parts"][-1]["author"]["type"] == "bot"
    assert [json.loads(raw)["topic"] for _, raw in receiver.received] == [
        "conversation.user.created",
        "conversation.operator.replied",
    ]
