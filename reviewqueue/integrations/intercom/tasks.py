"""Celery tasks for Intercom: thin, by id; they own the retry policy."""

import logging
import random
from datetime import timedelta

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from reviewqueue.integrations.inbound.models import InboundWebhook
from reviewqueue.integrations.inbound.services import inbound_settle
from reviewqueue.integrations.intercom.client import (
    IntercomError,
    IntercomRateLimited,
    IntercomServerError,
    IntercomUnavailable,
)
from reviewqueue.integrations.intercom.notifications import notification_handle
from reviewqueue.queueing import lost_with_the_broker

logger = logging.getLogger(__name__)

MAX_RETRIES = 8
# A `received` row never attempted after this long lost its task message; one attempted but still
# `received` after the longest retry schedule (about 15 minutes) lost its retry.
REDRIVE_UNSTARTED_AFTER = timedelta(minutes=2)
REDRIVE_STALLED_AFTER = timedelta(minutes=30)


def _retry_delay(error: IntercomError, retries: int) -> float:
    if isinstance(error, IntercomRateLimited) and (wait := error.wait_seconds()) is not None:
        return wait + random.uniform(1, 3)  # after the window resets, not all at its first second
    return min(300, 5 * 2**retries) * random.uniform(0.5, 1.0)  # backoff with jitter


@shared_task(bind=True, name="intercom_webhook_handle", max_retries=MAX_RETRIES)
def intercom_webhook_handle(self, record_id: int) -> str | None:
    try:
        return notification_handle(record_id=record_id)
    except (IntercomRateLimited, IntercomServerError, IntercomUnavailable) as error:
        if self.request.retries >= MAX_RETRIES:
            inbound_settle(record_id=record_id, status=InboundWebhook.Status.FAILED, error=str(error))
            return InboundWebhook.Status.FAILED
        raise self.retry(countdown=_retry_delay(error, self.request.retries)) from None
    except IntercomError as error:  # not found, unauthorized, bad request: retrying will not help
        logger.warning("intercom notification %s failed: %s", record_id, error)
        inbound_settle(record_id=record_id, status=InboundWebhook.Status.FAILED, error=str(error))
        return InboundWebhook.Status.FAILED


@shared_task(name="intercom_webhooks_fan_out")
def intercom_webhooks_fan_out(record_ids: list[int]) -> int:
    """One task per notification, for a burst the receiver published as one message."""
    for record_id in record_ids:
        intercom_webhook_handle.delay(record_id)
    return len(record_ids)


@shared_task(name="intercom_webhooks_redrive")
def intercom_webhooks_redrive() -> int:
    """Re-enqueue notifications still `received` long after arrival (their enqueue was lost).

    Those stored before the broker last lost its messages (reviewqueue/queueing.py) at once, once per loss:
    their task message went with it."""
    now = timezone.now()
    stored = InboundWebhook.objects.filter(
        source=InboundWebhook.Source.INTERCOM, status=InboundWebhook.Status.RECEIVED, attempts__lt=MAX_RETRIES
    )
    stale = stored.filter(
        Q(attempts=0, received_at__lt=now - REDRIVE_UNSTARTED_AFTER) | Q(received_at__lt=now - REDRIVE_STALLED_AFTER)
    ).values_list("pk", flat=True)[:500]
    ids = list(stale)
    lost = lost_with_the_broker("intercom_webhooks_redrive", stored, queued_at="received_at", limit=500)
    ids += sorted(set(lost) - set(ids))
    for record_id in ids:
        intercom_webhook_handle.delay(record_id)
    return len(ids)
