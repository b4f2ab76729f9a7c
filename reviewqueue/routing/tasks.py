"""Periodic work of the routing component."""

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
