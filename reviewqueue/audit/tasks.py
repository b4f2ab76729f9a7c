"""Audit tasks: thin, they take ids and call one service."""

from celery import shared_task

from reviewqueue.audit import services


@shared_task(name="audit.checkpoint")
def audit_checkpoint() -> int | None:
    checkpoint = services.audit_checkpoint_store()
    return checkpoint.seq if checkpoint else None


@shared_task(name="audit.verify", time_limit=3600, soft_time_limit=3500)
def audit_verify(verification_id: int) -> str:
    return services.audit_verification_run(verification_id=verification_id).status
