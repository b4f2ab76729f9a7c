"""Celery tasks of the Slack app: thin; the retry policy lives in delivery.py."""

from celery import shared_task

from reviewqueue.slack import actions, delivery, services
from reviewqueue.slack.clients import slack_client


# Well inside delivery.LEASE (60 s), and longer than a call (3 s to connect, 10 s to read).
@shared_task(name="slack.deliver", soft_time_limit=40, time_limit=45)
def delivery_run_task(delivery_id: int) -> str:
    return delivery.delivery_run(delivery_id=delivery_id)


@shared_task(name="slack.interaction", soft_time_limit=40, time_limit=45)
def interaction_task(payload: dict, site: str) -> str:
    with slack_client() as client:
        return actions.interaction_handle(payload, site=site, client=client)


@shared_task(name="slack.sweep")
def slack_sweep_task() -> dict:
    return services.slack_sweep()
