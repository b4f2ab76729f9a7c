"""Queue the Slack app's tasks by name (Celery's send_task), so services need not import tasks.py."""

from reviewqueue.celery import app
from reviewqueue.queueing import send_committed


def delivery_run(delivery_id: int, *, countdown: float | None = None) -> None:
    """The SlackDelivery row is committed: a broker that is down leaves it to services.slack_sweep."""
    send_committed("slack.deliver", (delivery_id,), countdown=countdown)


def interaction_handle(payload: dict, *, site: str) -> None:
    """A button's payload is stored nowhere: a broker that is down must fail the request (503, and
    Slack shows the reviewer an error) rather than drop the click."""
    app.send_task("slack.interaction", args=(payload, site))
