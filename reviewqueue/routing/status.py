"""What the health page shows. Each part is read on its own: one missing piece never breaks the page."""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone

# The module, not its names: get_multimail_client is looked up at each call, so a client put in its place is used.
from reviewqueue.integrations.multimail import client as multimail

logger = logging.getLogger(__name__)

# Where the Intercom client may leave the last X-RateLimit-Remaining it saw (read only; optional).
INTERCOM_RATE_LIMIT_CACHE_KEYS = ("reviewqueue:intercom:rate-limit-remaining", "intercom:rate_limit_remaining")


def multimail_missing_variable(scope: str) -> str:
    """The environment variable to set for a MultiMail feature of `scope`, or "" when configured."""
    if multimail.get_multimail_client().has_key(scope):
        return ""
    return multimail.KEY_VARIABLES.get(scope, multimail.KEY_VARIABLES["oversight"])


@dataclass
class HealthReport:
    last_poll: datetime | None = None
    poll_lag_seconds: int | None = None
    poll_interval: int = 0
    pending_in_multimail: int | None = None
    pending_in_queue: int | None = None
    multimail_error: str = ""
    outbox_backlog: int | None = None
    outbox_oldest: datetime | None = None
    outbox_failed: list = field(default_factory=list)
    deliveries: list = field(default_factory=list)
    deliveries_error: str = ""
    inbound_by_status: dict = field(default_factory=dict)
    intercom_remaining: str = "unknown"
    missing: dict = field(default_factory=dict)  # feature → environment variable to set
    unreadable_webhook_secrets: list = field(default_factory=list)  # mailbox ids


def health_report() -> HealthReport:
    report = HealthReport(poll_interval=settings.POLL_INTERVAL)
    for part in (_poll, _pending, _outbox, _deliveries, _inbound, _intercom, _webhook_secrets):
        try:
            part(report)
        except Exception:  # the page reports what it can; the failing part is logged, not shown as a 500
            logger.exception("health: %s failed", part.__name__)
    return report


def _poll(report: HealthReport) -> None:
    from reviewqueue.review.poll import poll_last_success

    report.last_poll = poll_last_success()
    if report.last_poll is not None:
        report.poll_lag_seconds = int((timezone.now() - report.last_poll).total_seconds())


def _pending(report: HealthReport) -> None:
    from reviewqueue.review.models import Draft

    report.pending_in_queue = Draft.objects.filter(status=Draft.Status.PENDING).count()
    missing = multimail_missing_variable("oversight")
    if missing:
        report.missing["Pending drafts in MultiMail"] = missing
        return
    from reviewqueue.integrations.multimail.client import MultiMailError, get_multimail_client

    try:
        report.pending_in_multimail = len(get_multimail_client().pending())
    except MultiMailError as error:
        report.multimail_error = str(error)


def _outbox(report: HealthReport) -> None:
    from reviewqueue.review.models import OutboxItem

    waiting = OutboxItem.objects.filter(status__in=[OutboxItem.Status.PENDING, OutboxItem.Status.RUNNING])
    summary = waiting.aggregate(count=Count("pk"), oldest=Min("created_at"))
    report.outbox_backlog, report.outbox_oldest = summary["count"], summary["oldest"]
    report.outbox_failed = list(
        OutboxItem.objects.filter(status=OutboxItem.Status.FAILED).select_related("draft").order_by("created_at")[:50]
    )


def _deliveries(report: HealthReport) -> None:
    missing = multimail_missing_variable("admin")
    if missing:
        report.missing["Webhook deliveries"] = missing
        return
    from reviewqueue.integrations.multimail.client import MultiMailError, get_multimail_client

    try:
        report.deliveries = get_multimail_client().webhook_deliveries(limit=25).deliveries
    except MultiMailError as error:
        report.deliveries_error = str(error)


def _inbound(report: HealthReport) -> None:
    from reviewqueue.integrations.inbound.models import InboundWebhook

    rows = InboundWebhook.objects.values("source", "status").annotate(count=Count("pk")).order_by("source", "status")
    for row in rows:
        report.inbound_by_status.setdefault(row["source"], {})[row["status"]] = row["count"]


def _intercom(report: HealthReport) -> None:
    from django.core.cache import cache

    for key in INTERCOM_RATE_LIMIT_CACHE_KEYS:
        value = cache.get(key)
        if value is not None:
            report.intercom_remaining = str(value)
            return


def _webhook_secrets(report: HealthReport) -> None:
    from reviewqueue.routing.selectors import mailboxes_with_unreadable_webhook_secret

    report.unreadable_webhook_secrets = mailboxes_with_unreadable_webhook_secret()
    if report.unreadable_webhook_secrets:
        logger.error("webhook secrets no key decrypts, of mailboxes %s", ", ".join(report.unreadable_webhook_secrets))
