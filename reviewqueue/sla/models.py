"""Per-mailbox policy (decision target, expiry, four-eyes, escalation channels) and what it sets off.

Invariants live here as constraints: one policy per mailbox, one escalation per draft (the sweep's
claim: INSERT … ON CONFLICT DO NOTHING, so several beat processes or a restarted worker escalate a
draft once), one delivery per escalation and channel, one first approval per draft.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from reviewqueue.leases import LeasedDelivery


class MailboxPolicy(models.Model):
    """What a mailbox asks of its drafts. Empty durations mean "none": no target, no expiry."""

    APPROVALS_CHOICES = [(1, "1 approval"), (2, "2 approvals (four-eyes)")]

    # MultiMail's mailbox id (routing.Mailbox.mailbox_id, review.Draft.mailbox_id): the drafts carry it.
    mailbox_id = models.CharField(max_length=100, unique=True)
    target = models.DurationField(null=True, blank=True, help_text="wait after which a draft is overdue")
    expiry = models.DurationField(null=True, blank=True, help_text="wait after which a draft is rejected")
    approvals_required = models.PositiveSmallIntegerField(default=1, choices=APPROVALS_CHOICES)
    # Fernet token of the Slack incoming-webhook URL (routing/crypto.py): whoever holds it can post.
    slack_webhook_encrypted = models.TextField(blank=True, editable=False)
    slack_webhook_hint = models.CharField(max_length=80, blank=True, help_text="the URL with its secret path cut")
    notify_emails = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(approvals_required__in=[1, 2]), name="sla_policy_approvals_1_or_2"
            ),
            models.CheckConstraint(
                condition=models.Q(target__gt=timedelta(0)) | models.Q(target__isnull=True),
                name="sla_policy_target_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(expiry__gt=timedelta(0)) | models.Q(expiry__isnull=True),
                name="sla_policy_expiry_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"policy of {self.mailbox_id}"

    @property
    def has_slack(self) -> bool:
        return bool(self.slack_webhook_encrypted)


class Escalation(models.Model):
    """A draft went past its mailbox's decision target and people were told: once per draft."""

    draft = models.OneToOneField("review.Draft", on_delete=models.PROTECT, related_name="escalation")
    mailbox_id = models.CharField(max_length=100)
    overdue_since = models.DateTimeField(help_text="when the draft passed its target")
    target = models.DurationField(help_text="the target in force when it was escalated")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["mailbox_id", "-created_at"])]

    def __str__(self) -> str:
        return f"escalation of draft {self.draft_id}"


class EscalationDelivery(LeasedDelivery):
    """One channel's message about an escalation, carried out at least once with backoff (like the outbox).

    Status, attempts, lease and times come from LeasedDelivery; FAILED is shown on the mailbox page.
    """

    class Channel(models.TextChoices):
        SLACK = "slack"
        EMAIL = "email"

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    mailbox_id = models.CharField(max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["escalation", "channel"], name="sla_delivery_once_per_channel")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="sla_delivery_due"),
            models.Index(fields=["mailbox_id", "status"], name="sla_delivery_mailbox"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} delivery of escalation {self.escalation_id} ({self.status})"


class FirstApproval(models.Model):
    """Four-eyes: the first of two approvals a draft of a 2-approval mailbox needs. One per draft.

    The second approval, by someone else, becomes the draft's Decision and names this one.
    """

    draft = models.OneToOneField("review.Draft", on_delete=models.PROTECT, related_name="first_approval")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approver_username = models.CharField(max_length=150)
    approver_name = models.CharField(max_length=300, blank=True)
    approver_email = models.CharField(max_length=320, blank=True)
    approved_at = models.DateTimeField(default=timezone.now)
    origin = models.CharField(max_length=16)
    content_hash = models.CharField(max_length=64, blank=True)
    snapshot_id = models.BigIntegerField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)

    def __str__(self) -> str:
        return f"first approval of draft {self.draft_id} by {self.approver_username}"

    @property
    def approver_label(self) -> str:
        return self.approver_name or self.approver_username
