"""inbound_store outside a transaction: one statement, stored once, durable before it answers."""

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


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


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
def test_a_receipt_waits_for_the_disk():
    store()
    assert synchronous_commit() == "on"


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_it_waits_for_commit_as_usual():
    with transaction.atomic():
        (record, created), called = store()
        assert created and called == []  # on_stored waits for the commit
        assert synchronous_commit() == "on"
    assert InboundWebhook.objects.filter(pk=record.pk).exists()
