"""The MultiMail sandbox's webhook deliveries: due until delivered or given up, also after a restart."""

import json
import time

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


def _sender_posting_to(calls: list, knobs, state):
    import httpx

    from reviewqueue.sandbox.multimail.webhooks import WebhookSender

    def answer(request):
        calls.append(request)
        return httpx.Response(202)

    sender = WebhookSender(state, knobs)
    sender._http = httpx.Client(transport=httpx.MockTransport(answer))
    return sender


def test_the_chaos_knobs_duplicate_hold_back_and_forge_deliveries_and_count_them(tmp_path):
    import json

    from reviewqueue.integrations.multimail.signature import HEADER, verify_signature
    from reviewqueue.sandbox.multimail.app import Knobs

    state = a_state_with_one_pending_delivery(tmp_path / "state.json")
    knobs = Knobs(webhook_duplicate_rate=1.0, webhook_reorder_rate=1.0, webhook_forge_rate=1.0)
    calls = []
    sender = _sender_posting_to(calls, knobs, state)

    assert sender.tick() == 0  # held back; only its forged copy went out
    [forged] = calls
    assert json.loads(forged.content)["event_type"] == "oversight.approved"
    assert not verify_signature(forged.content, forged.headers[HEADER], "s" * 32)
    sender._held = dict.fromkeys(sender._held, 0.0)  # the hold is over
    assert sender.tick() == 1
    real, again = calls[1:]
    assert real.content == again.content and verify_signature(real.content, real.headers[HEADER], "s" * 32)
    chaos = sender.chaos()
    assert (chaos["duplicated"], chaos["reordered"], chaos["forged"]) == (1, 1, 1)
    assert chaos["forged_ids"] == [json.loads(forged.content)["id"]]


def test_the_clock_skew_knob_moves_the_timestamps_of_the_events_the_sandbox_emits():
    from datetime import datetime

    from reviewqueue.sandbox.multimail.app import Knobs, make_app

    knobs = Knobs(clock_skew_seconds=-120)
    app = make_app(knobs=knobs, webhook_url="http://127.0.0.1:9/x", seed_demo=True, start_sender=False)
    body = {"to": ["dora@customer.example"], "subject": "Re: order", "markdown": "Hello", "idempotency_key": "k1"}
    app.state.send(actor=ACTOR, mailbox_id=defaults.DEMO_MAILBOX_ID, body=body)
    [delivery] = app.state.deliveries_due()
    sent_at = datetime.fromisoformat(json.loads(delivery["body"])["timestamp"])
    assert 100 < time.time() - sent_at.timestamp() < 140
