"""Celery tasks for stored webhook deliveries."""

from celery import shared_task

from reviewqueue.integrations.inbound.services import inbound_prune


@shared_task(name="inbound.prune")
def inbound_webhooks_prune() -> int:
    return inbound_prune()
