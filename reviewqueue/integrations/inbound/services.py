"""Storing and settling inbound webhook deliveries. Receivers verify first, then call inbound_store."""

import hashlib

from django.db import IntegrityError, transaction
from django.utils import timezone

from reviewqueue.integrations.inbound.models import InboundWebhook


def body_fingerprint(raw_body: bytes) -> str:
    """The delivery id of a delivery that carries none of its own."""
    return "sha256:" + hashlib.sha256(raw_body).hexdigest()


def inbound_store(
    *, source: str, delivery_id: str, topic: str, payload, status: str = InboundWebhook.Status.RECEIVED, on_stored=None
) -> tuple[InboundWebhook | None, bool]:
    """Store a delivery once. Returns (record, True) the first time and (None, False) for a duplicate.

    `on_stored(record_id)` runs after the commit, only for a new delivery: that is where the
    receiver enqueues the handling task, so a duplicate never enqueues work twice.
    """
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


def inbound_settle(*, record_id: int, status: str, error: str = "") -> None:
    InboundWebhook.objects.filter(pk=record_id).update(status=status, processed_at=timezone.now(), error=error[:2000])
