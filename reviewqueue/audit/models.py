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
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["action", "seq"]),
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


class AuditLogIsAppendOnly(Exception):
    pass
