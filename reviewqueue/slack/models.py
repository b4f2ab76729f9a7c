"""Which Slack channel a mailbox's review requests go to, and each message's delivery (post, update)."""

from django.db import models
from django.utils import timezone

from reviewqueue.leases import LeasedDelivery


class SlackChannel(models.Model):
    """A mailbox (MultiMail's id, as Draft.mailbox_id) whose held drafts are posted to `channel`."""

    mailbox_id = models.CharField(max_length=128, unique=True)
    channel = models.CharField(max_length=80, help_text="Slack channel id (C…) or name")
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.mailbox_id} → {self.channel}"


class SlackDelivery(LeasedDelivery):
    """One Web API call about one draft: its review request (post) or, once decided, the edit (update).

    Unique per (draft, kind): however often a signal or the sweep asks, a draft gets one post and one
    update. The update waits for the post's `ts`. Status, attempts, lease and times: LeasedDelivery.
    """

    class Kind(models.TextChoices):
        POST = "post"
        UPDATE = "update"

    draft = models.ForeignKey("review.Draft", on_delete=models.PROTECT, related_name="slack_deliveries")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    channel = models.CharField(max_length=80)
    ts = models.CharField(max_length=32, blank=True, help_text="the posted message's ts (post, once done)")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["draft", "kind"], name="slack_delivery_once_per_kind")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="slack_delivery_due")]

    def __str__(self) -> str:
        return f"slack {self.kind} of draft {self.draft_id} ({self.status})"
