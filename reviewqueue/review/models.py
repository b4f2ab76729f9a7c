"""Drafts held in MultiMail, the claims on them, the one decision each gets, and the outbox that carries it out.

Invariants live here as constraints: one draft per MultiMail email id, one claim per draft, one
decision per draft. Every write goes through the review services (review/ingest.py, poll.py,
claims.py, decisions.py, events.py, outbox_admin.py).
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone

MULTIMAIL_STATUS_LENGTH = 64  # Draft.email_status and Decision.carried_out_status


def multimail_status_to_store(status: str) -> str:
    """MultiMail's statuses are short words, but a status is only its answer: cut to the column."""
    return status[:MULTIMAIL_STATUS_LENGTH]


class Draft(models.Model):
    """An outbound email MultiMail holds for approval, with what the reviewer needs beside it."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"  # waiting for a person
        DECIDED = "decided", "decided"  # decided here; see its Decision
        DECIDED_ELSEWHERE = "decided_elsewhere", "decided elsewhere"  # left MultiMail's pending list without us
        FAILED = "failed", "failed"  # could not be fetched from MultiMail (fetch_error says why)
        # The version the outbox sent for an "approved with edits" decision on `edit_of`: that
        # decision approves it, so it is never reviewed again (unless its content differs: PENDING, flagged).
        EDITED_VERSION = "edited_version", "edited version"

    class Source(models.TextChoices):
        WEBHOOK = "webhook"
        POLL = "poll"
        INTAKE = "intake"

    class ConversationLink(models.TextChoices):
        INTAKE = "intake"  # the agent named the conversation when it submitted the draft
        TAG = "tag"  # the email's intercom_conversation_id tag
        GUESS = "guess"  # the recipient's most recent open conversation, found by search
        NONE = "", "none"

    email_id = models.CharField(max_length=128, unique=True)
    mailbox_id = models.CharField(max_length=128)
    mailbox_address = models.CharField(max_length=320, blank=True)
    mailbox_display_name = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING)

    # The email as MultiMail holds it (GET /v1/mailboxes/{id}/emails/{email_id}).
    from_address = models.CharField(max_length=320, blank=True, help_text="the sender identity a recipient sees")
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list)
    subject = models.TextField(blank=True)
    markdown = models.TextField(blank=True)
    attachments = models.JSONField(default=list, help_text="[{name, content_type, size}]")
    tags = models.JSONField(default=dict)
    spam_verdict = models.CharField(max_length=64, blank=True)
    spam_score = models.FloatField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True, help_text="when MultiMail received the draft")
    email_status = models.CharField(
        max_length=MULTIMAIL_STATUS_LENGTH, blank=True, help_text="MultiMail's status, as last read"
    )
    thread_id = models.CharField(max_length=128, blank=True)
    content_hash = models.CharField(max_length=64, blank=True, help_text="sha256 of the exact content shown")
    fetched_at = models.DateTimeField(null=True, blank=True)
    fetch_error = models.TextField(blank=True)

    # The Intercom conversation it answers.
    conversation_id = models.CharField(max_length=64, blank=True)
    conversation_link = models.CharField(max_length=8, choices=ConversationLink.choices, blank=True, default="")
    # intercom.ConversationSnapshot id (kept as a plain id: snapshots are owned by the Intercom app).
    snapshot_id = models.BigIntegerField(null=True, blank=True, help_text="the conversation snapshot taken at ingest")
    latest_snapshot_id = models.BigIntegerField(null=True, blank=True)
    # The version number the routing pages show (RoutingRuleSet.version), not a key: rule sets are routing's.
    routing_version_number = models.BigIntegerField(null=True, blank=True, help_text="routing.RoutingRuleSet version")
    # The queue's sort key: the conversation's waiting_since, else when the draft arrived.
    waiting_since = models.DateTimeField(default=timezone.now)

    # Flags (computed at ingest and whenever the conversation changes).
    flag_customer_replied = models.BooleanField(default=False, help_text="customer replied after the draft")
    flag_recipient_not_contact = models.BooleanField(default=False)
    flag_spam = models.BooleanField(default=False, help_text="spam verdict not clean")
    flag_attachments = models.BooleanField(default=False)
    flag_unknown_links = models.BooleanField(default=False, help_text="links to domains not seen in the conversation")
    unknown_link_domains = models.JSONField(default=list)

    # What happened after (decided elsewhere, delivery, bounce, reply).
    status_detail = models.TextField(blank=True, help_text="what MultiMail says, for decided-elsewhere drafts")
    delivered_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    bounce_type = models.CharField(max_length=64, blank=True)
    reply_received_at = models.DateTimeField(null=True, blank=True)

    # The revision loop: an agent's new version of a draft whose changes were requested (intake's revision_of).
    revision_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="revisions", help_text="previous version"
    )
    revision_number = models.PositiveSmallIntegerField(default=1, help_text="1: a first version; n: the nth")
    # Edit, then approve: the original draft this email is the edited version of (review/edits.py).
    edit_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="edited_versions")
    flag_edit_mismatch = models.BooleanField(
        default=False, help_text="an edited version whose content is not the edit that was approved: for a person"
    )

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    FLAG_FIELDS = (
        "flag_customer_replied",
        "flag_recipient_not_contact",
        "flag_spam",
        "flag_attachments",
        "flag_unknown_links",
        "flag_edit_mismatch",
    )

    class Meta:
        indexes = [
            models.Index(fields=["status", "waiting_since", "id"], name="draft_queue"),
            models.Index(fields=["status", "mailbox_id", "waiting_since"], name="draft_queue_mailbox"),
            models.Index(fields=["conversation_id", "status"], name="draft_conversation"),
            # The SLA expiry scan (sla/sweep.py _EXPIRED_SQL): a mailbox's pending drafts held since
            # before now - expiry, oldest first. Held since is MultiMail's received_at, else created_at.
            models.Index(
                "mailbox_id",
                Coalesce("received_at", "created_at"),
                condition=models.Q(status="pending"),
                name="draft_pending_held_since",
            ),
        ]

    def __str__(self) -> str:
        return f"draft {self.pk} ({self.email_id})"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    @property
    def flags(self) -> list[str]:
        """The set flags by short name: customer_replied, recipient_not_contact, spam, attachments, unknown_links."""
        return [name.removeprefix("flag_") for name in self.FLAG_FIELDS if getattr(self, name)]


class Claim(models.Model):
    """A reviewer's hold on a draft. One per draft; it expires at expires_at (CLAIM_TTL after claiming)."""

    draft = models.OneToOneField(Draft, on_delete=models.CASCADE, related_name="claim")
    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="claims")
    claimed_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["holder", "expires_at"])]

    def __str__(self) -> str:
        return f"claim on draft {self.draft_id} by {self.holder_id}"

    def is_live(self, now=None) -> bool:
        return self.expires_at > (now or timezone.now())


class Decision(models.Model):
    """The one decision on a draft, with who made it, from where, and on which evidence.

    What was decided never changes: PostgreSQL refuses an UPDATE of any column but the
    `carried_out_*` ones, and any DELETE (migration 0004_decision_immutable).
    """

    class Action(models.TextChoices):
        APPROVE = "approve"
        REJECT = "reject"
        REQUEST_CHANGES = "request_changes"

    class Origin(models.TextChoices):
        """The surface the decision was made in (SYSTEM: made by reviewqueue itself, e.g. expiry)."""

        WEB = "web"
        API = "api"
        SYSTEM = "system"
        INTERCOM = "intercom"
        SLACK = "slack"

    draft = models.OneToOneField(Draft, on_delete=models.PROTECT, related_name="decision")
    action = models.CharField(max_length=24, choices=Action.choices)
    reason = models.TextField(blank=True)
    origin = models.CharField(max_length=16, choices=Origin.choices)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="decisions")
    reviewer_username = models.CharField(max_length=150)
    reviewer_name = models.CharField(max_length=300, blank=True)
    reviewer_email = models.CharField(max_length=320, blank=True)
    decided_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    content_hash = models.CharField(max_length=64)
    snapshot_id = models.BigIntegerField(
        null=True, blank=True, help_text="the conversation snapshot the reviewer saw (none: they were shown none)"
    )
    confirmed_changed = models.BooleanField(
        default=False, help_text="approved with confirm_changed: past the check that the conversation had not changed"
    )
    context_recheck_error = models.TextField(
        blank=True, help_text="why Intercom could not re-check a stale conversation at approve time (approved anyway)"
    )
    # Carrying the decision out: the only columns that change after the decision (a trigger refuses
    # any other change, and any delete; migration 0004_decision_immutable).
    carried_out_status = models.CharField(
        max_length=MULTIMAIL_STATUS_LENGTH,
        blank=True,
        help_text="what MultiMail answered once the outbox carried the decision out",
    )

    class Meta:
        indexes = [models.Index(fields=["reviewer", "decided_at"]), models.Index(fields=["decided_at"])]

    def __str__(self) -> str:
        return f"decision {self.pk}: {self.action} draft {self.draft_id} by {self.reviewer_username}"

    @property
    def verb(self) -> str:
        """approved / approved with edits / rejected / changes requested"""
        if self.action == self.Action.REQUEST_CHANGES:
            return "changes requested"
        if self.action == self.Action.APPROVE:
            return "approved with edits" if self.is_edited else "approved"
        return "rejected"

    @property
    def is_edited(self) -> bool:
        try:
            return self.edit is not None
        except DraftEdit.DoesNotExist:
            return False

    @property
    def reviewer_label(self) -> str:
        return self.reviewer_name or self.reviewer_username


class DraftEdit(models.Model):
    """The reviewer's edit behind an "approved with edits" decision: both texts, both hashes, the redline.

    Written with its decision, in the same transaction; the decision's audit event carries the same
    texts, hashes and diff, so verify_audit covers them. The outbox fills in the last three columns
    as it carries the edit out (review/edits.py): the edited email's id, and what became of each email.
    """

    class OriginalOutcome(models.TextChoices):
        CANCELLED = "cancelled"
        REJECTED = "rejected"  # could no longer be cancelled: rejected as superseded

    class EditedOutcome(models.TextChoices):
        APPROVED = "approved"
        MISMATCH = "mismatch"  # its content hash is not the edit's: left in the queue, flagged

    decision = models.OneToOneField(Decision, on_delete=models.PROTECT, related_name="edit")
    original_subject = models.TextField()
    original_markdown = models.TextField()
    original_content_hash = models.CharField(max_length=64)
    edited_subject = models.TextField()
    edited_markdown = models.TextField()
    edited_content_hash = models.CharField(max_length=64, db_index=True)
    diff = models.JSONField(help_text="{subject: [[op, text], ...], markdown: [...]}: op is '=', '+' or '-'")
    idempotency_key = models.CharField(max_length=80, unique=True)
    edited_email_id = models.CharField(max_length=128, blank=True, db_index=True)
    original_outcome = models.CharField(max_length=16, choices=OriginalOutcome.choices, blank=True)
    edited_outcome = models.CharField(max_length=16, choices=EditedOutcome.choices, blank=True)

    def __str__(self) -> str:
        return f"edit of decision {self.decision_id}"


class OutboxItem(models.Model):
    """One side effect to carry out at least once, after its transaction committed.

    Items of one decision run in `sequence` order: the Intercom note waits until MultiMail took
    the decision. A worker takes an item with a guarded update (status and lease), so two workers
    never run the same item at once; an item whose lease ran out (worker killed) is taken again.
    """

    class Kind(models.TextChoices):
        DECIDE = "decide"  # POST /v1/oversight/decide
        TAG_EMAIL = "tag_email"  # reviewed_by / review_decision_id tags (needs a send key)
        INTERCOM_NOTE = "intercom_note"  # internal note on the conversation
        INTERCOM_TAG = "intercom_tag"  # email-approved / email-rejected
        EVENT_NOTE = "event_note"  # a later MultiMail event (delivered, bounced, reply) told to the conversation

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"  # permanent; an admin can retry it

    kind = models.CharField(max_length=16, choices=Kind.choices)
    draft = models.ForeignKey(Draft, on_delete=models.PROTECT, related_name="outbox_items")
    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, null=True, blank=True, related_name="outbox_items")
    sequence = models.PositiveSmallIntegerField(default=0, help_text="order among the items of one decision")
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["decision", "sequence"], name="outbox_decision_order"),
        ]

    def __str__(self) -> str:
        return f"outbox {self.pk} {self.kind} ({self.status})"
