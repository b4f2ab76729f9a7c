"""inbound_store outside a transaction: one statement, stored once, durable before it answers."""

import psycopg
import pytest
from django.db import connection, transaction

from reviewqueue.integrations.inbound.models import InboundWebhook
from reviewqueue.integrations.inbound.services import inbound_store


def store(delivery_id="d-1", **extra):
    called = []
    result = inbound_store(
        source="intercom",
        delivery_id=delivery_id,
        topic="conversation.user.replied",
        payload={"id": delivery_id, "data": {"item": {"id": "42"}}, "text": "héllo"},
        on_stored=called.append,
        **extra,
    )
    return result, called


@pytest.mark.django_db(transaction=True)
def test_first_delivery_is_stored_and_announced_once_duplicate_is_neither():
    (record, created), called = store()
    assert created and called == [record.pk]
    stored = InboundWebhook.objects.get(pk=record.pk)
    assert stored.payload["text"] == "héllo"
    assert stored.status == InboundWebhook.Status.RECEIVED and stored.attempts == 0
    assert stored.received_at == record.received_at

    (again, created), called = store()
    assert again is None and not created and called == []
    assert InboundWebhook.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_receipt_is_committed_before_it_is_announced():
    # What the 2xx promises: another connection already sees the stored row when on_stored runs.
    seen = []

    def on_stored(record_id):
        with psycopg.connect(**_connect_kwargs()) as other:
            seen.append(
                other.execute("SELECT count(*) FROM inbound_inboundwebhook WHERE id = %s", [record_id]).fetchone()[0]
            )

    inbound_store(
        source="intercom", delivery_id="d-commit", topic="ping", payload={"id": "d-commit"}, on_stored=on_stored
    )
    assert seen == [1]


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_it_waits_for_commit_as_usual():
    with transaction.atomic():
        (record, created), called = store()
        assert created and called == []  # on_stored waits for the commit
    assert InboundWebhook.objects.filter(pk=record.pk).exists()


def _connect_kwargs() -> dict:
    settings = connection.settings_dict
    return {
        key: value
        for key, value in {
            "dbname": settings["NAME"],
            "user": settings["USER"],
            "password": settings["PASSWORD"],
            "host": settings["HOST"],
            "port": settings["PORT"],
        }.items()
        if value
    }
