"""MultiMail's JSON read into the typed results, checking each field against the contract.

A missing required field or one of the wrong type raises Malformed, which the client turns into
MultiMailUnavailable: we cannot act on an answer we cannot read. Extra fields are ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime

from reviewqueue.integrations.multimail.results import (
    Attachment,
    AuditLogEntry,
    Email,
    EmailSummary,
    Mailbox,
    PendingEmail,
    Webhook,
    WebhookDelivery,
)


class Malformed(Exception):
    """A response that does not match the contract; becomes MultiMailUnavailable."""


# These run for every field of every email in every answer: `type(x) is str` rather than
# isinstance keeps them cheap (bench/multimail_client.py measures the client's added cost).


def required(data: dict, key: str) -> str:
    value = data.get(key)
    if type(value) is not str or not value:
        raise Malformed(f"required field {key!r} missing or not a string")
    return value


def text(data: dict, key: str, default: str = "") -> str:
    value = data.get(key)
    if type(value) is str:
        return value
    if value is None:
        return default
    if isinstance(value, str):
        return str(value)
    raise Malformed(f"field {key!r} is not a string")


def optional_text(data: dict, key: str) -> str | None:
    value = data.get(key)
    return None if value is None else text(data, key)


def strings(data: dict, key: str) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if type(value) is not list:
        raise Malformed(f"field {key!r} is not a list of strings")
    for item in value:
        if type(item) is not str:
            raise Malformed(f"field {key!r} is not a list of strings")
    return list(value)


def integer(data: dict, key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Malformed(f"field {key!r} is not a number")
    return int(value)


def when(data: dict, key: str) -> datetime | None:
    """ISO 8601 strings (…Z) or epoch milliseconds (mailbox created_at)."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise Malformed(f"field {key!r} is not a date-time: {value[:40]!r}") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise Malformed(f"field {key!r} is not a date-time")


def objects(data: dict, key: str) -> list[dict]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise Malformed(f"field {key!r} is not a list of objects")
    return value


def cursor(data: dict) -> str | None:
    value = data.get("cursor")
    return None if value in (None, "") else str(value)


def parse_pending(item: dict) -> PendingEmail:
    return PendingEmail(
        id=required(item, "id"),
        mailbox_id=required(item, "mailbox_id"),
        direction=text(item, "direction", "outbound"),
        from_address=text(item, "from"),
        to=strings(item, "to"),
        subject=text(item, "subject"),
        body_markdown=text(item, "body_markdown"),
        status=text(item, "status"),
        received_at=when(item, "received_at"),
    )


def parse_email(item: dict) -> Email:
    tags = item.get("tags") or {}
    if not isinstance(tags, dict):
        raise Malformed("field 'tags' is not an object")
    return Email(
        id=required(item, "id"),
        from_address=text(item, "from"),
        to=strings(item, "to"),
        cc=strings(item, "cc"),
        subject=text(item, "subject"),
        markdown=text(item, "markdown"),
        status=text(item, "status"),
        received_at=when(item, "received_at"),
        thread_id=optional_text(item, "thread_id"),
        attachments=[
            Attachment(name=text(a, "name"), content_type=text(a, "content_type"), size=integer(a, "size"))
            for a in objects(item, "attachments")
        ],
        delivered_at=when(item, "delivered_at"),
        bounced_at=when(item, "bounced_at"),
        bounce_type=optional_text(item, "bounce_type"),
        approved_at=when(item, "approved_at"),
        approved_by=optional_text(item, "approved_by"),
        spam_score=integer(item, "spam_score"),
        spam_verdict=optional_text(item, "spam_verdict"),
        tags={str(k): str(v) for k, v in tags.items()},
    )


def parse_summary(item: dict) -> EmailSummary:
    return EmailSummary(
        id=required(item, "id"),
        from_address=text(item, "from"),
        to=strings(item, "to"),
        subject=text(item, "subject"),
        direction=text(item, "direction"),
        status=text(item, "status"),
        received_at=when(item, "received_at"),
        thread_id=optional_text(item, "thread_id"),
        has_attachments=bool(item.get("has_attachments", False)),
        delivered_at=when(item, "delivered_at"),
        bounced_at=when(item, "bounced_at"),
        bounce_type=optional_text(item, "bounce_type"),
    )


def parse_mailbox(item: dict) -> Mailbox:
    return Mailbox(
        id=required(item, "id"),
        address=required(item, "address"),
        display_name=optional_text(item, "display_name"),
        oversight_mode=text(item, "oversight_mode"),
        webhook_url=optional_text(item, "webhook_url"),
        created_at=when(item, "created_at"),
        is_active=bool(item.get("is_active", True)),
    )


def parse_webhook(item: dict) -> Webhook:
    return Webhook(
        id=required(item, "id"),
        url=required(item, "url"),
        events=strings(item, "events"),
        mailbox_id=optional_text(item, "mailbox_id"),
        signing_secret=optional_text(item, "signing_secret"),
        created_at=when(item, "created_at"),
    )


def parse_delivery(item: dict) -> WebhookDelivery:
    return WebhookDelivery(
        id=required(item, "id"),
        event_type=text(item, "event_type"),
        url=text(item, "url"),
        status=text(item, "status"),
        attempts=integer(item, "attempts") or 0,
        response_status=integer(item, "response_status"),
        created_at=when(item, "created_at"),
        last_attempt_at=when(item, "last_attempt_at"),
    )


def parse_audit_entry(item: dict) -> AuditLogEntry:
    metadata = item.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise Malformed("field 'metadata' is not an object")
    return AuditLogEntry(
        id=required(item, "id"),
        action=required(item, "action"),
        resource_type=text(item, "resource_type"),
        resource_id=text(item, "resource_id"),
        actor_key_id=text(item, "actor_key_id"),
        metadata=metadata,
        created_at=when(item, "created_at"),
    )
