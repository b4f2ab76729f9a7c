"""Evidence for loosening a mailbox's oversight: daily rollups of decisions and the readiness policy.

A rollup row holds one UTC day of one mailbox and one kind of draft (intake's `kind`, "other" for
drafts that did not come through intake). The evidence page sums rows, so it reads a few thousand
narrow rows whatever the number of decisions behind them (rollups.py keeps them current).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from reviewqueue.leases import LeasedDelivery


class RollupCounts(models.Model):
    """One mailbox and kind of draft over a span (a day, a week): its decisions counted by outcome."""

    mailbox_id = models.CharField(max_length=128)
    kind = models.CharField(max_length=64)
    decisions = models.PositiveIntegerField(default=0)
    # One count per outcome (outcomes.OUTCOMES); every decision has exactly one.
    approved_unedited = models.PositiveIntegerField(default=0)
    approved_edited = models.PositiveIntegerField(default=0)
    changes_requested = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    expired = models.PositiveIntegerField(default=0)
    stale_catches = models.PositiveIntegerField(default=0)
    # {bucket: count} of the seconds from the draft's arrival to its decision (outcomes.wait_bucket):
    # percentiles of several days are read from the summed histogram, so they merge exactly per bucket.
    wait_histogram = models.JSONField(default=dict)
    # {reason: count} of the span's rejections by a person.
    rejection_reasons = models.JSONField(default=dict)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class DailyRollup(RollupCounts):
    day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "mailbox_id", "kind"], name="oversight_rollup_cell_once")]
        indexes = [models.Index(fields=["mailbox_id", "day"], name="oversight_rollup_mailbox_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.mailbox_id} {self.kind}: {self.decisions}"


class WeeklyRollup(RollupCounts):
    """The daily rollups of one week (Monday, UTC) of one mailbox and kind, summed: the evidence page's
    whole weeks read these, a few hundred rows for 12 weeks (rollups.py keeps them with the days)."""

    week = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["week", "mailbox_id", "kind"], name="oversight_weekly_cell_once")
        ]

    def __str__(self) -> str:
        return f"week of {self.week} {self.mailbox_id} {self.kind}: {self.decisions}"


class RollupState(models.Model):
    """How far the rollups have read: every decision with an id up to `decision_id` is in a rollup."""

    name = models.CharField(max_length=32, primary_key=True)
    decision_id = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ decision {self.decision_id}"


def default_blocking_reasons() -> list[str]:
    return ["Contains sensitive or internal data", "Promises something we cannot do", "Should not be sent by email"]


class ReadinessPolicy(models.Model):
    """The admin's bar a mailbox must clear before it is loosened. One row (pk 1), made with the defaults."""

    min_decisions = models.PositiveIntegerField(default=200)
    min_days = models.PositiveIntegerField(default=28, help_text="days since the mailbox's first decision")
    unedited_share = models.DecimalField(
        max_digits=5, decimal_places=2, default=98, help_text="percent approved unedited in the recent window"
    )
    recent_days = models.PositiveIntegerField(default=14)
    # A rejection whose reason is one of these, or names safety or policy, keeps the mailbox not ready.
    blocking_reasons = models.JSONField(default=default_blocking_reasons)
    require_verified_audit = models.BooleanField(
        default=True, help_text="the last verify_audit run found the chain intact"
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return "readiness policy"


class MonitoredSend(models.Model):
    """An email a loosened (monitored or autonomous) mailbox sent without waiting for a person, as the
    spot-check sweep learned it; `sampled` ones wait in the spot-check queue for a reviewer's verdict."""

    class Verdict(models.TextChoices):
        PENDING = "", "not checked yet"
        WOULD_APPROVE = "would_approve", "would approve"
        WOULD_REJECT = "would_reject", "would reject"

    email_id = models.CharField(max_length=128, unique=True)
    mailbox_id = models.CharField(max_length=128)
    to = models.JSONField(default=list)
    subject = models.TextField(blank=True)
    markdown = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(default=timezone.now)
    sampled = models.BooleanField(default=False)
    verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True, default="")
    reason = models.TextField(blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["sampled", "verdict", "seen_at"], name="oversight_spot_queue"),
            models.Index(fields=["mailbox_id", "checked_at"], name="oversight_spot_window"),
        ]

    def __str__(self) -> str:
        return f"{self.email_id} ({self.verdict or 'unchecked'})"


class Tightening(models.Model):
    """Spot checks tightened a mailbox back to gated_send. One row per trigger: the window's newest
    check is part of the key, so two sweeps finding the same window race for one row and one tighten."""

    mailbox_id = models.CharField(max_length=128)
    last_check_id = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    figures = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["mailbox_id", "last_check_id"], name="oversight_tighten_once")]

    def __str__(self) -> str:
        return f"tightened {self.mailbox_id} at check {self.last_check_id}"


class TighteningNotice(LeasedDelivery):
    """Telling one escalation channel (the mailbox's SLA policy: "email" or "slack") of a tighten, at
    least once with backoff (tighten_notify.py); the policy's current addresses are read at each try."""

    tightening = models.ForeignKey(Tightening, on_delete=models.CASCADE, related_name="notices")
    channel = models.CharField(max_length=8)
    text = models.TextField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tightening", "channel"], name="oversight_tighten_notice_once")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="oversight_notice_due")]

    def __str__(self) -> str:
        return f"telling {self.channel} of {self.tightening} ({self.status})"


class SpotCheckPolicy(models.Model):
    """A mailbox's spot-check settings (a mailbox without a row has the defaults)."""

    mailbox_id = models.CharField(max_length=128, unique=True)
    sample_rate = models.DecimalField(max_digits=4, decimal_places=3, default=0.1, help_text="share of sent emails")
    daily_minimum = models.PositiveIntegerField(default=5, help_text="spot checks a day at least")
    window = models.PositiveIntegerField(default=50, help_text="the last N spot checks the threshold reads")
    reject_share = models.DecimalField(
        max_digits=4, decimal_places=3, default=0.05, help_text="a 'would reject' share above this tightens"
    )

    def __str__(self) -> str:
        return f"spot checks of {self.mailbox_id}"


class MailboxCompliance(models.Model):
    """Whether a mailbox sends commercial mail: its drafts must then carry the account's physical address
    and an unsubscribe link (CAN-SPAM), or the queue flags them."""

    mailbox_id = models.CharField(max_length=128, unique=True)
    commercial = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.mailbox_id}: {'commercial' if self.commercial else 'transactional'}"


class AccountFacts(models.Model):
    """What MultiMail's GET /v1/account last said that the queue needs (one row, pk 1), read by the
    worker so no page waits on MultiMail."""

    physical_address = models.TextField(blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.physical_address or "(no physical address)"
