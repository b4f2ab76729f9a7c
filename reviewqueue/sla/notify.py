"""Telling people a draft is overdue: one EscalationDelivery per channel (Slack, email), carried out at
least once with backoff, like the outbox. A failure never touches a decision: it is retried, then
shown on the mailbox page (sla/selectors.py `delivery_problems`).

A worker takes a delivery with one guarded update (due and pending, or running on a lapsed lease),
so two workers never send the same one at once. The Slack URL is checked again when sending
(reviewqueue/outbound.py: https, public addresses only, no redirects).
"""

import logging
import random
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from reviewqueue import leases
from reviewqueue.audit.services import Actor, audit_record
from reviewqueue.outbound import OutboundURLRefused, outbound_client, send_checked
from reviewqueue.review.presentation import age_text
from reviewqueue.routing.services import site_origins
from reviewqueue.sla import enqueue
from reviewqueue.sla.durations import format_duration
from reviewqueue.sla.models import EscalationDelivery, MailboxPolicy
from reviewqueue.sla.policy import policy_of, slack_webhook_url

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)  # longer than a send may take (10 s timeout): a lapsed lease means a dead worker
BACKOFF_BASE = 15.0  # seconds, doubling per attempt
BACKOFF_CAP = 1800.0
MAX_ATTEMPTS = 8  # about an hour of trying, then failed (shown on the mailbox page)
SLACK_TIMEOUT = 10.0


class DeliveryTransient(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class DeliveryPermanent(Exception):
    pass


@dataclass(frozen=True)
class OverdueMessage:
    """What every channel says about an overdue draft."""

    mailbox: str
    customer: str
    subject: str
    waiting: str  # "2 h 5 min"
    target: str  # "30m"
    link: str  # absolute when this site's address is configured (SITE_URL), else the path

    @property
    def title(self) -> str:
        return f"Draft overdue in {self.mailbox}: waiting {self.waiting} (target {self.target})"


def overdue_message(delivery: EscalationDelivery, now: datetime) -> OverdueMessage:
    escalation = delivery.escalation
    draft = escalation.draft
    path = reverse("review:draft", args=[draft.pk])
    origins = site_origins()
    return OverdueMessage(
        mailbox=draft.mailbox_address or draft.mailbox_id,
        customer=", ".join(draft.to or []) or "(no recipient)",
        subject=draft.subject or "(no subject)",
        waiting=age_text(draft.waiting_since, now),
        target=format_duration(escalation.target),
        link=f"{origins[0]}{path}" if origins else path,
    )


def _slack_text(value: str) -> str:
    # Slack's mrkdwn reads &, < and > as markup: escaped as its docs say, so a subject cannot ping @channel.
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(message: OverdueMessage) -> dict:
    """A Block Kit message: a header, the facts, and a button to the draft (when the link is absolute)."""
    e = _slack_text
    fields = [
        ("Mailbox", message.mailbox),
        ("Customer", message.customer),
        ("Subject", message.subject),
        ("Waiting", f"{message.waiting} (target {message.target})"),
    ]
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Draft overdue: waiting {message.waiting}"[:150]}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{e(v)[:1900]}"} for k, v in fields]},
    ]
    if message.link.startswith(("https://", "http://")):
        button = {"type": "button", "text": {"type": "plain_text", "text": "Open the draft"}, "url": message.link}
        blocks.append({"type": "actions", "elements": [button]})
    else:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"reviewqueue {e(message.link)}"}]})
    return {"text": e(message.title), "blocks": blocks}


def email_text(message: OverdueMessage) -> tuple[str, str]:
    subject = message.title.replace("\n", " ")[:200]
    body = (
        f"A draft has waited longer than its decision target.\n\n"
        f"Mailbox:  {message.mailbox}\nCustomer: {message.customer}\nSubject:  {message.subject}\n"
        f"Waiting:  {message.waiting} (target {message.target})\n\nOpen it: {message.link}\n"
    )
    return subject, body


# --- carrying a delivery out ---------------------------------------------------------------------------


def deliveries_run(*, delivery_ids: list[int], http: httpx.Client | None = None) -> dict[int, str]:
    return {delivery_id: delivery_run(delivery_id=delivery_id, http=http) for delivery_id in delivery_ids}


def delivery_run(*, delivery_id: int, http: httpx.Client | None = None) -> str:
    """Send one delivery if it is due and nobody else sends it: "done", "retry", "failed", "skipped" (the draft
    left the queue meanwhile) or "not taken"."""
    now = timezone.now()
    if not leases.lease_take(EscalationDelivery, delivery_id, LEASE):
        return "not taken"
    delivery = EscalationDelivery.objects.select_related("escalation__draft").get(pk=delivery_id)
    if not delivery.escalation.draft.is_pending:
        # Decided (or gone) before the message went, or while it was being retried: nobody waits any more.
        _done(delivery, action="sla.escalation_skipped", why="the draft left the queue before the message went")
        return "skipped"
    try:
        _send(delivery, policy_of(delivery.mailbox_id), http, now)
    except DeliveryPermanent as error:
        return _fail(delivery, str(error))
    except DeliveryTransient as error:
        return _retry_later(delivery, str(error), error.retry_after)
    except Exception as error:  # an answer nobody foresaw: spent as an attempt, so it ends failed for a person
        log.exception("escalation delivery raised an unforeseen error", extra={"delivery": delivery.pk})
        return _retry_later(delivery, f"{type(error).__name__}: {error}", None)
    _done(delivery)
    return "done"


def _send(delivery: EscalationDelivery, policy: MailboxPolicy, http, now) -> None:
    message = overdue_message(delivery, now)
    if delivery.channel == EscalationDelivery.Channel.SLACK:
        url = slack_webhook_url(policy)
        if not url:
            raise DeliveryPermanent("the mailbox has no Slack webhook any more")
        _slack_post(url, slack_payload(message), http)
    else:
        if not policy.notify_emails:
            raise DeliveryPermanent("the mailbox has no notification addresses any more")
        _email_send(message, list(policy.notify_emails))


def _slack_post(url: str, payload: dict, http: httpx.Client | None) -> None:
    client = http or outbound_client(timeout=SLACK_TIMEOUT)
    try:
        response = send_checked(client, client.build_request("POST", url, json=payload))
    except OutboundURLRefused as error:
        raise DeliveryPermanent(f"Slack webhook refused by the outbound guard: {error}") from None
    except httpx.HTTPError as error:
        raise DeliveryTransient(f"Slack unreachable: {type(error).__name__}: {error}") from None
    finally:
        if http is None:
            client.close()
    if response.status_code == 429 or response.status_code >= 500:
        retry_after = response.headers.get("Retry-After", "")
        raise DeliveryTransient(
            f"Slack answered {response.status_code}", float(retry_after) if retry_after.isdigit() else None
        )
    if response.status_code >= 300:
        # 400 invalid_payload, 403 invalid_token, 404 no_service, 410 channel_is_archived: a person must look.
        raise DeliveryPermanent(f"Slack answered {response.status_code}: {response.text[:200]}")


def _email_send(message: OverdueMessage, recipients: list[str]) -> None:
    subject, body = email_text(message)
    try:
        send_mail(subject, body, None, recipients, fail_silently=False)
    except smtplib.SMTPRecipientsRefused as error:
        raise DeliveryPermanent(f"the mail server refused every recipient: {error}") from None
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryTransient(f"the mail server failed: {type(error).__name__}: {error}") from None


def _backoff(attempts: int, retry_after: float | None) -> float:
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1)) * random.uniform(0.8, 1.2)
    return max(delay, retry_after or 0)


def _retry_later(delivery: EscalationDelivery, error: str, retry_after: float | None) -> str:
    if delivery.attempts >= MAX_ATTEMPTS:
        return _fail(delivery, f"gave up after {delivery.attempts} attempts: {error}")
    delay = _backoff(delivery.attempts, retry_after)
    EscalationDelivery.objects.filter(pk=delivery.pk, status=EscalationDelivery.Status.RUNNING).update(
        status=EscalationDelivery.Status.PENDING,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        locked_until=None,
        last_error=error[:2000],
    )
    enqueue.deliveries_run([delivery.pk], countdown=delay)
    return "retry"


def _fail(delivery: EscalationDelivery, error: str) -> str:
    with transaction.atomic():
        EscalationDelivery.objects.filter(pk=delivery.pk).update(
            status=EscalationDelivery.Status.FAILED, locked_until=None, last_error=error[:2000]
        )
        _audit(delivery, "sla.escalation_failed", error=error[:2000])
    log.warning("escalation delivery failed", extra={"delivery": delivery.pk, "channel": delivery.channel})
    return "failed"


def _done(delivery: EscalationDelivery, *, action: str = "sla.escalation_sent", **extra) -> None:
    with transaction.atomic():
        EscalationDelivery.objects.filter(pk=delivery.pk).update(
            status=EscalationDelivery.Status.DONE, done_at=timezone.now(), locked_until=None, last_error=""
        )
        _audit(delivery, action, **extra)


def _audit(delivery: EscalationDelivery, action: str, **extra) -> None:
    audit_record(
        actor=Actor.system("sla.deliveries"),
        action=action,
        target_type="draft",
        target_id=delivery.escalation.draft_id,
        payload={
            "escalation_id": delivery.escalation_id,
            "delivery_id": delivery.pk,
            "channel": delivery.channel,
            "mailbox_id": delivery.mailbox_id,
            "attempts": delivery.attempts,
            **extra,
        },
    )
