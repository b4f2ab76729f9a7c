from celery import shared_task

from reviewqueue.digests.services import digests_send_due


@shared_task(name="digests.send_due", acks_late=True)
def digests_send_due_task() -> dict:
    """Beat, every minute: the digests whose period has begun (once per period, see DigestRun)."""
    summary = digests_send_due()
    return {"sent": len(summary.sent), "empty": len(summary.empty), "failed": len(summary.failed)}
