"""The MultiMail API client: one call per endpoint, typed results, domain errors.

Contract: contracts/multimail-openapi.json and contracts/multimail-notes.md. Answers are parsed
into frozen dataclasses (results.py) here, at the boundary; nothing else in reviewqueue sees
MultiMail's JSON. Extra fields are ignored (MultiMail adds fields); a missing required field,
malformed JSON or a non-JSON answer raises MultiMailUnavailable, since we cannot act on it.

Callers import the client, its errors and its results from here; the HTTP core, the errors, the
results and their parsing each live in their own module beside this one.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

from django.db import connection, transaction

from reviewqueue.integrations.multimail import parsing
from reviewqueue.integrations.multimail.core import KEY_VARIABLES, MultiMailConnection
from reviewqueue.integrations.multimail.errors import (
    MultiMailBadRequest,
    MultiMailConflict,
    MultiMailError,
    MultiMailForbidden,
    MultiMailNotConfigured,
    MultiMailNotFound,
    MultiMailRateLimited,
    MultiMailServerError,
    MultiMailUnauthorized,
    MultiMailUnavailable,
)
from reviewqueue.integrations.multimail.results import (
    AuditLogPage,
    CancelResult,
    DecideResult,
    Email,
    EmailPage,
    Mailbox,
    MailboxCreation,
    PendingEmail,
    SendResult,
    Thread,
    Webhook,
    WebhookDeliveryPage,
)

__all__ = [
    "KEY_VARIABLES",
    "MultiMailBadRequest",
    "MultiMailClient",
    "MultiMailConflict",
    "MultiMailError",
    "MultiMailForbidden",
    "MultiMailNotConfigured",
    "MultiMailNotFound",
    "MultiMailRateLimited",
    "MultiMailServerError",
    "MultiMailUnauthorized",
    "MultiMailUnavailable",
    "add_tags",
    "get_multimail_client",
]


class MultiMailClient(MultiMailConnection):
    # --- oversight ---

    def pending(self) -> list[PendingEmail]:
        reply = self._call("GET", "/v1/oversight/pending", scope="oversight")
        return self._parse(lambda b: [parsing.parse_pending(item) for item in parsing.objects(b, "emails")], reply)

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
                status=parsing.required(b, "status"),
                postmark_message_id=parsing.optional_text(b, "postmark_message_id"),
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
                id=parsing.required(b, "id"),
                status=parsing.required(b, "status"),
                thread_id=parsing.optional_text(b, "thread_id"),
                idempotent=bool(b.get("idempotent", False)),
                message=parsing.text(b, "message"),
            ),
            reply,
        )

    def cancel(self, *, mailbox_id: str, email_id: str) -> CancelResult:
        # Cancelling is idempotent at MultiMail ("Idempotent if already cancelled"), so safe to retry.
        reply = self._call("POST", f"/v1/mailboxes/{mailbox_id}/emails/{email_id}/cancel", scope="send", safe=True)
        return self._parse(
            lambda b: CancelResult(id=parsing.text(b, "id", email_id), status=parsing.required(b, "status")), reply
        )

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
                raise parsing.Malformed("field 'tags' missing or not an object")
            return {str(k): str(v) for k, v in value.items()}

        return self._parse(parse, reply)

    # --- read ---

    def get_email(self, *, mailbox_id: str, email_id: str) -> Email:
        reply = self._call("GET", f"/v1/mailboxes/{mailbox_id}/emails/{email_id}", scope="read")
        return self._parse(parsing.parse_email, reply)

    def list_emails(
        self, *, mailbox_id: str, status: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> EmailPage:
        params = _params(status=status, limit=limit, cursor=cursor)
        reply = self._call("GET", f"/v1/mailboxes/{mailbox_id}/emails", scope="read", params=params)
        return self._parse(
            lambda b: EmailPage(
                emails=[parsing.parse_summary(i) for i in parsing.objects(b, "emails")], cursor=parsing.cursor(b)
            ),
            reply,
        )

    def get_thread(self, *, mailbox_id: str, thread_id: str) -> Thread:
        reply = self._call("GET", f"/v1/mailboxes/{mailbox_id}/threads/{thread_id}", scope="read")
        return self._parse(
            lambda b: Thread(
                thread_id=parsing.required(b, "thread_id"),
                message_count=parsing.integer(b, "message_count") or 0,
                participants=parsing.strings(b, "participants"),
                last_activity=parsing.when(b, "last_activity"),
                has_unanswered_inbound=bool(b.get("has_unanswered_inbound", False)),
                emails=[parsing.parse_summary(i) for i in parsing.objects(b, "emails")],
            ),
            reply,
        )

    def list_mailboxes(self) -> list[Mailbox]:
        reply = self._call("GET", "/v1/mailboxes", scope="read")
        return self._parse(lambda b: [parsing.parse_mailbox(i) for i in parsing.objects(b, "mailboxes")], reply)

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
            message = parsing.text(reply.body, "message") or "MultiMail sent an approval code to the operator's email"
            return MailboxCreation(id=None, address=None, awaiting_approval_code=True, message=message)
        return self._parse(
            lambda b: MailboxCreation(
                id=parsing.required(b, "id"),
                address=parsing.required(b, "address"),
                awaiting_approval_code=False,
                message=parsing.text(b, "message"),
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
        return self._parse(lambda b: parsing.text(b, "status", "updated"), reply)

    def create_webhook(self, *, url: str, events: list[str], mailbox_id: str | None = None) -> Webhook:
        body: dict[str, Any] = {"url": url, "events": list(events)}
        if mailbox_id is not None:
            body["mailbox_id"] = mailbox_id
        reply = self._call("POST", "/v1/webhooks", scope="admin", json=body)
        return self._parse(parsing.parse_webhook, reply)

    def list_webhooks(self) -> list[Webhook]:
        reply = self._call("GET", "/v1/webhooks", scope="admin")
        return self._parse(lambda b: [parsing.parse_webhook(i) for i in parsing.objects(b, "subscriptions")], reply)

    def get_webhook(self, *, webhook_id: str) -> Webhook:
        reply = self._call("GET", f"/v1/webhooks/{webhook_id}", scope="admin")
        return self._parse(parsing.parse_webhook, reply)

    def delete_webhook(self, *, webhook_id: str) -> None:
        self._call("DELETE", f"/v1/webhooks/{webhook_id}", scope="admin")

    def webhook_deliveries(self, *, limit: int | None = None, cursor: str | None = None) -> WebhookDeliveryPage:
        reply = self._call("GET", "/v1/webhook-deliveries", scope="admin", params=_params(limit=limit, cursor=cursor))
        return self._parse(
            lambda b: WebhookDeliveryPage(
                deliveries=[parsing.parse_delivery(i) for i in parsing.objects(b, "deliveries")],
                cursor=parsing.cursor(b),
            ),
            reply,
        )

    def audit_log(self, *, limit: int | None = None, cursor: str | None = None) -> AuditLogPage:
        reply = self._call("GET", "/v1/audit-log", scope="admin", params=_params(limit=limit, cursor=cursor))
        return self._parse(
            lambda b: AuditLogPage(
                entries=[parsing.parse_audit_entry(i) for i in parsing.objects(b, "entries")], cursor=parsing.cursor(b)
            ),
            reply,
        )


def _params(**values) -> dict:
    return {k: v for k, v in values.items() if v is not None}


def get_multimail_client() -> MultiMailClient:
    """The client built from settings (sandbox defaults applied there when REVIEWQUEUE_SANDBOX is on)."""
    from django.conf import settings

    return _client_for(
        settings.MULTIMAIL_API_URL,
        settings.MULTIMAIL_API_KEY,
        settings.MULTIMAIL_SEND_API_KEY,
        settings.MULTIMAIL_ADMIN_API_KEY,
    )


# The advisory lock space of add_tags' per-email locks ("tags"; the email id's hash is the key's second half).
TAGS_LOCK_SPACE = 0x74616773


@functools.lru_cache(maxsize=4)
def _client_for(base_url: str, api_key: str, send_api_key: str, admin_api_key: str) -> MultiMailClient:
    # One client (one connection pool) per configuration; httpx.Client is safe to share across threads.
    return MultiMailClient(base_url=base_url, api_key=api_key, send_api_key=send_api_key, admin_api_key=admin_api_key)


def add_tags(client: MultiMailClient, *, mailbox_id: str, email_id: str, tags: dict[str, str]) -> dict[str, str]:
    """Set `tags` on an email and keep its others: MultiMail's PUT replaces the whole set, so read it first.

    The read and the PUT hold the email's tag lock (a PostgreSQL advisory lock for the transaction), so two
    of our writers (the intake's follow-up, the outbox's tag step) never write over each other's tags."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [TAGS_LOCK_SPACE, email_id])
        current = client.get_email(mailbox_id=mailbox_id, email_id=email_id).tags
        return client.set_tags(mailbox_id=mailbox_id, email_id=email_id, tags={**current, **tags})
