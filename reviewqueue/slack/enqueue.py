"""Queue the Slack app's tasks by name (Celery's send_task), so services need not import tasks.py."""

from reviewqueue.celery import app


def delivery_run(delivery_id: int, *, countdown: float | None = None) -> None:
    app.send_task("slack.deliver", args=(delivery_id,), countdown=countdown)


def interaction_handle(payload: dict, *, site: str) -> None:
    app.send_task("slack.interaction", args=(payload, site))
