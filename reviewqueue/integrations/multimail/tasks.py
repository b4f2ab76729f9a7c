"""Celery tasks for MultiMail webhooks: thin, by id; they own the retry policy."""

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from reviewqueue.integrations.inbound.models import InboundWebhook
from reviewqueue.integrations.inbound.services import inbound_settle
from reviewqueue.integrations.multimail.events import webhook_event_handle
from reviewqueue.queueing import lost_with_the_broker

logger = logging.getLogger(__name__)

MAX_RETRIES = 6


@shared_task(bind=True, name="multimail_webhook_handle", max_retries=MAX_RETRIES)
def multimail_webhook_handle(self, record_id: int) -> str:
    try:
        return webhook_event_handle(record_id=record_id)
    except Exception as error:  # the review core or the database failed: try again, then record why
        if self.request.retries >= MAX_RETRIES:
            logger.exception("multimail webhook %s failed for good", record_id)
            inbound_settle(
                record_id=record_id, status=InboundWebhook.Status.FAILED, error=f"{type(error).__name__}: {error}"
            )
            return InboundWebhook.Status.FAILED
        raise self.retry(countdown=min(300, 5 * 2**self.request.retries)) from None


# A delivery still `received` this long after arrival lost its task message (broker down at enqueue,
# or a worker killed mid-way): longer than the task's whole retry schedule (5+10+…+160 s).
REDRIVE_AFTER = timedelta(minutes=10)
REDRIVE_GIVE_UP_AFTER = timedelta(days=1)


@shared_task(name="multimail_webhooks_redrive")
def multimail_webhooks_redrive() -> int:
    """Re-enqueue MultiMail deliveries left `received`; handling is idempotent, so a repeat is harmless.

    Those stored before the broker last lost its messages (reviewqueue/queueing.py) at once, once per loss:
    their task message went with it. The rest after REDRIVE_AFTER, when their own retries are over."""
    now = timezone.now()
    stored = InboundWebhook.objects.filter(
        source=InboundWebhook.Source.MULTIMAIL,
        status=InboundWebhook.Status.RECEIVED,
        received_at__gt=now - REDRIVE_GIVE_UP_AFTER,
    )
    ids = list(stored.filter(received_at__lt=now - REDRIVE_AFTER).values_list("pk", flat=True)[:500])
    lost = lost_with_the_broker("multimail_webhooks_redrive", stored, queued_at="received_at", limit=500)
    ids += sorted(set(lost) - set(ids))
    for record_id in ids:
        multimail_webhook_handle.delay(record_id)
    return len(ids)
