"""Celery tasks of the SLA app: thin, by id; the retry policy lives in sla/notify.py."""

from celery import shared_task

from reviewqueue.sla import notify, sweep


@shared_task(name="sla.sweep")
def sla_sweep_task() -> str:
    return str(sweep.sla_sweep())


# Well inside notify.LEASE (120 s) per message: a chunk of messages renews no lease, so keep them few.
@shared_task(name="sla.deliveries_run", soft_time_limit=100, time_limit=110)
def deliveries_run_task(delivery_ids: list[int]) -> dict:
    return notify.deliveries_run(delivery_ids=delivery_ids)
