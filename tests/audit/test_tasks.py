from celery import current_app
from django.conf import settings

from reviewqueue.audit.tasks import audit_reconcile


def test_the_audit_tasks_are_scheduled_by_beat_under_registered_names():
    import reviewqueue.audit.tasks  # noqa: F401  (registers the tasks)

    scheduled = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled["audit.checkpoint"] == 3600.0
    assert scheduled["audit.reconcile"] <= 900.0
    assert {"audit.checkpoint", "audit.reconcile", "audit.verify"} <= set(current_app.tasks)


def test_reconciliation_without_an_admin_key_is_skipped_not_failed(db, settings):
    settings.MULTIMAIL_ADMIN_API_KEY = ""
    settings.MULTIMAIL_API_URL = "https://api.multimail.test"
    assert "MULTIMAIL_ADMIN_API_KEY" in audit_reconcile()["skipped"]
