"""The MultiMail API client: one httpx.Client, typed results, domain errors.

Contract: contracts/multimail-openapi.json and contracts/multimail-notes.md. Responses are parsed
into frozen dataclasses here, at the boundary; nothing else in reviewqueue sees MultiMail's JSON.
Extra fields are ignored (MultiMail adds fields); a missing required field, malformed JSON or a
non-JSON answer raises MultiMailUnavailable, since we cannot act on it.

Keys: MultiMail refuses one key holding both `send` and `oversight`, so there are three, one per
scope (oversight, send, admin). Calls that only read (emails, threads, mailboxes) use whichever key
is configured, the oversight key first: it is the one that is always there. Keys are sent only in
the Authorization header and never logged.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from reviewqueue.integrations.http import RetryPolicy, default_timeout, seconds_from_retry_after, send_with_retries
from reviewqueue.text import make_storable_json

# --- errors ----------------------------------------------------------------------------------------


class MultiMailError(Exception):
    """Any failure talking to MultiMail. `status` is the HTTP status when there was one."""

    def __init__(self, status: int | None, message: str):
        super().__init__(message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return f"MultiMail {self.status}: {self.message}" if self.status else f"MultiMail: {self.message}"


class MultiMailNotConfigured(MultiMailError):
    def __init__(self, variable: str, purpose: str):
        super().__init__(None, f"{variable} is not set; it is needed to {purpose}")
        self.variable = variable


class MultiMailBadRequest(MultiMailError):
    pass


class MultiMailUnauthorized(MultiMailError):
    pass


class MultiMailForbidden(MultiMailError):
    pass


class MultiMailNotFound(MultiMailError):
    pass


class MultiMailConflict(MultiMailError):
    pass


class MultiMailRateLimited(MultiMailError):
    def __init__(self, status: int | None, message: str, retry_after: float | None = None):
        super().__init__(status, message)
        self.retry_after = retry_after


class MultiMailServerError(MultiMailError):
    pass


class MultiMailUnavailable(MultiMailError):
    """Timeout, connection failure or an answer we cannot read, after the retries allowed."""


ERRORS_BY_STATUS: dict[int, type[MultiMailError]] = {
    400: MultiMailBadRequest,
    401: MultiMailUnauthorized,
    403: MultiMailForbidden,
    404: MultiMailNotFound,
    409: MultiMailConflict,
}


class _Malformed(Exception):
    """A response that does not match the contract; becomes MultiMailUnavailable."""


# --- typed results ---------------------------------------------------------------------------------


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


# --- parsing helpers -------------------------------------------------------------------------------


# These run for every field of every email in every answer: `type(x) is str` rather than
# isinstance keeps them cheap (bench/multimail_client.py measures the client's added cost).


def _required(data: dict, key: str) -> str:
    value = data.get(key)
    if type(value) is not str or not value:
        raise _Malformed(f"required field {key!r} missing or not a string")
    return value


def _text(data: dict, key: str, default: str = "") -> str:
    value = data.get(key)
    if type(value) is str:
        return value
    if value is None:
        return default
    if isinstance(value, str):
        return str(value)
    raise _Malformed(f"field {key!r} is not a string")


def _optional_text(data: dict, key: str) -> str | None:
    value = data.get(key)
    return None if value is None else _text(data, key)


def _strings(data: dict, key: str) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if type(value) is not list:
        raise _Malformed(f"field {key!r} is not a list of strings")
    for item in value:
        if type(item) is not str:
            raise _Malformed(f"field {key!r} is not a list of strings")
    return list(value)


def _int(data: dict, key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Malformed(f"field {key!r} is not a number")
    return int(value)


def _when(data: dict, key: str) -> datetime | None:
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
            raise _Malformed(f"field {key!r} is not a date-time: {value[:40]!r}") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise _Malformed(f"field {key!r} is not a date-time")


def _objects(data: dict, key: str) -> list[dict]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _Malformed(f"field {key!r} is not a list of objects")
    return value


def _cursor(data: dict) -> str | None:
    value = data.get("cursor")
    return None if value in (None, "") else str(value)


def _parse_pending(item: dict) -> PendingEmail:
    return PendingEmail(
        id=_required(item, "id"),
        mailbox_id=_required(item, "mailbox_id"),
        direction=_text(item, "direction", "outbound"),
        from_address=_text(item, "from"),
        to=_strings(item, "to"),
        subject=_text(item, "subject"),
        body_markdown=_text(item, "body_markdown"),
        status=_text(item, "status"),
        received_at=_when(item, "received_at"),
    )


def _parse_email(item: dict) -> Email:
    tags = item.get("tags") or {}
    if not isinstance(tags, dict):
        raise _Malformed("field 'tags' is not an object")
    return Email(
        id=_required(item, "id"),
        from_address=_text(item, "from"),
        to=_strings(item, "to"),
        cc=_strings(item, "cc"),
        subject=_text(item, "subject"),
        markdown=_text(item, "markdown"),
        status=_text(item, "status"),
        received_at=_when(item, "received_at"),
        thread_id=_optional_text(item, "thread_id"),
        attachments=[
            Attachment(name=_text(a, "name"), content_type=_text(a, "content_type"), size=_int(a, "size"))
            for a in _objects(item, "attachments")
        ],
        delivered_at=_when(item, "delivered_at"),
        bounced_at=_when(item, "bounced_at"),
        bounce_type=_optional_text(item, "bounce_type"),
        approved_at=_when(item, "approved_at"),
        approved_by=_optional_text(item, "approved_by"),
        spam_score=_int(item, "spam_score"),
        spam_verdict=_optional_text(item, "spam_verdict"),
        tags={str(k): str(v) for k, v in tags.items()},
    )


def _parse_summary(item: dict) -> EmailSummary:
    return EmailSummary(
        id=_required(item, "id"),
        from_address=_text(item, "from"),
        to=_strings(item, "to"),
        subject=_text(item, "subject"),
        direction=_text(item, "direction"),
        status=_text(item, "status"),
        received_at=_when(item, "received_at"),
        thread_id=_optional_text(item, "thread_id"),
        has_attachments=bool(item.get("has_attachments", False)),
        delivered_at=_when(item, "delivered_at"),
        bounced_at=_when(item, "bounced_at"),
        bounce_type=_optional_text(item, "bounce_type"),
    )


def _parse_mailbox(item: dict) -> Mailbox:
    return Mailbox(
        id=_required(item, "id"),
        address=_required(item, "address"),
        display_name=_optional_text(item, "display_name"),
        oversight_mode=_text(item, "oversight_mode"),
        webhook_url=_optional_text(item, "webhook_url"),
        created_at=_when(item, "created_at"),
        is_active=bool(item.get("is_active", True)),
    )


def _parse_webhook(item: dict) -> Webhook:
    return Webhook(
        id=_required(item, "id"),
        url=_required(item, "url"),
        events=_strings(item, "events"),
        mailbox_id=_optional_text(item, "mailbox_id"),
        signing_secret=_optional_text(item, "signing_secret"),
        created_at=_when(item, "created_at"),
    )


def _parse_delivery(item: dict) -> WebhookDelivery:
    return WebhookDelivery(
        id=_required(item, "id"),
        event_type=_text(item, "event_type"),
        url=_text(item, "url"),
        status=_text(item, "status"),
        attempts=_int(item, "attempts") or 0,
        response_status=_int(item, "response_status"),
        created_at=_when(item, "created_at"),
        last_attempt_at=_when(item, "last_attempt_at"),
    )


def _parse_audit_entry(item: dict) -> AuditLogEntry:
    metadata = item.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise _Malformed("field 'metadata' is not an object")
    return AuditLogEntry(
        id=_required(item, "id"),
        action=_required(item, "action"),
        resource_type=_text(item, "resource_type"),
        resource_id=_text(item, "resource_id"),
        actor_key_id=_text(item, "actor_key_id"),
        metadata=metadata,
        created_at=_when(item, "created_at"),
    )


# --- the client ------------------------------------------------------------------------------------

Scope = Literal["oversight", "send", "admin", "read"]
KEY_VARIABLES = {
    "oversight": "MULTIMAIL_API_KEY",
    "send": "MULTIMAIL_SEND_API_KEY",
    "admin": "MULTIMAIL_ADMIN_API_KEY",
}
SCOPE_PURPOSE = {
    "oversight": "list and decide pending drafts (oversight scope)",
    "send": "send, tag or cancel email (send scope)",
    "admin": "manage mailboxes, webhooks and read the audit log (admin scope)",
    "read": "read emails, threads and mailboxes (any MultiMail key with read scope)",
}


@dataclass
class _Reply:
    status: int
    body: dict = field(default_factory=dict)


class MultiMailClient:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str = "",
        send_api_key: str = "",
        admin_api_key: str = "",
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._keys = {"oversight": api_key, "send": send_api_key, "admin": admin_api_key}
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=timeout or default_timeout(),
            headers={"Accept": "application/json", "User-Agent": "reviewqueue"},
        )

    def __repr__(self) -> str:  # never show keys
        return f"MultiMailClient({self._http.base_url})"

    def close(self) -> None:
        self._http.close()

    def has_key(self, scope: Scope) -> bool:
        try:
            self._key(scope)
        except MultiMailNotConfigured:
            return False
        return True

    # --- oversight ---

    def pending(self) -> list[PendingEmail]:
        reply = self._call("GET", "/v1/oversight/pending", scope="oversight")
        return self._parse(lambda b: [_parse_pending(item) for item in _objects(b, "emails")], reply)

    def decide(self, *, email_id: str, action: Literal["approve", "reject"], reason: str) -> DecideResult:
        if action not in ("approve", "reject"):
            raise ValueError(f"action must be approve or reject, not {action!r}")
        # Not retried: a lost answer to a decide that went through would turn into a 404 on retry;
        # the caller reconciles by reading the email instead.
        reply = self._call(
            "POST",
            "/v1/oversight/decide",
            scope="oversight",
            json={"email_id": email_id, "action": action, "reason": reason},
        )
        return self._parse(
            lambda b: DecideResult(
                status=_required(b, "status"), postmark_message_id=_optional_text(b, "postmark_message_id")
            ),
            reply,
        )

    # --- send ---

    def send(
        self,
        *,
        mailbox_id: str,
        to: list[str],
        subject: str,
        markdown: str,
        cc: list[str] | None = None,
        bcc: list[str] | None = None,
        attachments: list[dict] | None = None,
        idempotency_key: str | None = None,
        send_at: str | None = None,
        gate_timing: str | None = None,
    ) -> SendResult:
        body: dict[str, Any] = {"to": list(to), "subject": subject, "markdown": markdown}
        optional = {
            "cc": cc,
            "bcc": bcc,
            "attachments": attachments,
            "idempotency_key": idempotency_key,
            "send_at": send_at,
            "gate_timing": gate_timing,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        # Retried only with an idempotency key: MultiMail answers a repeat with the original email.
        reply = self._call(
            "POST", f"/v1/mailboxes/{mailbox_id}/send", scope="send", json=body, safe=idempotency_key is not None
        )
        return self._parse(
            lambda b: SendResult(
                id=_required(b, "id"),
                status=_required(b, "status"),
                thread_id=_optional_text(b, "thread_id"),
                idempotent=bool(b.get("idempotent", False)),
                message=_text(b, "message"),
            ),
            reply,
        )

    def cancel(self, *, mailbox_id: str, email_id: str) -> CancelResult:
        # Cancelling is idempotent at MultiMail ("Idempotent if already cancelled"), so safe to retry.
        reply = self._call("POST", f"/v1/mailboxes/{mailbox_id}/emails/{email_id}/cancel", scope="send", safe=True)
        return self._parse(lambda b: CancelResult(id=_text(b, "id", email_id), status=_required(b, "status")), reply)

    def set_tags(self, *, mailbox_id: str, email_id: str, tags: dict[str, str]) -> dict[str, str]:
        reply = self._call(
            "PUT",
            f"/v1/mailboxes/{mailbox_id}/emails/{email_id}/tags",
            scope="send",
            json={"tags": {str(k): str(v) for k, v in tags.items()}},
            safe=True,  # PUT replaces all tags: repeating it is harmless
        )

        def parse(b: dict) -> dict[str, str]:
            value = b.get("tags")
            if not isinstance(value, dict):
                raise _Malformed("field 'tags' missing or not an object")
            return {str(k): str(v) for k, v in value.items()}

        return self._parse(parse, reply)

    # --- read ---

    def get_email(self, *, mailbox_id: str, email_id: str) -> Email:
        reply = self._call("GET", f"/v1/mailboxes/{mailbox_id}/emails/{email_id}", scope="read")
        return self._parse(_parse_email, reply)

    def list_emails(
        self, *, mailbox_id: str, status: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> EmailPage:
        params = _params(status=status, limit=limit, cursor=cursor)
        reply = self._call("GET", f"/v1/mailboxes/{mailbox_id}/emails", scope="read", params=params)
        return self._parse(
            lambda b: EmailPage(emails=[_parse_summary(i) for i in _objects(b, "emails")], cursor=_cursor(b)), reply
        )

    def get_thread(self, *, mailbox_id: str, thread_id: str) -> Thread:
        reply = self._call("GET", f"/v1/mailboxes/{mailbox_id}/threads/{thread_id}", scope="read")
        return self._parse(
            lambda b: Thread(
                thread_id=_required(b, "thread_id"),
                message_count=_int(b, "message_count") or 0,
                participants=_strings(b, "participants"),
                last_activity=_when(b, "last_activity"),
                has_unanswered_inbound=bool(b.get("has_unanswered_inbound", False)),
                emails=[_parse_summary(i) for i in _objects(b, "emails")],
            ),
            reply,
        )

    def list_mailboxes(self) -> list[Mailbox]:
        reply = self._call("GET", "/v1/mailboxes", scope="read")
        return self._parse(lambda b: [_parse_mailbox(i) for i in _objects(b, "mailboxes")], reply)

    # --- admin ---

    def create_mailbox(
        self,
        *,
        address_local: str,
        display_name: str | None = None,
        webhook_url: str | None = None,
        approval_code: str | None = None,
    ) -> MailboxCreation:
        """201 → created; 202 → MultiMail emailed the operator a code: call again with `approval_code`.

        409 (address taken) raises MultiMailConflict, 403 (plan limit or scope) MultiMailForbidden.
        """
        body = {"address_local": address_local}
        body.update(
            {
                k: v
                for k, v in {
                    "display_name": display_name,
                    "webhook_url": webhook_url,
                    "approval_code": approval_code,
                }.items()
                if v is not None
            }
        )
        reply = self._call("POST", "/v1/mailboxes", scope="admin", json=body)
        if reply.status == 202:
            message = _text(reply.body, "message") or "MultiMail sent an approval code to the operator's email"
            return MailboxCreation(id=None, address=None, awaiting_approval_code=True, message=message)
        return self._parse(
            lambda b: MailboxCreation(
                id=_required(b, "id"),
                address=_required(b, "address"),
                awaiting_approval_code=False,
                message=_text(b, "message"),
            ),
            reply,
        )

    def update_mailbox(
        self,
        *,
        mailbox_id: str,
        display_name: str | None = None,
        oversight_mode: str | None = None,
        webhook_url: str | None = None,
    ) -> str:
        body = {
            k: v
            for k, v in {
                "display_name": display_name,
                "oversight_mode": oversight_mode,
                "webhook_url": webhook_url,
            }.items()
            if v is not None
        }
        reply = self._call("PATCH", f"/v1/mailboxes/{mailbox_id}", scope="admin", json=body, safe=True)
        return self._parse(lambda b: _text(b, "status", "updated"), reply)

    def create_webhook(self, *, url: str, events: list[str], mailbox_id: str | None = None) -> Webhook:
        body: dict[str, Any] = {"url": url, "events": list(events)}
        if mailbox_id is not None:
            body["mailbox_id"] = mailbox_id
        reply = self._call("POST", "/v1/webhooks", scope="admin", json=body)
        return self._parse(_parse_webhook, reply)

    def list_webhooks(self) -> list[Webhook]:
        reply = self._call("GET", "/v1/webhooks", scope="admin")
        return self._parse(lambda b: [_parse_webhook(i) for i in _objects(b, "subscriptions")], reply)

    def get_webhook(self, *, webhook_id: str) -> Webhook:
        reply = self._call("GET", f"/v1/webhooks/{webhook_id}", scope="admin")
        return self._parse(_parse_webhook, reply)

    def delete_webhook(self, *, webhook_id: str) -> None:
        self._call("DELETE", f"/v1/webhooks/{webhook_id}", scope="admin")

    def webhook_deliveries(self, *, limit: int | None = None, cursor: str | None = None) -> WebhookDeliveryPage:
        reply = self._call("GET", "/v1/webhook-deliveries", scope="admin", params=_params(limit=limit, cursor=cursor))
        return self._parse(
            lambda b: WebhookDeliveryPage(
                deliveries=[_parse_delivery(i) for i in _objects(b, "deliveries")], cursor=_cursor(b)
            ),
            reply,
        )

    def audit_log(self, *, limit: int | None = None, cursor: str | None = None) -> AuditLogPage:
        reply = self._call("GET", "/v1/audit-log", scope="admin", params=_params(limit=limit, cursor=cursor))
        return self._parse(
            lambda b: AuditLogPage(entries=[_parse_audit_entry(i) for i in _objects(b, "entries")], cursor=_cursor(b)),
            reply,
        )

    # --- plumbing ---

    def _key(self, scope: Scope) -> str:
        if scope == "read":
            for candidate in ("oversight", "admin", "send"):
                if self._keys[candidate]:
                    return self._keys[candidate]
            raise MultiMailNotConfigured(KEY_VARIABLES["oversight"], SCOPE_PURPOSE["read"])
        key = self._keys[scope]
        if not key:
            raise MultiMailNotConfigured(KEY_VARIABLES[scope], SCOPE_PURPOSE[scope])
        return key

    def _call(
        self,
        method: str,
        path: str,
        *,
        scope: Scope,
        json: dict | None = None,
        params: dict | None = None,
        safe: bool = False,
    ) -> _Reply:
        key = self._key(scope)
        request = self._http.build_request(
            method, path, json=json, params=params, headers={"Authorization": f"Bearer {key}"}
        )
        try:
            response = send_with_retries(
                self._http,
                request,
                policy=self._retry,
                safe=safe,
                rate_limit_wait=seconds_from_retry_after,
                sleep=self._sleep,
            )
        except httpx.TimeoutException as exc:
            raise MultiMailUnavailable(None, f"{method} {path} timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise MultiMailUnavailable(None, f"{method} {path} could not connect ({type(exc).__name__})") from None
        if response.status_code >= 400:
            raise _error_for(response)
        return _Reply(status=response.status_code, body=_json_body(response, method, path))

    @staticmethod
    def _parse(parse, reply: _Reply):
        try:
            return parse(reply.body)
        except _Malformed as exc:
            raise MultiMailUnavailable(reply.status, f"malformed response: {exc}") from None


def _params(**values) -> dict:
    return {k: v for k, v in values.items() if v is not None}


def _json_body(response: httpx.Response, method: str, path: str) -> dict:
    content_type = response.headers.get("Content-Type", "")
    if not response.content:
        return {}
    if "json" not in content_type.lower():
        raise MultiMailUnavailable(
            response.status_code, f"{method} {path} answered {content_type or 'no content type'}, not JSON"
        )
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise MultiMailUnavailable(response.status_code, f"{method} {path} answered malformed JSON") from None
    if not isinstance(body, dict):
        raise MultiMailUnavailable(response.status_code, f"{method} {path} answered JSON that is not an object")
    return make_storable_json(response.content, body)


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]:
        return body["error"][:500]
    return response.reason_phrase or f"HTTP {response.status_code}"


def _error_for(response: httpx.Response) -> MultiMailError:
    status = response.status_code
    message = _error_text(response)
    if status == 429:
        return MultiMailRateLimited(status, message, retry_after=seconds_from_retry_after(response))
    if status >= 500:
        return MultiMailServerError(status, message)
    return ERRORS_BY_STATUS.get(status, MultiMailError)(status, message)


# --- from settings ---------------------------------------------------------------------------------


def get_multimail_client() -> MultiMailClient:
    """The client built from settings (sandbox defaults applied there when REVIEWQUEUE_SANDBOX is on)."""
    from django.conf import settings

    return _client_for(
        settings.MULTIMAIL_API_URL,
        settings.MULTIMAIL_API_KEY,
        settings.MULTIMAIL_SEND_API_KEY,
        settings.MULTIMAIL_ADMIN_API_KEY,
    )


@functools.lru_cache(maxsize=4)
def _client_for(base_url: str, api_key: str, send_api_key: str, admin_api_key: str) -> MultiMailClient:
    # One client (one connection pool) per configuration; httpx.Client is safe to share across threads.
    return MultiMailClient(base_url=base_url, api_key=api_key, send_api_key=send_api_key, admin_api_key=admin_api_key)


def add_tags(client: MultiMailClient, *, mailbox_id: str, email_id: str, tags: dict[str, str]) -> dict[str, str]:
    """Set `tags` on an email and keep its others: MultiMail's PUT replaces the whole set, so read it first."""
    current = client.get_email(mailbox_id=mailbox_id, email_id=email_id).tags
    return client.set_tags(mailbox_id=mailbox_id, email_id=email_id, tags={**current, **tags})
