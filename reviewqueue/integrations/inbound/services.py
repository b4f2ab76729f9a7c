"""Storing and settling inbound webhook deliveries. Receivers verify first, then call inbound_store."""

import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from reviewqueue.integrations.inbound.models import InboundWebhook


def body_fingerprint(raw_body: bytes) -> str:
    """The delivery id of a delivery that carries none of its own."""
    return "sha256:" + hashlib.sha256(raw_body).hexdigest()


def inbound_store(
    *,
    source: str,
    delivery_id: str,
    topic: str,
    payload,
    status: str = InboundWebhook.Status.RECEIVED,
    on_stored=None,
) -> tuple[InboundWebhook | None, bool]:
    """Store a delivery once. Returns (record, True) the first time and (None, False) for a duplicate.

    `on_stored(record_id)` runs after the commit, only for a new delivery: that is where the
    receiver enqueues the handling task, so a duplicate never enqueues work twice.

    Outside a transaction (a receiver's request) it stores with one statement and one round trip;
    the delivery is durable before the sender is answered, so a 2xx never promises what a database
    crash could take back.
    """
    if not connection.in_atomic_block:
        return _store_in_one_statement(
            source=source, delivery_id=delivery_id, topic=topic, payload=payload, status=status, on_stored=on_stored
        )
    try:
        with transaction.atomic():
            record = InboundWebhook.objects.create(
                source=source, delivery_id=delivery_id[:128], topic=topic[:100], payload=payload, status=status
            )
            if on_stored is not None:
                transaction.on_commit(lambda: on_stored(record.pk))
    except IntegrityError:  # the unique constraint: concurrent or repeated delivery of the same id
        return None, False
    return record, True


_INSERT_ONCE = """
INSERT INTO {table} (source, delivery_id, topic, payload, received_at, status, attempts, error)
VALUES (%s, %s, %s, %s::jsonb, now(), %s, 0, '')
ON CONFLICT (source, delivery_id) DO NOTHING
RETURNING id, received_at
"""


def _store_in_one_statement(*, source, delivery_id, topic, payload, status, on_stored):
    # One round trip in autocommit: the statement is its own transaction. A duplicate inserts nothing.
    values = [source, delivery_id[:128], topic[:100], json.dumps(payload), status]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_ONCE.format(table=connection.ops.quote_name(InboundWebhook._meta.db_table)), values)
        row = cursor.fetchone()
    if row is None:
        return None, False
    record = InboundWebhook(
        pk=row[0], source=source, delivery_id=values[1], topic=values[2], payload=payload, status=status
    )
    record.received_at = row[1]
    if on_stored is not None:
        on_stored(record.pk)  # already committed
    return record, True


def inbound_settle(*, record_id: int, status: str, error: str = "") -> None:
    InboundWebhook.objects.filter(pk=record_id).update(status=status, processed_at=timezone.now(), error=error[:2000])


# MultiMail deliveries are kept this long, then pruned. The receiver refuses a delivery whose signed
# timestamp is more than minutes off, so a replay never needs a row this old to be caught.
RETENTION = timedelta(days=30)


def inbound_prune() -> int:
    """Delete the MultiMail deliveries stored longer ago than RETENTION; returns how many.

    Intercom's notifications are kept: their receiver refuses none by its time, so the stored ids
    stay their only replay defence.
    """
    cutoff = timezone.now() - RETENTION
    deleted, _ = InboundWebhook.objects.filter(source=InboundWebhook.Source.MULTIMAIL, received_at__lt=cutoff).delete()
    return deleted
