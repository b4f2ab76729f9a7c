"""Outbox administration: what the admins do to outbox items by hand.

For other engineers
-------------------
- `outbox_retry(item=, actor=) -> OutboxItem` — the admins' retry button for a failed outbox item.
"""

from django.db import transaction
from django.utils import timezone

from reviewqueue.audit.services import Actor, audit_record
from reviewqueue.review import enqueue
from reviewqueue.review.models import OutboxItem


def outbox_retry(*, item: OutboxItem, actor: Actor) -> OutboxItem:
    """An admin's retry of a failed outbox item: due now, attempts reset, audited; enqueued after commit."""
    with transaction.atomic():
        changed = OutboxItem.objects.filter(pk=item.pk, status=OutboxItem.Status.FAILED).update(
            status=OutboxItem.Status.PENDING, attempts=0, next_attempt_at=timezone.now(), locked_until=None
        )
        if changed:
            audit_record(
                actor=actor,
                action="outbox.retried",
                target_type="draft",
                target_id=item.draft_id,
                payload={"outbox_item_id": item.pk, "kind": item.kind, "last_error": item.last_error},
            )
            transaction.on_commit(lambda: enqueue.outbox_run(item.pk))
    item.refresh_from_db()
    return item
