"""The sandbox posts a signed notification for each conversation change, from a background thread."""

import json
import threading
import time

from werkzeug.wrappers import Request, Response

from reviewqueue.integrations.intercom.signature import verify_signature
from reviewqueue.sandbox.intercom import defaults
from reviewqueue.sandbox.server import serve_in_thread


class Receiver:
    """A stand-in receiver that records what arrives (our real receiver is tested end to end elsewhere)."""

    def __init__(self, status: int = 200, *, failures: int = 0):
        self.status = status
        self.failures = failures  # the first deliveries answered 503 before `status`
        self.received = []
        self.arrived_at = []  # time.monotonic() of each delivery
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        request = Request(environ)
        raw = request.get_data()
        with self.lock:
            self.received.append((request.headers.get("X-Hub-Signature"), raw))
            self.arrived_at.append(time.monotonic())
            status = 503 if len(self.received) <= self.failures else self.status
        return Response("", status=status)(environ, start_response)

    def events(self) -> list[dict]:
        return [json.loads(raw) for _, raw in self.received]


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


def test_a_failing_receiver_gets_the_same_notification_again(sandbox, api):
    from reviewqueue.sandbox.intercom import webhooks

    sandbox.knobs.update({"webhook_retry_delay": 0.01})
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


def _customer_writes_then_a_note(api) -> str:
    contact = api.post("/contacts", json={"email": "dana@example.com"}).json()
    conversation_id = api.post(
        "/conversations", json={"from": {"type": "user", "id": contact["id"]}, "body": "hi"}
    ).json()["conversation_id"]
    note = {"message_type": "note", "type": "admin", "admin_id": defaults.ADMIN_ID, "body": "n"}
    api.post(f"/conversations/{conversation_id}/reply", json=note)
    return conversation_id


def test_a_retry_waits_the_retry_delay_and_holds_back_no_other_delivery(sandbox, api):
    assert sandbox.knobs.webhook_retry_delay == 60  # Intercom's: about a minute
    receiver = Receiver(failures=1)
    with serve_in_thread(receiver) as server:
        sandbox.knobs.update({"webhook_url": f"{server.url}/hook", "webhook_retry_delay": 0.6})
        _customer_writes_then_a_note(api)
        sandbox.webhooks.drain()

    events = receiver.events()
    assert [(e["topic"], e["delivery_attempts"]) for e in events] == [
        ("conversation.user.created", 1),
        ("conversation.admin.noted", 1),  # not stuck behind the failed one's retry
        ("conversation.user.created", 2),
    ]
    assert events[0]["id"] == events[2]["id"]
    assert receiver.arrived_at[2] - receiver.arrived_at[0] >= 0.6


def test_the_duplicates_knob_delivers_each_notification_twice_under_one_id(sandbox, api):
    receiver = Receiver()
    with serve_in_thread(receiver) as server:
        sandbox.knobs.update({"webhook_url": f"{server.url}/hook", "webhook_duplicates": 1})
        _customer_writes_then_a_note(api)
        sandbox.webhooks.drain()

    ids = [e["id"] for e in receiver.events()]
    assert len(ids) == 4 and len(set(ids)) == 2
    assert all(ids.count(notification_id) == 2 for notification_id in ids)


def test_the_reorder_knob_lets_a_later_change_overtake_an_earlier_one(sandbox, api):
    receiver = Receiver()
    with serve_in_thread(receiver) as server:
        sandbox.knobs.update({"webhook_url": f"{server.url}/hook", "webhook_reorder": 1})
        contact = api.post("/contacts", json={"email": "dana@example.com"}).json()
        conversation_id = api.post(
            "/conversations", json={"from": {"type": "user", "id": contact["id"]}, "body": "hi"}
        ).json()["conversation_id"]
        sandbox.knobs.update({"webhook_reorder": 0})
        note = {"message_type": "note", "type": "admin", "admin_id": defaults.ADMIN_ID, "body": "n"}
        api.post(f"/conversations/{conversation_id}/reply", json=note)
        sandbox.webhooks.drain()

    events = receiver.events()
    assert [e["topic"] for e in events] == ["conversation.admin.noted", "conversation.user.created"]
    assert events[0]["created_at"] >= events[1]["created_at"]  # order by created_at puts them right
