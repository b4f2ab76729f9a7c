import hashlib
import secrets
from datetime import timedelta

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
    """A person's own token for the review API: every decision made with it has that person behind it.

    Only its owner issues it (accounts/services.py: api_token_issue), and it stops working at expires_at.
    """

    PREFIX = "rqp_"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} ({self.key_hint}…) of {self.user}"

    @property
    def is_active(self) -> bool:
        return super().is_active and timezone.now() < self.expires_at


class ApiTokenPolicy(models.Model):
    """The longest lifetime an owner may give a personal API token, set by an admin. At most one row
    (pk 1); without it the defaults hold."""

    DEFAULT_DAYS = 90
    DEFAULT_MAX_DAYS = 365
    LIMIT_DAYS = 3650  # the longest maximum an admin may set

    max_days = models.PositiveIntegerField(default=DEFAULT_MAX_DAYS)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="api_token_policy_single_row")]

    def __str__(self) -> str:
        return f"personal tokens last at most {self.max_days} days"

    @classmethod
    def current(cls) -> "ApiTokenPolicy":
        return cls.objects.filter(pk=1).first() or cls(pk=1)

    @property
    def default_days(self) -> int:
        return min(self.DEFAULT_DAYS, self.max_days)

    def lifetime(self, days: int | None) -> timedelta:
        """The lifetime of a token its owner asked to last `days` (None: the default)."""
        days = self.default_days if days is None else days
        if not 1 <= days <= self.max_days:
            raise ValueError(f"a personal token lasts 1 to {self.max_days} days ({days} asked)")
        return timedelta(days=days)


class SsoIdentity(models.Model):
    """The person an identity provider's subject signs in as. Made at the first single sign-on: matched to an
    existing person by a verified email only, else a new person (accounts/oidc_backend.py)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identities")
    issuer = models.CharField(max_length=300)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_unique_subject")]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer} → {self.user}"


class UserSession(models.Model):
    """One signed-in session of a person, so admins can list and end them: Django's sessions are not
    indexed by person. Written at sign-in (accounts/sessions.py); a row whose session has expired or
    ended is not listed and is pruned."""

    class Method(models.TextChoices):
        PASSWORD = "password", "password"
        PASSWORD_TOTP = "password+totp", "password and authenticator code"
        PASSWORD_RECOVERY = "password+recovery", "password and recovery code"
        SSO = "sso", "single sign-on"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signed_in_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    method = models.CharField(max_length=24, choices=Method.choices)
    started_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"{self.user} since {self.started_at:%Y-%m-%d %H:%M} ({self.method})"


class RecoveryCode(models.Model):
    """A one-time code that stands in for the authenticator app. Shown once when made; stored only as
    its hash (80 random bits, so a fast hash is enough, as for tokens: accounts/mfa.py)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"recovery code of {self.user}{' (used)' if self.used_at else ''}"
