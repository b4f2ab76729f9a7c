"""The Celery app. Configuration lives in settings.py under the CELERY_ namespace."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewqueue.settings")

app = Celery("reviewqueue")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def _close_old_connections(task=None, **kwargs) -> None:
    """A task is a request: Django's per-request rules for database connections apply to it.

    Celery's Django fixup closes the connection around every task unless CELERY_DB_REUSE_MAX is
    set; each task then paid for a new PostgreSQL connection (a backend started, authenticated and
    set up). With reuse on, this keeps what Django does around a request: a connection that failed
    or outlived DATABASE_CONN_MAX_AGE is closed, and the next use checks it (CONN_HEALTH_CHECKS),
    so a PostgreSQL restart costs a task a reconnect, not an error.
    """
    if task is not None and getattr(task.request, "is_eager", False):
        return  # run in the caller's process (tests): its connection is the caller's, as Celery's fixup leaves it
    from django.db import close_old_connections

    close_old_connections()


@signals.worker_init.connect
def _log_configuration(**kwargs) -> None:
    from reviewqueue.startup import log_configuration

    log_configuration()
