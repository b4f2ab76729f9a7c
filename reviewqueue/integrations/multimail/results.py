"""What MultiMail's answers become: frozen dataclasses, the only shape the rest of reviewqueue sees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PendingEmail:
    id: str
    mailbox_id: str
    direction: str
    from_address: str
    to: list[str]
    subject: str
    body_markdown: str
    status: str
    received_at: datetime | None


@dataclass(frozen=True)
class DecideResult:
    status: str  # approved | approved_and_sent | rejected
    postmark_message_id: str | None = None


@dataclass(frozen=True)
class SendResult:
    id: str
    status: str  # pending_scan, or already_sent for a repeated idempotency key
    thread_id: str | None
    idempotent: bool
    message: str = ""


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    size: int | None


@dataclass(frozen=True)
class Email:
    id: str
    from_address: str
    to: list[str]
    cc: list[str]
    subject: str
    markdown: str
    status: str
    received_at: datetime | None
    thread_id: str | None
    attachments: list[Attachment]
    delivered_at: datetime | None
    bounced_at: datetime | None
    bounce_type: str | None
    approved_at: datetime | None
    approved_by: str | None
    spam_score: int | None
    spam_verdict: str | None
    tags: dict[str, str]


@dataclass(frozen=True)
class EmailSummary:
    id: str
    from_address: str
    to: list[str]
    subject: str
    direction: str
    status: str
    received_at: datetime | None
    thread_id: str | None
    has_attachments: bool
    delivered_at: datetime | None
    bounced_at: datetime | None
    bounce_type: str | None


@dataclass(frozen=True)
class EmailPage:
    emails: list[EmailSummary]
    cursor: str | None


@dataclass(frozen=True)
class CancelResult:
    id: str
    status: str


@dataclass(frozen=True)
class Thread:
    thread_id: str
    message_count: int
    participants: list[str]
    last_activity: datetime | None
    has_unanswered_inbound: bool
    emails: list[EmailSummary]


@dataclass(frozen=True)
class Mailbox:
    id: str
    address: str
    display_name: str | None
    oversight_mode: str
    webhook_url: str | None
    created_at: datetime | None
    is_active: bool


@dataclass(frozen=True)
class MailboxCreation:
    id: str | None
    address: str | None
    awaiting_approval_code: bool
    message: str = ""


@dataclass(frozen=True)
class Webhook:
    id: str
    url: str
    events: list[str]
    mailbox_id: str | None
    signing_secret: str | None  # only on creation and GET /v1/webhooks/{id}
    created_at: datetime | None


@dataclass(frozen=True)
class WebhookDelivery:
    id: str
    event_type: str
    url: str
    status: str  # pending | delivered | failed
    attempts: int
    response_status: int | None
    created_at: datetime | None
    last_attempt_at: datetime | None


@dataclass(frozen=True)
class WebhookDeliveryPage:
    deliveries: list[WebhookDelivery]
    cursor: str | None


@dataclass(frozen=True)
class AuditLogEntry:
    id: str
    action: str
    resource_type: str
    resource_id: str
    actor_key_id: str
    metadata: dict
    created_at: datetime | None


@dataclass(frozen=True)
class AuditLogPage:
    entries: list[AuditLogEntry]
    cursor: str | None
