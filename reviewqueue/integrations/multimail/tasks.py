"""Celery tasks for MultiMail webhooks: thin, by id; they own the retry policy."""

import logging

from celery import shared_task

from reviewqueue.integrations.inbound.models import InboundWebhook
from reviewqueue.integrations.inbound.services import inbound_settle
from reviewqueue.integrations.multimail.events import webhook_event_handle

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
