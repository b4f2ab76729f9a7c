"""Telling a mailbox's escalation channels (sla's policy: Slack webhook, notify e-mails) that spot checks
tightened it: at least once, like the other outbound messages. The tighten is already done and audited
whatever the channels answer.

One TighteningNotice per (tightening, channel) is written after the tighten and tried at once; one that
fails goes back to pending with backoff (leases.py's take, so two sweeps never send it at once), and
the spot-check sweep (beat, every minute) tries what is due again, until MAX_ATTEMPTS, then it is failed
and logged. A retry that then succeeds, or fails for good, is audited (oversight.tightening_told). A
worker killed after the channel took the message but before it was marked done sends it again when
its lease lapses: a Slack incoming webhook and SMTP have no idempotency key, and a second "tightened"
message is better than none.
"""

import logging
from datetime import timedelta

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from reviewqueue import leases
from reviewqueue.audit.services import Actor, audit_record
from reviewqueue.outbound import OutboundURLRefused, outbound_client, send_checked
from reviewqueue.oversight.models import Tightening, TighteningNotice
from reviewqueue.sla.policy import policy_of, slack_webhook_url

logger = logging.getLogger(__name__)
SLACK_TIMEOUT = 5.0
LEASE = timedelta(seconds=60)  # longer than a try (5 s to Slack, the SMTP timeout): a lapsed lease is a dead worker
BACKOFF_BASE, BACKOFF_CAP = 60.0, 1800.0  # seconds: a minute, doubling, at most 30 minutes
MAX_ATTEMPTS = 8  # about two hours of trying
RETRY_BATCH = 100
SYSTEM_ACTOR = "oversight.spot_checks"


class _Permanent(Exception):
    """Another try cannot mend it (a refused URL, Slack saying the webhook is gone)."""


def tighten_message(mailbox_id: str, window: dict) -> str:
    reasons = window.get("safety_or_policy_reasons") or []
    why = f"; safety or policy reasons: {', '.join(reasons)}" if reasons else ""
    threshold = float(window["threshold"])
    return (
        f"reviewqueue tightened {mailbox_id} back to gated_send: {window['would_reject']} of the last "
        f"{window['checks']} spot checks would reject ({window['share']:.0%}; threshold {threshold:.0%})"
        f"{why}. Every email now waits for a person again."
    )


def escalation_channels_tell(tightening: Tightening, window: dict) -> dict[str, str]:
    """Queue and try at once a notice for each channel the mailbox's policy names ({} when none).
    Returns {channel: "told" | "retrying: why" | "failed: why"}."""
    policy, text = policy_of(tightening.mailbox_id), tighten_message(tightening.mailbox_id, window)
    channels = [
        name for name, on in (("email", bool(policy.notify_emails)), ("slack", bool(slack_webhook_url(policy)))) if on
    ]
    TighteningNotice.objects.bulk_create(
        [TighteningNotice(tightening=tightening, channel=channel, text=text) for channel in channels],
        ignore_conflicts=True,
    )
    notices = TighteningNotice.objects.filter(tightening=tightening, channel__in=channels).order_by("channel")
    return {notice.channel: notice_send(notice.pk) for notice in notices}


def notices_retry() -> int:
    """The spot-check sweep's re-drive: every notice due again (its backoff passed, or its lease lapsed)."""
    due = TighteningNotice.objects.filter(leases.due_q(timezone.now())).order_by("next_attempt_at")
    ids = list(due.values_list("pk", flat=True)[:RETRY_BATCH])
    return sum(notice_send(notice_id) == "told" for notice_id in ids)


def notice_send(notice_id: int) -> str:
    """One try, if the notice is due and nobody else has it: "told", "retrying: why" or "failed: why"."""
    if not leases.lease_take(TighteningNotice, notice_id, LEASE):
        return TighteningNotice.objects.filter(pk=notice_id).values_list("status", flat=True).first() or "missing"
    notice = TighteningNotice.objects.select_related("tightening").get(pk=notice_id)
    running = TighteningNotice.objects.filter(pk=notice.pk, status=TighteningNotice.Status.RUNNING)
    try:
        _tell(notice)
    except _Permanent as error:
        outcome, fields = f"failed: {error}", {"status": TighteningNotice.Status.FAILED}
    except Exception as error:  # SMTP, the network, Slack's 5xx and 429: another try may mend it
        reason = f"{type(error).__name__}: {error}"[:500]
        if notice.attempts >= MAX_ATTEMPTS:
            outcome, fields = f"failed: {reason}", {"status": TighteningNotice.Status.FAILED}
        else:
            delay = leases.backoff(notice.attempts, base=BACKOFF_BASE, cap=BACKOFF_CAP)
            outcome = f"retrying: {reason}"
            fields = {
                "status": TighteningNotice.Status.PENDING,
                "next_attempt_at": timezone.now() + timedelta(seconds=delay),
            }
        fields["last_error"] = reason
    else:
        outcome, fields = "told", {"status": TighteningNotice.Status.DONE, "done_at": timezone.now(), "last_error": ""}
    with transaction.atomic():
        running.update(locked_until=None, **fields)
        if notice.attempts > 1 and not outcome.startswith("retrying"):
            audit_record(
                actor=Actor.system(SYSTEM_ACTOR),
                action="oversight.tightening_told",
                target_type="mailbox",
                target_id=notice.tightening.mailbox_id,
                payload={"channel": notice.channel, "outcome": outcome, "attempts": notice.attempts},
            )
    if outcome != "told":
        logger.warning(
            "oversight: telling %s about tightening %s %s", notice.channel, notice.tightening.mailbox_id, outcome
        )
    return outcome


def _tell(notice: TighteningNotice) -> None:
    policy = policy_of(notice.tightening.mailbox_id)
    if notice.channel == "email":
        if not policy.notify_emails:
            raise _Permanent("the mailbox's policy names no e-mail any more")
        subject = f"{notice.tightening.mailbox_id} tightened to gated_send"
        send_mail(subject, notice.text, None, list(policy.notify_emails))  # SMTP errors: another try
        return
    url = slack_webhook_url(policy)
    if not url:
        raise _Permanent("the mailbox's policy names no Slack webhook any more")
    with outbound_client(timeout=SLACK_TIMEOUT) as client:
        try:
            response = send_checked(client, client.build_request("POST", url, json={"text": notice.text}))
        except OutboundURLRefused as error:
            raise _Permanent(f"refused: {error}") from error
    if response.status_code >= 500 or response.status_code == 429:
        raise RuntimeError(f"Slack answered {response.status_code}")
    if response.status_code >= 300:
        raise _Permanent(f"Slack answered {response.status_code}")
