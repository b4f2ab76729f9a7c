"""Celery tasks of the callbacks: thin, by id; the retry policy lives in delivery.py."""

from celery import shared_task

from reviewqueue.callbacks import delivery, services


# Well inside delivery.LEASE (60 s), and longer than an attempt (5 s to connect, 15 s per read).
@shared_task(name="callbacks.deliver", soft_time_limit=40, time_limit=45)
def delivery_run_task(delivery_id: int) -> str:
    return delivery.delivery_run(delivery_id=delivery_id)


@shared_task(name="callbacks.sweep")
def deliveries_sweep_task() -> int:
    return delivery.deliveries_sweep()


@shared_task(name="callbacks.missed")
def callbacks_missed_task() -> int:
    return services.callbacks_missed_queue()
