"""A person's digest preference, and one row per digest period handled (the once-per-period guard)."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class DigestPreference(models.Model):
    """Off, hourly or daily; at a time of day (daily) or minute past the hour (hourly), in the person's timezone."""

    class Frequency(models.TextChoices):
        OFF = "off", "Off"
        HOURLY = "hourly", "Hourly"
        DAILY = "daily", "Daily"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_preference")
    frequency = models.CharField(max_length=8, choices=Frequency.choices, default=Frequency.OFF)
    send_at = models.TimeField(help_text="local time of day (daily); its minute past each hour (hourly)")
    time_zone = models.CharField(max_length=64, default="UTC", help_text="an IANA name, e.g. Europe/Berlin")
    mailbox_ids = models.JSONField(default=list, blank=True, help_text="MultiMail mailbox ids; empty: every mailbox")
    # Digests are due from the first scheduled moment at or after this (set on every change), so
    # turning one on at 15:00 for 08:00 does not send this morning's at once.
    active_since = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["frequency"], name="digest_pref_frequency")]

    def __str__(self) -> str:
        return f"{self.frequency} digest for user {self.user_id}"


class DigestRun(models.Model):
    """One digest period of one person, handled: sent, or found empty and not sent.

    The unique (user, period_start) makes it once per period however many beat processes or
    retried tasks get there: the row commits together with the sending.
    """

    class Outcome(models.TextChoices):
        SENT = "sent"
        EMPTY = "empty"  # nothing waiting: no email

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_runs")
    period_start = models.DateTimeField(help_text="the scheduled moment this digest is for (UTC)")
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    drafts_waiting = models.PositiveIntegerField(default=0)
    drafts_overdue = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "period_start"], name="digest_run_once_per_period")]

    def __str__(self) -> str:
        return f"digest {self.outcome} for user {self.user_id} at {self.period_start:%Y-%m-%d %H:%M}"
