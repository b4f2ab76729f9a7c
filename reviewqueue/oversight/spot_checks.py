"""Spot checks after loosening: a monitored (or autonomous) mailbox sends without waiting, so the sweep
learns what it sent (MultiMail's list of the mailbox's sent emails), samples it into a queue where a
reviewer says "would approve" or "would reject", and tightens the mailbox back to gated_send when the
window's "would reject" share passes its threshold, or a rejection names a safety or policy reason.

Tightening happens once per trigger: the Tightening row (mailbox, the window's newest check) is claimed
before MultiMail is asked, so two sweeps that find the same window make one PATCH and one audit event.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from reviewqueue.audit.services import Actor, RequestOrigin, audit_record
from reviewqueue.integrations.multimail import client as multimail
from reviewqueue.integrations.multimail.errors import MultiMailError
from reviewqueue.oversight.models import MonitoredSend, SpotCheckPolicy, Tightening
from reviewqueue.oversight.readiness import is_blocking_reason, policy_current
from reviewqueue.oversight.tighten_notify import escalation_channels_tell, notices_retry
from reviewqueue.review.models import Draft
from reviewqueue.routing.models import Mailbox, OversightMode, sent_without_review
from reviewqueue.routing.services import mailbox_oversight_tighten

logger = logging.getLogger(__name__)
SENT_STATUS = "approved_and_sent"
PAGE_SIZE = 100
MAX_PAGES = 5  # a sweep reads at most 500 new sends a mailbox; the next sweep goes on
SYSTEM_ACTOR = "oversight.spot_checks"


class SpotCheckTaken(Exception):
    """Someone else recorded this spot check first."""


def spot_policy(mailbox_id: str) -> SpotCheckPolicy:
    return SpotCheckPolicy.objects.filter(mailbox_id=mailbox_id).first() or SpotCheckPolicy(mailbox_id=mailbox_id)


# --- learning what was sent ------------------------------------------------------------------------------


def _in_sample(email_id: str, rate: Decimal) -> bool:
    """A fixed draw per email (its id hashed), so a sweep run twice samples the same emails."""
    draw = int(hashlib.sha256(email_id.encode()).hexdigest()[:8], 16) / 0x100000000
    return draw < float(rate)


def _sampled_today(mailbox_id: str) -> int:
    midnight = datetime.combine(timezone.now().astimezone(UTC).date(), time.min, tzinfo=UTC)
    return MonitoredSend.objects.filter(mailbox_id=mailbox_id, sampled=True, seen_at__gte=midnight).count()


def sends_learn(mailbox_id: str) -> int:
    """Record the mailbox's sent emails not seen yet, newest first, sampling them; returns how many were new."""
    client, policy = multimail.get_multimail_client(), spot_policy(mailbox_id)
    cursor, learned = None, 0
    for _ in range(MAX_PAGES):
        page = client.list_emails(mailbox_id=mailbox_id, status=SENT_STATUS, limit=PAGE_SIZE, cursor=cursor)
        ids = [email.id for email in page.emails]
        known = set(MonitoredSend.objects.filter(email_id__in=ids).values_list("email_id", flat=True))
        known |= set(Draft.objects.filter(email_id__in=ids).values_list("email_id", flat=True))  # reviewed here
        fresh = [email for email in page.emails if email.id not in known]
        for email in fresh:
            learned += _send_record(client, mailbox_id, email, policy)
        if len(fresh) < len(ids) or not page.cursor:
            break  # reached what earlier sweeps saw
        cursor = page.cursor
    return learned


def _send_record(client, mailbox_id: str, summary, policy: SpotCheckPolicy) -> int:
    """Record one sent email once, sampled or not (`summary`: an EmailSummary, or the Email itself).

    The row's unique email_id makes it once per email whoever sees it first, the poll or the webhook:
    the loser's get_or_create finds the winner's row and changes nothing."""
    sampled = _in_sample(summary.id, policy.sample_rate) or _sampled_today(mailbox_id) < policy.daily_minimum
    markdown = getattr(summary, "markdown", None)
    if sampled and markdown is None:
        markdown = client.get_email(mailbox_id=mailbox_id, email_id=summary.id).markdown
    _, created = MonitoredSend.objects.get_or_create(
        email_id=summary.id,
        defaults={
            "mailbox_id": mailbox_id,
            "to": summary.to,
            "subject": summary.subject,
            "markdown": (markdown or "") if sampled else "",
            "sent_at": summary.received_at,
            "sampled": sampled,
        },
    )
    return int(created)


def send_heard(*, email_id: str, mailbox_id: str, draft_id: int | None, at=None, **_) -> bool:
    """review's `email_sent` signal (MultiMail's message.sent webhook): learn a loosened mailbox's send
    now rather than at the next sweep. Our own drafts were reviewed here and are not spot-checked.
    True when the send was recorded (now or before); a MultiMail error is left to the sweep."""
    if draft_id is not None or not email_id:
        return False
    mailbox = Mailbox.objects.filter(mailbox_id=mailbox_id, is_active=True).first()
    if mailbox is None or not sent_without_review(mailbox.oversight_mode):
        return False
    if MonitoredSend.objects.filter(email_id=email_id).exists():
        return True  # the poll or an earlier delivery of the webhook learned it
    client = multimail.get_multimail_client()
    email = client.get_email(mailbox_id=mailbox_id, email_id=email_id)
    _send_record(client, mailbox_id, email, spot_policy(mailbox_id))
    return True


# --- a reviewer's verdict ---------------------------------------------------------------------------------


def spot_check_record(
    *, user, send_id: int, verdict: str, reason: str = "", origin: RequestOrigin | None = None
) -> MonitoredSend:
    if verdict not in (MonitoredSend.Verdict.WOULD_APPROVE, MonitoredSend.Verdict.WOULD_REJECT):
        raise ValueError("verdict must be would_approve or would_reject")
    if verdict == MonitoredSend.Verdict.WOULD_REJECT and not reason.strip():
        raise ValueError("a 'would reject' needs a reason")
    with transaction.atomic():
        changed = MonitoredSend.objects.filter(pk=send_id, sampled=True, verdict="").update(
            verdict=verdict, reason=reason.strip(), checked_by=user, checked_at=timezone.now()
        )
        if not changed:
            raise SpotCheckTaken("this spot check has already been recorded")
        send = MonitoredSend.objects.get(pk=send_id)
        audit_record(
            actor=Actor.person(user),
            action="oversight.spot_checked",
            target_type="email",
            target_id=send.email_id,
            payload={"mailbox_id": send.mailbox_id, "verdict": verdict, "reason": send.reason},
            origin=origin,
        )
    return send


# --- tightening ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    checks: int
    would_reject: int
    blocking_reasons: list[str]
    last_check_id: int | None
    threshold: Decimal

    @property
    def share(self) -> float:
        return self.would_reject / self.checks if self.checks else 0.0

    @property
    def tripped(self) -> bool:
        return bool(self.checks) and (self.share > float(self.threshold) or bool(self.blocking_reasons))

    def as_dict(self) -> dict:
        return {"checks": self.checks, "would_reject": self.would_reject, "share": round(self.share, 4),
                "threshold": str(self.threshold), "safety_or_policy_reasons": self.blocking_reasons,
                "last_check_id": self.last_check_id}  # fmt: skip


def spot_window(mailbox_id: str) -> Window:
    policy = spot_policy(mailbox_id)
    checks = list(
        MonitoredSend.objects.filter(mailbox_id=mailbox_id, sampled=True).exclude(verdict="")
        .order_by("-checked_at", "-id").values_list("id", "verdict", "reason")[: policy.window]
    )  # fmt: skip
    rejects = [reason for _, verdict, reason in checks if verdict == MonitoredSend.Verdict.WOULD_REJECT]
    readiness = policy_current()
    blocking = [reason for reason in rejects if is_blocking_reason(reason, readiness)]
    last = max((check_id for check_id, _, _ in checks), default=None)
    return Window(len(checks), len(rejects), blocking, last, policy.reject_share)


def spot_checks_evaluate(mailbox_id: str) -> Tightening | None:
    """Tighten the mailbox back to gated_send if its window trips; None when nothing was done (here)."""
    mailbox = Mailbox.objects.filter(mailbox_id=mailbox_id).first()
    if mailbox is None or not sent_without_review(mailbox.oversight_mode):
        return None
    window = spot_window(mailbox_id)
    if not window.tripped:
        return None
    try:
        with transaction.atomic():
            claim = Tightening.objects.create(mailbox_id=mailbox_id, last_check_id=window.last_check_id,
                                              figures=window.as_dict())  # fmt: skip
    except IntegrityError:
        return None  # another sweep took this trigger
    actor, loosened_mode = Actor.system(SYSTEM_ACTOR), mailbox.oversight_mode
    try:
        mailbox_oversight_tighten(mailbox=mailbox, oversight_mode=OversightMode.GATED_SEND, actor=actor)
    except MultiMailError:
        Tightening.objects.filter(pk=claim.pk).delete()  # not done: the next sweep tries again
        logger.exception("oversight: tightening %s failed", mailbox_id)
        raise
    told = escalation_channels_tell(claim, window.as_dict())  # at least once: the sweep retries what failed
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="oversight.tightened",
            target_type="mailbox",
            target_id=mailbox_id,
            payload={"from": loosened_mode, "to": "gated_send", **window.as_dict(), "told": told},
        )
    return claim


def spot_sweep() -> dict:
    """Every loosened mailbox: learn its sends, then check its window (the beat task, each minute)."""
    learned, tightened = 0, 0
    for mailbox in Mailbox.objects.filter(is_active=True):
        if not sent_without_review(mailbox.oversight_mode):
            continue
        try:
            learned += sends_learn(mailbox.mailbox_id)
            tightened += spot_checks_evaluate(mailbox.mailbox_id) is not None
        except MultiMailError:
            logger.warning("oversight: spot-check sweep of %s failed; the next sweep tries again", mailbox.mailbox_id)
    return {"learned": learned, "tightened": tightened, "told_again": notices_retry()}


@dataclass(frozen=True)
class SpotSummary:
    mailbox_id: str
    sends: int
    sampled: int
    waiting: int
    window: Window

    def as_dict(self) -> dict:
        return {"mailbox_id": self.mailbox_id, "sends_seen": self.sends, "sampled": self.sampled,
                "waiting": self.waiting, "window": self.window.as_dict()}  # fmt: skip


def spot_summaries(mailbox_ids: list[str] | None = None) -> list[SpotSummary]:
    """Per mailbox with spot checks (or those given): what was seen, sampled, still waiting, and the window."""
    sends = MonitoredSend.objects.order_by().values("mailbox_id")
    if mailbox_ids is not None:
        sends = sends.filter(mailbox_id__in=mailbox_ids)
    counts = sends.annotate(
        n_sends=Count("id"),
        n_sampled=Count("id", filter=Q(sampled=True)),
        n_waiting=Count("id", filter=Q(sampled=True, verdict="")),
    )
    return [
        SpotSummary(r["mailbox_id"], r["n_sends"], r["n_sampled"], r["n_waiting"], spot_window(r["mailbox_id"]))
        for r in sorted(counts, key=lambda row: row["mailbox_id"])
    ]
