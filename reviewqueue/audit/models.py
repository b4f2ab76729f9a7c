from django.contrib.postgres.search import SearchVectorField
from django.db import models


class AuditEvent(models.Model):
    """One entry of the append-only, hash-chained log. Written only by audit.services.audit_record."""

    class ActorType(models.TextChoices):
        PERSON = "person"
        TOKEN = "token"
        SYSTEM = "system"
        ANONYMOUS = "anonymous"

    seq = models.BigIntegerField(primary_key=True)
    created_at = models.DateTimeField()
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=255, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=128, blank=True)
    payload = models.JSONField(default=dict)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        # A constraint rather than unique=True: that would add a second, pattern-operator index on
        # the hash (119 MB at 1,000,000 events, paid on every append) that no query uses.
        constraints = [models.UniqueConstraint(fields=["hash"], name="audit_event_hash_unique")]
        indexes = [
            # Pattern operators, so an action prefix ("role.") is an index range too (equality still
            # is): with the default operators a rare prefix read the whole log (5 s at 1,000,000).
            models.Index(
                fields=["action", "seq"], name="audit_event_action_seq", opclasses=["varchar_pattern_ops", "int8_ops"]
            ),
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["actor_type", "actor_id"]),
            models.Index(fields=["created_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.target_type}:{self.target_id}"

    def save(self, *args, **kwargs):
        # The log is append-only: an existing row is never saved again (the database refuses too).
        if not self._state.adding:
            raise AuditLogIsAppendOnly(f"audit event #{self.seq} cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogIsAppendOnly(f"audit event #{self.seq} cannot be deleted")


class AuditReasonSearch(models.Model):
    """The reasons of events as search documents, in a narrow table so a search for a common word
    reads a few pages instead of every matching wide event row. Filled by a database trigger on
    each insert into the log (migration 0007); never written from Python."""

    seq = models.BigIntegerField(db_index=True)
    document = SearchVectorField()

    def __str__(self) -> str:
        return f"reasons of #{self.seq}"


class AuditLogIsAppendOnly(Exception):
    pass


class AuditCheckpoint(models.Model):
    """A signed (seq, head hash) pair: a later, shorter or rewritten chain no longer contains it."""

    seq = models.BigIntegerField()
    head_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    signature = models.CharField(max_length=64)
    # Which key signed it (reviewqueue/keys.py), so a retired key still verifies it after a rotation;
    # empty on checkpoints signed before keys had ids.
    key_id = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        ordering = ["-seq", "-id"]
        get_latest_by = ["seq", "id"]

    def __str__(self) -> str:
        return f"checkpoint #{self.seq} {self.head_hash[:12]}"


class AuditVerification(models.Model):
    """One run of the chain verification, for the auditor pages."""

    class Status(models.TextChoices):
        RUNNING = "running"
        INTACT = "intact"
        BROKEN = "broken"
        FAILED = "failed"  # the run itself could not finish (e.g. the database went away)

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    events_checked = models.BigIntegerField(default=0)
    head_seq = models.BigIntegerField(null=True, blank=True)
    first_bad_seq = models.BigIntegerField(null=True, blank=True)
    problem = models.CharField(max_length=32, blank=True)
    detail = models.TextField(blank=True)
    started_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_by_label = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"verification {self.pk} {self.status}"


class ReconciliationState(models.Model):
    """Where the reading of MultiMail's audit log stopped (one row per source)."""

    source = models.CharField(max_length=32, primary_key=True)
    cursor = models.CharField(max_length=512, blank=True)
    # A read that ran out of pages before the mark (`cursor`): the page to go on from, and the newest entry of
    # that read (the mark once the rest is read). Empty when the last read was complete.
    resume_cursor = models.CharField(max_length=512, blank=True, default="")
    resume_newest = models.CharField(max_length=512, blank=True, default="")
    last_run_at = models.DateTimeField(null=True, blank=True)
    # Our decisions made up to here have been checked against MultiMail's log (reconcile.py).
    checked_through = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.source} @ {self.cursor or 'start'}"


class MultiMailDecision(models.Model):
    """A decide entry read from MultiMail's audit log, kept so later runs can match it."""

    entry_id = models.CharField(max_length=128, unique=True)
    email_id = models.CharField(max_length=128, db_index=True)
    action = models.CharField(max_length=64)
    actor_key_id = models.CharField(max_length=128, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)  # when a run matched it against our decisions

    class Meta:
        indexes = [
            models.Index(fields=["id"], condition=models.Q(checked_at__isnull=True), name="audit_mmdecision_unchecked")
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.email_id}"


class ReconciliationFinding(models.Model):
    """A disagreement between our decisions and MultiMail's audit log."""

    class Kind(models.TextChoices):
        OUTSIDE_REVIEWQUEUE = "outside_reviewqueue", "Decided outside reviewqueue"
        NOT_AT_MULTIMAIL = "not_at_multimail", "Not recorded by MultiMail"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    email_id = models.CharField(max_length=128)
    found_at = models.DateTimeField()
    event_seq = models.BigIntegerField(null=True, blank=True)  # our draft.decided event, when there is one
    multimail_entry_id = models.CharField(max_length=128, blank=True)
    multimail_action = models.CharField(max_length=64, blank=True)
    detail = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)  # set when a later run finds the match

    class Meta:
        ordering = ["-found_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["kind", "email_id"], name="audit_finding_once_per_email")]

    def __str__(self) -> str:
        return f"{self.kind} {self.email_id}"
