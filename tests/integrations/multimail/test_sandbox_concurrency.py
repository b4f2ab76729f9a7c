"""The sandbox is thread-safe: served threaded on loopback, concurrent calls keep MultiMail's rules."""

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from reviewqueue.sandbox.multimail import defaults
from reviewqueue.sandbox.multimail.app import Knobs, make_app
from reviewqueue.sandbox.server import serve_in_thread

from .conftest import validate_response


@pytest.fixture
def served():
    app = make_app(None, Knobs(delivery_ms=0), start_sender=False)
    app.state.seed_demo(webhook_url=None, webhook_secret=defaults.WEBHOOK_SECRET)
    with serve_in_thread(app) as server:
        yield server.url
    app.stop()


def post_all(url, path, key, body, times=20):
    barrier = threading.Barrier(times)

    def post(_):
        barrier.wait()
        response = httpx.post(url + path, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=10)
        validate_response("POST", path, response.status_code, response.headers["content-type"], response.content)
        return response

    with ThreadPoolExecutor(times) as pool:
        return list(pool.map(post, range(times)))


def test_twenty_concurrent_sends_with_one_idempotency_key_make_one_email(served):
    path = f"/v1/mailboxes/{defaults.DEMO_MAILBOX_ID}/send"
    body = {"to": ["c@example.com"], "subject": "Hi", "markdown": "Hello", "idempotency_key": "draft-9"}
    responses = post_all(served, path, defaults.SEND_KEY, body)
    assert sorted(r.status_code for r in responses) == [200] * 19 + [202]
    assert len({r.json()["id"] for r in responses}) == 1


def test_twenty_concurrent_decides_have_exactly_one_winner(served):
    path = f"/v1/mailboxes/{defaults.DEMO_MAILBOX_ID}/send"
    sent = httpx.post(
        served + path,
        json={"to": ["c@example.com"], "subject": "Hi", "markdown": "Hello"},
        headers={"Authorization": f"Bearer {defaults.SEND_KEY}"},
    ).json()
    body = {"email_id": sent["id"], "action": "approve", "reason": "ok"}
    responses = post_all(served, "/v1/oversight/decide", defaults.OVERSIGHT_KEY, body)
    assert sorted(r.status_code for r in responses) == [200] + [404] * 19
