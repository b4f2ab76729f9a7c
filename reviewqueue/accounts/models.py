import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


class Access(models.Model):
    """Holds no rows: it carries the permissions that the roles (groups) grant. See roles.py."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("review_drafts", "Work the review queue and decide drafts"),
            ("view_audit", "Read, search, export and verify the audit trail"),
            ("administer", "Manage mailboxes, routing, people, tokens and system health"),
        ]

    def __str__(self) -> str:
        return "role permissions"


def hash_token(raw: str) -> str:
    # Tokens are 256 random bits, so a fast unsalted hash is enough to make a stolen table useless.
    return hashlib.sha256(raw.encode()).hexdigest()


class HashedToken(models.Model):
    """A bearer token stored only as its hash; the raw value is shown once, when issued."""

    PREFIX = "rq_"

    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_hint = models.CharField(max_length=12, editable=False, help_text="the first characters, to recognise it")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @classmethod
    def new_raw_key(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ApiToken(HashedToken):
    """A person's own token for the review API: every decision made with it has that person behind it."""

    PREFIX = "rqp_"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.key_hint}…) of {self.user}"
