"""Mailboxes (a mirror of MultiMail's), routing rule versions, intake tokens and intake records."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from reviewqueue.accounts.models import HashedToken


class OversightMode(models.TextChoices):
    """MultiMail's modes, from the most oversight to the least (this order is the risk order)."""

    READ_ONLY = "read_only", "read_only — cannot send at all"
    GATED_ALL = "gated_all", "gated_all — every inbound and outbound email waits for a person"
    GATED_SEND = "gated_send", "gated_send — every outbound email waits for a person"
    MONITORED = "monitored", "monitored — email leaves at once; people are told afterwards"
    AUTONOMOUS = "autonomous", "autonomous — email leaves at once; nobody is told"


OVERSIGHT_ORDER = [mode.value for mode in OversightMode]


def oversight_rank(mode: str) -> int:
    """0 for the strictest mode; an unknown mode ranks as the loosest, so nothing is mistaken for safe."""
    return OVERSIGHT_ORDER.index(mode) if mode in OVERSIGHT_ORDER else len(OVERSIGHT_ORDER)


def sent_without_review(mode: str) -> bool:
    """Whether email sent from a mailbox in `mode` leaves without a person's yes (looser than gated_send)."""
    return oversight_rank(mode) > oversight_rank(OversightMode.GATED_SEND)


class Mailbox(models.Model):
    """A MultiMail mailbox as MultiMail last reported it, plus our webhook subscription for it."""

    mailbox_id = models.CharField(max_length=100, unique=True)
    address = models.CharField(max_length=320)
    display_name = models.CharField(max_length=200, blank=True)
    oversight_mode = models.CharField(max_length=32, blank=True)
    webhook_url = models.CharField(max_length=1000, blank=True)
    is_active = models.BooleanField(default=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    webhook_subscription_id = models.CharField(max_length=100, blank=True)
    # Fernet token of the whsec_ signing secret (routing/crypto.py); never shown, never logged.
    webhook_secret_encrypted = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["address"]

    def __str__(self) -> str:
        return self.address or self.mailbox_id


class RoutingRuleSet(models.Model):
    """One saved version of the routing rules. Versions are never changed; the newest is active.

    `rules` is an ordered list of {kind, intercom_team, conversation_tag, recipient_domain, mailbox_id};
    an empty criterion matches anything; the first matching rule wins, else default_mailbox_id.
    """

    BASELINE_MODE = OversightMode.GATED_SEND.value

    version = models.PositiveIntegerField(unique=True)
    rules = models.JSONField(default=list)
    default_mailbox_id = models.CharField(max_length=100)
    # {mailbox_id: its oversight mode} for every mailbox these rules route to, as mirrored when they were
    # saved: intake refuses to send to one that has since become looser (versions saved before this was
    # recorded hold {}, read as gated_send).
    mailbox_modes = models.JSONField(default=dict)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"routing v{self.version}"

    def saved_mode(self, mailbox_id: str) -> str:
        return self.mailbox_modes.get(mailbox_id, self.BASELINE_MODE)


class IntakeToken(HashedToken):
    """A token for an AI agent (e.g. an Intercom Fin data connector) to submit drafts."""

    PREFIX = "rqi_"

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # The kinds of draft the agent may submit (a draft without a kind is always allowed): routing rules
    # match on kind, so an agent must not pick its way to any mailbox by naming a kind.
    kinds = models.JSONField(default=list)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_hint}…)"


class IntakeRecord(models.Model):
    """One intake request: how it was routed, what MultiMail answered, the draft it became.

    The row exists (under its unique idempotency key) before MultiMail is called, so concurrent
    retries of the same request queue on its lock and get the first one's result.
    """

    idempotency_key = models.CharField(max_length=80, unique=True)
    request_hash = models.CharField(max_length=64)
    token = models.ForeignKey(IntakeToken, on_delete=models.PROTECT, related_name="records")
    conversation_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=64, blank=True)
    # The facts routing looked at (kind, team, tags, recipient domains), kept for dry runs.
    facts = models.JSONField(default=dict)
    mailbox_id = models.CharField(max_length=100, blank=True)
    routing_version = models.ForeignKey(RoutingRuleSet, null=True, blank=True, on_delete=models.PROTECT)
    email_id = models.CharField(max_length=100, blank=True)
    # The review Draft's primary key (a plain integer: the review app owns that table).
    draft_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["-created_at"]),
            models.Index(fields=["conversation_id"]),
            # The draft's intake record: the callbacks' token_of, revisions' "submitted by this token".
            models.Index(fields=["draft_id"], name="intakerecord_draft"),
        ]

    def __str__(self) -> str:
        return f"intake {self.conversation_id} → {self.email_id or 'not sent'}"
