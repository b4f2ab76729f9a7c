"""The MultiMail sandbox's webhook deliveries: due until delivered or given up, also after a restart."""

from reviewqueue.sandbox.multimail import defaults
from reviewqueue.sandbox.multimail.state import SandboxState as State

ACTOR = {"id": "test"}


def a_state_with_one_pending_delivery(path) -> State:
    state = State(path)
    state.seed_demo(webhook_url="http://127.0.0.1:9/webhooks/multimail", webhook_secret="s" * 32)
    body = {"to": ["dora@customer.example"], "subject": "Re: order", "markdown": "Hello", "idempotency_key": "k1"}
    state.send(actor=ACTOR, mailbox_id=defaults.DEMO_MAILBOX_ID, body=body)
    return state


def test_a_delivered_webhook_is_no_longer_due(tmp_path):
    state = a_state_with_one_pending_delivery(tmp_path / "state.json")
    [delivery] = state.deliveries_due()
    state.delivery_record(delivery_id=delivery["id"], response_status=202, max_attempts=3, retry_base=0)
    assert state.deliveries_due() == []
    assert state.deliveries_page(limit=10, cursor=None)["items"][0]["status"] == "delivered"


def test_a_refused_webhook_is_due_again_until_it_is_given_up(tmp_path):
    state = a_state_with_one_pending_delivery(tmp_path / "state.json")
    [delivery] = state.deliveries_due()
    state.delivery_record(delivery_id=delivery["id"], response_status=500, max_attempts=2, retry_base=0)
    assert [d["id"] for d in state.deliveries_due()] == [delivery["id"]]
    state.delivery_record(delivery_id=delivery["id"], response_status=500, max_attempts=2, retry_base=0)
    assert state.deliveries_due() == []


def test_pending_deliveries_are_due_again_after_a_restart(tmp_path):
    first = a_state_with_one_pending_delivery(tmp_path / "state.json")
    [delivery] = first.deliveries_due()
    restarted = State(tmp_path / "state.json")
    assert [d["id"] for d in restarted.deliveries_due()] == [delivery["id"]]
