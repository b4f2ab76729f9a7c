from django.db import models


class InboundWebhook(models.Model):
    """One verified webhook delivery, stored once (deduplicated by source and delivery id)."""

    class Source(models.TextChoices):
        MULTIMAIL = "multimail"
        INTERCOM = "intercom"

    class Status(models.TextChoices):
        RECEIVED = "received"  # stored, handling enqueued
        PROCESSED = "processed"
        IGNORED = "ignored"  # a topic we do not act on; kept for the record
        FAILED = "failed"

    source = models.CharField(max_length=16, choices=Source.choices)
    delivery_id = models.CharField(max_length=128, help_text="the sender's delivery id, else a hash of the body")
    topic = models.CharField(max_length=100, blank=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "delivery_id"], name="inbound_webhook_once")]
        indexes = [models.Index(fields=["status", "received_at"])]

    def __str__(self) -> str:
        return f"{self.source} {self.topic} {self.delivery_id}"
