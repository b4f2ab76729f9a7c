"""Queueing the SLA work by task name (the services name the tasks; sla/tasks.py imports the services)."""

from reviewqueue.celery import app

DELIVERIES_PER_TASK = 8  # 8 sends of at most 10 s each fit the task's time limit; a sweep of 1,000 messages sends 125


def deliveries_run(delivery_ids: list[int], *, countdown: float | None = None) -> None:
    for start in range(0, len(delivery_ids), DELIVERIES_PER_TASK):
        chunk = list(delivery_ids[start : start + DELIVERIES_PER_TASK])
        app.send_task("sla.deliveries_run", args=(chunk,), countdown=countdown)
