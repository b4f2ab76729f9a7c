"""Background work of the routing component: after an intake, and the periodic mailbox sync."""

import logging

from celery import shared_task

from reviewqueue.audit.services import Actor

logger = logging.getLogger(__name__)


@shared_task(name="routing.mailboxes_sync", ignore_result=True)
def mailboxes_sync_task() -> None:
    """Keep the local mailbox list as MultiMail has it (beat, every few minutes)."""
    from reviewqueue.integrations.multimail.client import MultiMailError
    from reviewqueue.routing.services import mailboxes_sync
    from reviewqueue.routing.status import multimail_missing_variable

    if multimail_missing_variable("read"):
        return  # MultiMail not configured: the mailboxes page says which variable to set
    try:
        result = mailboxes_sync(actor=Actor.system("routing.mailboxes_sync"))
    except MultiMailError as error:  # the next run tries again; the page's "sync now" shows the error
        logger.warning("mailbox sync failed: %s", error)
        return
    logger.info("mailbox sync: %s new, %s changed, %s gone", result.created, result.updated, result.deactivated)


@shared_task(name="routing.intake_followups", ignore_result=True)
def intake_followups_task() -> int:
    """Tag new intake emails at MultiMail, then queue their drafts' fetches: every intake pushed since
    the last batch (queued after an intake's commit when no batch was waiting)."""
    from reviewqueue.routing.followups import intake_followups

    return intake_followups()


@shared_task(name="routing.intake_followup", ignore_result=True)
def intake_followup_task(record_id: int, refresh: bool = False) -> None:
    """One intake's follow-up: what intake queued before follow-ups went in batches (messages that
    may still wait in the queue when this version starts)."""
    from reviewqueue.routing.followups import intake_followup

    intake_followup(record_id=record_id, refresh=refresh)
