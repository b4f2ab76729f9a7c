"""Delivering a callback against a real HTTP receiver on 127.0.0.1: what is retried, what is not,
the same webhook-id on every attempt, backoff, the 24-hour window, the outbound guard at send time."""

import itertools
import json
import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from reviewqueue.callbacks import delivery, services, signing
from reviewqueue.callbacks.models import CallbackDelivery
from tests.callbacks.conftest import issued_token, submitted_draft, with_callback
from tests.http_receiver import Answer, Receiver

pytestmark = pytest.mark.django_db


def queued(url: str, event: str = "draft.approved") -> tuple[CallbackDelivery, str]:
    token = issued_token()
    secret = with_callback(token, url)
    draft = submitted_draft(token)
    return services.callback_queue(draft_id=draft.pk, event=event), secret


def run(item: CallbackDelivery) -> str:
    return delivery.delivery_run(delivery_id=item.pk)


def make_due(item: CallbackDelivery) -> None:
    CallbackDelivery.objects.filter(pk=item.pk).update(next_attempt_at=timezone.now())


def test_a_2xx_is_delivered_signed_with_the_stored_body(lenient, receiver, broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        item, secret = queued(f"{receiver.url}/hooks/agent")
    assert broker.queued() == [("callbacks.deliver", [item.pk])]
    assert run(item) == "delivered"
    item.refresh_from_db()
    assert (item.status, item.attempts, item.last_status_code, item.last_error) == ("delivered", 1, 200, "")
    [request] = receiver.requests
    assert request.path == "/hooks/agent" and request.headers["content-type"] == "application/json"
    assert request.body.decode() == item.body
    assert signing.verify(secret=secret, headers=request.headers, body=request.body)["type"] == "draft.approved"
    assert request.headers["webhook-id"] == item.webhook_id


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 429])
def test_server_errors_timeouts_and_rate_limits_are_retried_with_the_same_id(lenient, status):
    with Receiver([Answer(status), Answer(200)]) as receiver:
        item, secret = queued(receiver.url)
        assert run(item) == "retry"
        item.refresh_from_db()
        assert item.status == "pending" and item.attempts == 1 and item.last_status_code == status
        assert item.last_error.startswith(f"HTTP {status}")
        assert item.next_attempt_at > timezone.now()
        assert run(item) == "pending"  # not due yet: nothing sent
        make_due(item)
        assert run(item) == "delivered"
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == item.webhook_id
    assert first.body == second.body
    for request in (first, second):
        signing.verify(secret=secret, headers=request.headers, body=request.body)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 410, 413, 422])
def test_other_4xx_fail_at_once(lenient, status):
    with Receiver([Answer(status, body=b"no such hook")]) as receiver:
        item, _ = queued(receiver.url)
        assert run(item) == "failed"
    item.refresh_from_db()
    assert (item.status, item.attempts, item.last_status_code) == ("failed", 1, status)
    assert item.last_error == f"HTTP {status}: no such hook"
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_followed_and_not_retried(lenient, status):
    with Receiver([Answer(status, {"Location": "/elsewhere"})]) as receiver:
        item, _ = queued(f"{receiver.url}/hook")
        assert run(item) == "failed"
    item.refresh_from_db()
    assert item.status == "failed" and "redirects are not followed (Location: /elsewhere)" in item.last_error
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_a_timeout_is_retried(lenient, monkeypatch):
    import httpx

    monkeypatch.setattr(delivery, "TIMEOUT", httpx.Timeout(0.3, connect=0.3))
    with Receiver([Answer(200, hang=1.0)]) as receiver:
        item, _ = queued(receiver.url)
        assert run(item) == "retry"
    item.refresh_from_db()
    assert item.status == "pending" and item.last_error.startswith("timed out")


def test_a_refused_connection_is_retried(lenient):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the attempt: nobody listens there
    item, _ = queued(f"http://127.0.0.1:{port}/hook")
    assert run(item) == "retry"
    item.refresh_from_db()
    assert item.status == "pending" and item.last_error.startswith("connection failed: ConnectError")


def test_a_private_address_is_refused_at_delivery_time(settings, receiver):
    """Saved while private networks were allowed; at delivery they are not: refused, nothing sent, no retry."""
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = True
    item, _ = queued(receiver.url)
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = False
    assert run(item) == "failed"
    item.refresh_from_db()
    assert item.status == "failed" and item.last_error.startswith("refused: ")
    assert receiver.requests == []


def test_a_name_rebound_to_a_private_address_is_refused_at_delivery_time(settings, receiver, monkeypatch):
    real = socket.getaddrinfo
    answer = {"agent.example.com": "93.184.215.14"}

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answer:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = False
    item, _ = queued(f"https://agent.example.com:{receiver.port}/hook")  # accepted: a public address
    answer["agent.example.com"] = "127.0.0.1"
    assert run(item) == "failed"
    item.refresh_from_db()
    assert "agent.example.com resolves to 127.0.0.1, a loopback address" in item.last_error
    assert receiver.requests == []


def test_retries_back_off_exponentially_and_honour_retry_after():
    fixed = lambda low, high: 1.0  # noqa: E731  (no jitter)
    delays = [delivery.backoff(n, rand=fixed) for n in range(1, 13)]
    assert delays[:6] == [5, 10, 20, 40, 80, 160]
    assert all(b >= a for a, b in itertools.pairwise(delays))
    assert max(delays) == delivery.BACKOFF_CAP
    assert delivery.backoff(1, retry_after=120, rand=fixed) == 120
    assert delivery.backoff(1, retry_after=10**9, rand=fixed) == delivery.BACKOFF_CAP


def test_the_schedule_keeps_trying_for_at_least_24_hours():
    """Attempts go on until the first failure past retry_until, 24 h after the event."""
    assert timedelta(hours=24) <= services.RETRY_WINDOW
    elapsed, attempts = 0.0, 1
    while elapsed < services.RETRY_WINDOW.total_seconds():
        elapsed += delivery.backoff(attempts, rand=lambda low, high: high)  # the longest jitter
        attempts += 1
    assert 30 <= attempts <= 40  # about 33 attempts over the day, hourly at the end


def test_a_failure_inside_the_window_is_retried_and_past_it_gives_up(lenient):
    with Receiver([Answer(503)]) as receiver:
        item, _ = queued(receiver.url)
        CallbackDelivery.objects.filter(pk=item.pk).update(retry_until=timezone.now() + timedelta(seconds=30))
        assert run(item) == "retry"
        CallbackDelivery.objects.filter(pk=item.pk).update(retry_until=timezone.now() - timedelta(seconds=1))
        make_due(item)
        assert run(item) == "failed"
    item.refresh_from_db()
    assert item.status == "failed" and item.attempts == 2
    assert item.last_error.startswith("gave up after 2 attempts, the last past ")
    assert item.last_error.endswith("UTC: HTTP 503: ok")


def test_a_short_retry_goes_to_the_broker_and_a_long_one_to_the_sweeper(lenient, broker):
    with Receiver([Answer(500)]) as receiver:
        item, _ = queued(receiver.url)
        broker.flush()
        assert run(item) == "retry"
        assert broker.names() == ["callbacks.deliver"]  # 5 s: a countdown
        broker.flush()
        CallbackDelivery.objects.filter(pk=item.pk).update(attempts=9)  # the 10th attempt waits ~40 min
        make_due(item)
        assert run(item) == "retry"
        assert broker.names() == []
    item.refresh_from_db()
    assert item.next_attempt_at > timezone.now() + timedelta(minutes=30)


def test_the_sweeper_queues_due_and_abandoned_deliveries_only(lenient, broker, receiver):
    due, _ = queued(receiver.url)
    later = services.callback_queue(draft_id=submitted_draft(due.token, email_id="em_2").pk, event="draft.rejected")
    lapsed = services.callback_queue(draft_id=submitted_draft(due.token, email_id="em_3").pk, event="draft.rejected")
    now = timezone.now()
    CallbackDelivery.objects.filter(pk=due.pk).update(next_attempt_at=now - timedelta(minutes=1))
    CallbackDelivery.objects.filter(pk=later.pk).update(next_attempt_at=now + timedelta(minutes=5))
    CallbackDelivery.objects.filter(pk=lapsed.pk).update(status="running", locked_until=now - timedelta(seconds=1))
    broker.flush()
    assert delivery.deliveries_sweep() == 2
    assert sorted(args[0] for _, args in broker.queued()) == sorted([due.pk, lapsed.pk])


def test_a_running_delivery_is_not_taken_twice(lenient, receiver):
    item, _ = queued(receiver.url)
    CallbackDelivery.objects.filter(pk=item.pk).update(status="running", locked_until=timezone.now() + delivery.LEASE)
    assert run(item) == "running"
    assert receiver.requests == []


def test_a_lapsed_lease_is_taken_again_with_the_same_id(lenient, receiver):
    """The worker that held it died: after the lease the next run sends it, same id and body."""
    item, _ = queued(receiver.url)
    CallbackDelivery.objects.filter(pk=item.pk).update(
        status="running", attempts=1, locked_until=timezone.now() - timedelta(seconds=1)
    )
    assert run(item) == "delivered"
    item.refresh_from_db()
    assert item.attempts == 2
    assert receiver.requests[0].headers["webhook-id"] == item.webhook_id


def test_a_delivery_whose_workers_all_died_past_the_window_is_failed(lenient, receiver):
    item, _ = queued(receiver.url)
    CallbackDelivery.objects.filter(pk=item.pk).update(
        status="running",
        locked_until=timezone.now() - timedelta(seconds=1),
        retry_until=timezone.now() - delivery.ABANDON_AFTER - timedelta(minutes=1),
    )
    assert run(item) == "failed"
    item.refresh_from_db()
    assert item.last_error.startswith("gave up: no attempt finished")
    assert receiver.requests == []


def test_a_token_whose_callback_was_removed_fails_its_deliveries(lenient, receiver):
    from reviewqueue.audit.services import Actor

    item, _ = queued(receiver.url)
    services.endpoint_remove(endpoint=item.token.callback, actor=Actor.system("test"))
    assert run(item) == "failed"
    item.refresh_from_db()
    assert item.last_error == "the intake token has no callback URL any more"


def test_the_body_is_the_agents_view_of_its_draft(lenient, receiver):
    item, _ = queued(receiver.url, event="draft.rejected")
    body = json.loads(item.body)
    assert body["type"] == "draft.rejected" and body["timestamp"]
    data = body["data"]
    assert data["draft_id"] == item.draft_id and data["email_id"] == "em_1" and data["conversation_id"] == "conv_1"
    assert data["decision"] is None and data["status"] == "pending"


def test_only_the_start_of_a_failed_answer_is_read_and_kept(lenient):
    with Receiver([Answer(500, body=b"E" * 2_000_000)]) as receiver:
        item, _ = queued(receiver.url)
        assert run(item) == "retry"
    item.refresh_from_db()
    assert item.last_error == "HTTP 500: " + "E" * delivery.ANSWER_KEPT


def test_an_unforeseen_error_is_spent_as_an_attempt_and_retried(lenient, receiver, monkeypatch):
    item, _ = queued(receiver.url)

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(signing, "signed_headers", broken)
    assert run(item) == "retry"
    item.refresh_from_db()
    assert (item.status, item.attempts, item.last_error) == ("pending", 1, "RuntimeError: boom")
    assert receiver.requests == []


def test_a_new_secret_signs_the_next_attempt(lenient):
    from reviewqueue.audit.services import Actor

    with Receiver([Answer(503), Answer(200)]) as receiver:
        item, old = queued(receiver.url)
        assert run(item) == "retry"
        new = services.secret_rotate(endpoint=item.token.callback, actor=Actor.system("test"))
        make_due(item)
        assert run(item) == "delivered"
    first, second = receiver.requests
    signing.verify(secret=old, headers=first.headers, body=first.body)
    signing.verify(secret=new, headers=second.headers, body=second.body)
    with pytest.raises(Exception, match="No matching signature"):
        signing.verify(secret=old, headers=second.headers, body=second.body)
