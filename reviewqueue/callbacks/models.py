"""Callbacks to the agents that submit drafts: one endpoint per intake token, one delivery per event.

The callback's URL and signing secret live here, one-to-one with routing.IntakeToken, so routing's
tables stay routing's. A delivery keeps the exact body it signs and sends and its webhook-id, both
the same on every attempt (Standard Webhooks: the id is the receiver's idempotency key).
"""

from django.db import models
from django.utils import timezone


class CallbackEndpoint(models.Model):
    token = models.OneToOneField("routing.IntakeToken", on_delete=models.CASCADE, related_name="callback")
    url = models.CharField(max_length=2000)
    # The whsec_… secret, encrypted at rest (routing/crypto.py, the field-encryption key).
    secret_encrypted = models.TextField()
    secret_hint = models.CharField(max_length=16, help_text="the secret's first characters, to tell secrets apart")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.url} (token {self.token_id})"


class CallbackDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "waiting to be sent"
        RUNNING = "running", "being sent"
        DELIVERED = "delivered", "delivered"
        FAILED = "failed", "failed"

    class Event(models.TextChoices):
        APPROVED = "draft.approved"
        REJECTED = "draft.rejected"
        CHANGES_REQUESTED = "draft.changes_requested"
        EXPIRED = "draft.expired"  # sla's sweep rejected it as the system: nobody decided within the expiry
        SENT = "draft.sent"
        DELIVERED = "draft.delivered"
        BOUNCED = "draft.bounced"

    token = models.ForeignKey("routing.IntakeToken", on_delete=models.PROTECT, related_name="callback_deliveries")
    # The draft the agent submitted (for an approval with edits: that one, not the edited copy).
    draft = models.ForeignKey("review.Draft", on_delete=models.PROTECT, related_name="callback_deliveries")
    event = models.CharField(max_length=32, choices=Event.choices)
    webhook_id = models.CharField(max_length=64, unique=True)
    body = models.TextField(help_text="the exact JSON sent and signed, the same on every attempt")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)
    retry_until = models.DateTimeField(help_text="retries stop after the first failure past this time")
    last_error = models.TextField(blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    redeliveries = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # A signal sent twice (an outbox step re-driven after a killed worker) queues one callback.
            models.UniqueConstraint(fields=["draft", "event"], name="callback_delivery_once_per_event"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="callback_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event} for draft {self.draft_id} ({self.status})"
