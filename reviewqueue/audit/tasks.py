"""Audit tasks: thin, they take ids and call one service."""

import logging

from celery import shared_task

from reviewqueue.audit import services

logger = logging.getLogger(__name__)


@shared_task(name="audit.checkpoint")
def audit_checkpoint() -> int | None:
    checkpoint = services.audit_checkpoint_store()
    return checkpoint.seq if checkpoint else None


@shared_task(name="audit.verify", time_limit=3600, soft_time_limit=3500)
def audit_verify(verification_id: int) -> str:
    return services.audit_verification_run(verification_id=verification_id).status


@shared_task(name="audit.reconcile")
def audit_reconcile() -> dict:
    from dataclasses import asdict

    from reviewqueue.audit.reconcile import reconciliation_run
    from reviewqueue.integrations.multimail.client import MultiMailError

    try:
        return asdict(reconciliation_run())
    except MultiMailError as error:
        # The next beat tick tries again: entries read so far are kept (once each), the mark has not moved.
        logger.warning("reconciliation with MultiMail failed: %s", error)
        return {"error": str(error)}
