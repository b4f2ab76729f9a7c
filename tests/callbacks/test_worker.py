"""Callbacks delivered by a real Celery worker (`celery -A reviewqueue worker`, on the test database
and this run's Redis database) to a real HTTP receiver on 127.0.0.1: retried after a 503, and a
worker killed mid-delivery (SIGKILL to its whole process group) still delivers, with the same
webhook-id, once its lease lapses and the sweeper re-drives it."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from reviewqueue.callbacks import services, signing
from reviewqueue.callbacks.models import CallbackDelivery
from reviewqueue.callbacks.tasks import deliveries_sweep_task
from tests.callbacks.conftest import issued_token, submitted_draft, with_callback
from tests.http_receiver import Answer, Receiver
from tests.livesystem import LiveSystem, database_url, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def workers(broker):
    started: list[LiveSystem] = []

    def start() -> LiveSystem:
        system = LiveSystem(
            database_url=database_url(connection.settings_dict),
            redis_url=settings.REDIS_URL,
            extra_env={"CALLBACK_ALLOW_PRIVATE_NETWORKS": "1"},  # the receiver is on 127.0.0.1, over http
        )
        system.start_worker(concurrency=2)
        started.append(system)
        return system

    yield start
    for system in started:
        system.cleanup()


def delivery_state(delivery_id: int) -> str:
    return CallbackDelivery.objects.get(pk=delivery_id).status


def queued_for(receiver: Receiver) -> tuple[CallbackDelivery, str]:
    token = issued_token()
    secret = with_callback(token, f"{receiver.url}/callbacks")
    draft = submitted_draft(token)
    return services.callback_queue(draft_id=draft.pk, event="draft.changes_requested"), secret


def test_the_worker_retries_a_503_and_delivers_with_the_same_id(lenient, workers):
    with Receiver([Answer(503), Answer(200)]) as receiver:
        workers()
        delivery, secret = queued_for(receiver)  # queued after its commit, as a signal receiver does
        wait_for(lambda: delivery_state(delivery.pk) == "delivered", timeout=60, what="the callback delivered")
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.webhook_id
    assert first.body == second.body
    for request in (first, second):
        signing.verify(secret=secret, headers=request.headers, body=request.body)
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.last_status_code == 200


def test_a_worker_killed_mid_delivery_still_delivers_with_the_same_id(lenient, workers):
    with Receiver([Answer(200, hang=30), Answer(200)]) as receiver:
        first_worker = workers()
        delivery, secret = queued_for(receiver)
        wait_for(lambda: len(receiver.requests) == 1, timeout=30, what="the first attempt in flight")
        assert delivery_state(delivery.pk) == "running"
        first_worker.processes["worker"].kill()  # SIGKILL, whole group: no cleanup, no answer recorded
        first_worker.cleanup()
        assert delivery_state(delivery.pk) == "running"

        # The lease (delivery.LEASE) must lapse before anyone may take it again; let that time pass.
        CallbackDelivery.objects.filter(pk=delivery.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
        workers()
        deliveries_sweep_task.delay()  # what beat runs every 15 s
        wait_for(lambda: delivery_state(delivery.pk) == "delivered", timeout=60, what="delivered after the kill")
    killed, redriven = receiver.requests
    assert killed.headers["webhook-id"] == redriven.headers["webhook-id"] == delivery.webhook_id
    assert killed.body == redriven.body
    signing.verify(secret=secret, headers=redriven.headers, body=redriven.body)
    delivery.refresh_from_db()
    assert delivery.attempts == 2
