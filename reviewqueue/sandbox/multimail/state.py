"""The MultiMail sandbox's data and rules, behind one lock, saved to a JSON file after each change.

Follows contracts/multimail-openapi.json and contracts/multimail-notes.md. Where they are silent,
the choices are:
- the email statuses the notes name but the spec's enum omits are used as the notes say: a send is
  `pending_scan` until scanned, then `pending_send_approval` (gated) ; an email that left is
  `approved_and_sent` (`approved` while scheduled for later); delivery shows as `delivered_at`,
  bounces as `bounced_at`/`bounce_type` (any recipient whose local part starts with "bounce").
- webhook payloads carry `id` (one per event, the same on every retry), `event_type`, `mailbox`
  (address), `mailbox_id`, `message_id`, `thread_id`, `timestamp` and event-specific fields.
"""

from __future__ import annotations

import base64
import binascii
import collections
import heapq
import json
import os
import re
import secrets
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from reviewqueue.integrations.multimail import statuses
from reviewqueue.sandbox.multimail import defaults

OVERSIGHT_MODES = ["read_only", "gated_all", "gated_send", "monitored", "autonomous"]  # most → least oversight
GATED_SEND_MODES = {"gated_all", "gated_send"}
EVENTS = {
    "message.received",
    "message.sent",
    "message.delivered",
    "message.bounced",
    "message.complained",
    "oversight.pending",
    "oversight.approved",
    "oversight.rejected",
}
CANCELLABLE = statuses.IN_OVERSIGHT_QUEUE | {"scheduled"}
IDEMPOTENCY_TTL = 24 * 3600
SCOPES = {"read", "send", "admin", "oversight"}
ADDRESS_LOCAL = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SandboxError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def _empty() -> dict:
    return {
        "keys": {},
        "mailboxes": {},
        "emails": {},
        "sequence": 0,
        "idempotency": {},
        "webhooks": {},
        "deliveries": [],
        "audit": [],
        "approval_codes": {},
    }


class SandboxState:
    """All sandbox data. Every public method takes the lock; mutations save the file."""

    def __init__(self, path: str | os.PathLike | None = None, *, clock=time.time):
        self.path = Path(path) if path else None
        self.clock = clock
        self.lock = threading.RLock()
        self.data = _empty()
        if self.path and self.path.exists():
            try:
                loaded = json.loads(self.path.read_text() or "{}")
            except (ValueError, UnicodeDecodeError) as exc:
                raise ValueError(f"{self.path} is not a MultiMail sandbox state file ({exc})") from None
            if not isinstance(loaded, dict):
                raise ValueError(f"{self.path} is not a MultiMail sandbox state file")
            self.data.update(loaded)
        # Emails waiting on time (scan, schedule, delivery), as a heap of (when, email id): _advance_locked
        # looks only at those due, so a request costs the same with ten emails waiting or ten thousand.
        # An entry may be stale (the email moved on); the email's own fields decide what happens.
        self._due: list[tuple[float, str]] = []
        for email in self.data["emails"].values():
            self._wake_at(email)
        # Idempotency keys in the order they expire (one TTL for all, so the order they were stored).
        self._expiry = collections.deque(
            sorted((entry["expires"], key) for key, entry in self.data["idempotency"].items())
        )
        # Deliveries still to post, by id: the webhook sender asks for due ones 20 times a second and
        # records each outcome, so neither may walk every delivery ever made (quadratic over a long run).
        self._pending_deliveries = {d["id"]: d for d in self.data["deliveries"] if d["status"] == "pending"}
        self.ensure_keys()
        # Knob values the state needs (set by the app from its Knobs).
        self.scan_seconds = 0.0
        self.delivery_seconds = 0.2
        self.mailbox_limit = 25
        self.require_mailbox_approval = False

    # --- persistence ---

    def save(self) -> None:
        if not self.path:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.data, separators=(",", ":")))
        os.replace(tmp, self.path)  # atomic: a crash never leaves half a file

    # --- keys ---

    def ensure_keys(self) -> None:
        with self.lock:
            for key, (key_id, name, scopes) in defaults.KEYS.items():
                self.data["keys"].setdefault(
                    key, {"id": key_id, "name": name, "scopes": scopes, "created_at": self.clock(), "is_active": True}
                )

    def authenticate(self, authorization: str | None, scope: str) -> dict:
        token = (authorization or "").removeprefix("Bearer ").strip()
        with self.lock:
            key = self.data["keys"].get(token) if token else None
        if key is None or not key.get("is_active", True):
            raise SandboxError(401, "Invalid or missing API key")
        if scope not in key["scopes"]:
            raise SandboxError(403, f"This API key lacks the {scope} scope")
        return key

    def key_create(self, *, actor: dict, name, scopes) -> dict:
        if not isinstance(name, str) or not name.strip():
            raise SandboxError(400, "name is required")
        scopes = ["read"] if scopes is None else scopes
        if not isinstance(scopes, list) or not scopes or not set(scopes) <= SCOPES:
            raise SandboxError(400, f"scopes must be a non-empty list of {sorted(SCOPES)}")
        if {"send", "oversight"} <= set(scopes):
            raise SandboxError(400, "A key cannot hold both send and oversight scopes")
        with self.lock:
            raw = f"mm_live_{secrets.token_hex(16)}"
            key = {"id": _new_id("key"), "name": name, "scopes": sorted(set(scopes)), "created_at": self.clock()}
            key["is_active"] = True
            self.data["keys"][raw] = key
            self._audit(actor, "api_key.created", "api_key", key["id"], {"scopes": key["scopes"]})
            self.save()
        return {"id": key["id"], "api_key": raw, "prefix": raw[:12], "name": name, "scopes": key["scopes"]}

    def keys_list(self) -> list[dict]:
        with self.lock:
            return [
                {
                    "id": k["id"],
                    "name": k["name"],
                    "prefix": raw[:12],
                    "scopes": k["scopes"],
                    "created_at": iso(k["created_at"]),
                    "last_used_at": None,
                    "is_active": k.get("is_active", True),
                }
                for raw, k in self.data["keys"].items()
            ]

    # --- mailboxes ---

    def _mailbox(self, mailbox_id: str) -> dict:
        mailbox = self.data["mailboxes"].get(mailbox_id)
        if mailbox is None or not mailbox["is_active"]:
            raise SandboxError(404, "Mailbox not found")
        return mailbox

    def mailbox_create(
        self, *, actor: dict, address_local, display_name=None, webhook_url=None, approval_code=None, mailbox_id=None
    ) -> tuple[int, dict]:
        if not isinstance(address_local, str) or not address_local:
            raise SandboxError(400, "address_local is required")
        local = address_local.lower()
        if "@" in local:
            local, _, domain = local.partition("@")
        else:
            domain = defaults.TENANT_DOMAIN
        if not ADDRESS_LOCAL.match(local):
            raise SandboxError(400, "Invalid address format")
        address = f"{local}@{domain}"
        for name, value in (("display_name", display_name), ("webhook_url", webhook_url)):
            if value is not None and not isinstance(value, str):
                raise SandboxError(400, f"{name} must be a string")
        with self.lock:
            active = [m for m in self.data["mailboxes"].values() if m["is_active"]]
            if any(m["address"] == address for m in active):
                raise SandboxError(409, "Address already in use")
            if len(active) >= self.mailbox_limit:
                raise SandboxError(403, "Plan mailbox limit reached")
            if self.require_mailbox_approval:
                expected = self.data["approval_codes"].get(address)
                if approval_code is None or expected is None:
                    self.data["approval_codes"][address] = f"{secrets.randbelow(10**6):06d}"
                    self.save()
                    return 202, {
                        "status": "pending_approval",
                        "message": "An approval code was sent to the operator's email; resend with approval_code",
                    }
                if approval_code != expected:
                    raise SandboxError(403, "Invalid approval code")
                del self.data["approval_codes"][address]
            mailbox = {
                "id": mailbox_id or _new_id("mb"),
                "tenant_id": "tn_sandbox",
                "address": address,
                "display_name": display_name,
                "oversight_mode": "gated_send",  # MultiMail ignores a requested mode on creation
                "auto_cc": None,
                "auto_bcc": None,
                "forward_inbound": 0,
                "webhook_url": webhook_url,
                "oversight_webhook_url": None,
                "signature_block": None,
                "created_at": int(self.clock() * 1000),
                "is_active": 1,
            }
            self.data["mailboxes"][mailbox["id"]] = mailbox
            self._audit(actor, "mailbox.created", "mailbox", mailbox["id"], {"address": address})
            self.save()
        return 201, {"id": mailbox["id"], "address": address}

    def mailboxes_list(self) -> list[dict]:
        with self.lock:
            return [dict(m) for m in self.data["mailboxes"].values() if m["is_active"]]

    def mailbox_update(self, *, actor: dict, mailbox_id: str, changes: dict) -> None:
        allowed = {"display_name", "oversight_mode", "webhook_url", "signature_block", "auto_cc", "auto_bcc"}
        allowed |= {"forward_inbound", "oversight_webhook_url"}
        unknown = set(changes) - allowed
        if unknown:
            raise SandboxError(400, f"Unknown field(s): {', '.join(sorted(unknown))}")
        with self.lock:
            mailbox = self._mailbox(mailbox_id)
            mode = changes.get("oversight_mode")
            if mode is not None:
                if mode not in OVERSIGHT_MODES:
                    raise SandboxError(400, f"oversight_mode must be one of {', '.join(OVERSIGHT_MODES)}")
                # The spec: PATCH may only "downgrade" the mailbox's autonomy (toward read_only, more
                # oversight); loosening it is an "upgrade" that needs the operator's emailed code.
                if OVERSIGHT_MODES.index(mode) > OVERSIGHT_MODES.index(mailbox["oversight_mode"]):
                    raise SandboxError(
                        400,
                        "Oversight mode can only be downgraded here; "
                        "upgrades need POST /v1/mailboxes/{id}/request-upgrade",
                    )
            old = {k: mailbox.get(k) for k in changes}
            for name, value in changes.items():
                mailbox[name] = int(bool(value)) if name == "forward_inbound" else value
            self._audit(actor, "mailbox.updated", "mailbox", mailbox_id, {"old": old, "new": changes})
            self.save()

    def mailbox_delete(self, *, actor: dict, mailbox_id: str) -> None:
        with self.lock:
            self._mailbox(mailbox_id)["is_active"] = 0
            self._audit(actor, "mailbox.deleted", "mailbox", mailbox_id, {})
            self.save()

    # --- sending ---

    def send(self, *, actor: dict, mailbox_id: str, body: dict) -> tuple[int, dict]:
        to = _addresses(body.get("to"), "to", required=True)
        if len(to) > 50:
            raise SandboxError(400, "to accepts at most 50 recipients")
        cc = _addresses(body.get("cc"), "cc")
        bcc = _addresses(body.get("bcc"), "bcc")
        subject, markdown = body.get("subject"), body.get("markdown")
        if not isinstance(subject, str) or not subject.strip() or len(subject) > 998:
            raise SandboxError(400, "subject is required (at most 998 characters)")
        if not isinstance(markdown, str) or not markdown.strip() or len(markdown) > 262144:
            raise SandboxError(400, "markdown is required (at most 262144 characters)")
        attachments = _attachments(body.get("attachments"))
        gate_timing = body.get("gate_timing")
        if gate_timing is not None and gate_timing not in ("gate_first", "schedule_first"):
            raise SandboxError(400, "gate_timing must be gate_first or schedule_first")
        send_at = _send_at(body.get("send_at"))
        key = body.get("idempotency_key")
        if key is not None and (not isinstance(key, str) or not key or len(key) > 256):
            raise SandboxError(400, "idempotency_key must be a non-empty string")
        with self.lock:
            mailbox = self._mailbox(mailbox_id)
            if mailbox["oversight_mode"] == "read_only":
                raise SandboxError(403, "Mailbox is in read_only mode")
            now = self.clock()
            if key is not None:
                remembered = self.data["idempotency"].get(f"{mailbox_id}:{key}")
                if remembered and remembered["expires"] > now:
                    return 200, {"id": remembered["email_id"], "status": "already_sent", "idempotent": True}
            self.data["sequence"] += 1
            email = {
                "id": _new_id("em"),
                "seq": self.data["sequence"],
                "mailbox_id": mailbox_id,
                "direction": "outbound",
                "from": mailbox["address"],
                "to": to,
                "cc": cc,
                "bcc": bcc,
                "subject": subject,
                "markdown": markdown,
                "status": "pending_scan",
                "received_at": now,
                "thread_id": _new_id("th"),
                "attachments": attachments,
                "delivered_at": None,
                "bounced_at": None,
                "bounce_type": None,
                "approved_at": None,
                "approved_by": None,
                "spam_score": 0,
                "spam_verdict": "clean",
                "tags": {},
                "send_at": send_at,
                "scan_due": now + self.scan_seconds,
                "deliver_due": None,
                "gated": mailbox["oversight_mode"] in GATED_SEND_MODES,
            }
            self.data["emails"][email["id"]] = email
            self._wake_at(email)
            if key is not None:
                self.data["idempotency"][f"{mailbox_id}:{key}"] = {
                    "email_id": email["id"],
                    "expires": now + IDEMPOTENCY_TTL,
                }
                self._expiry.append((now + IDEMPOTENCY_TTL, f"{mailbox_id}:{key}"))
            self._audit(actor, "email.sent", "email", email["id"], {"mailbox_id": mailbox_id, "to": to})
            self._advance_locked()
            self.save()
        return 202, {
            "id": email["id"],
            "status": "pending_scan",
            "thread_id": email["thread_id"],
            "message": "Email queued for scanning and delivery",
        }

    def inbound(self, *, mailbox_id: str, body: dict) -> dict:
        """Sandbox-only: a customer writes to a mailbox (message.received, or held in gated_all)."""
        sender = body.get("from") or "customer@example.com"
        with self.lock:
            mailbox = self._mailbox(mailbox_id)
            now = self.clock()
            self.data["sequence"] += 1
            held = mailbox["oversight_mode"] == "gated_all"
            email = {
                **{k: None for k in ("delivered_at", "bounced_at", "bounce_type", "approved_at", "approved_by")},
                "id": _new_id("em"),
                "seq": self.data["sequence"],
                "mailbox_id": mailbox_id,
                "direction": "inbound",
                "from": str(sender),
                "to": [mailbox["address"]],
                "cc": [],
                "bcc": [],
                "subject": str(body.get("subject") or "(no subject)"),
                "markdown": str(body.get("markdown") or ""),
                "status": "pending_inbound_approval" if held else "unread",
                "received_at": now,
                "thread_id": body.get("thread_id") or _new_id("th"),
                "attachments": [],
                "spam_score": 0,
                "spam_verdict": "clean",
                "tags": {},
                "send_at": None,
                "scan_due": None,
                "deliver_due": None,
                "gated": held,
            }
            self.data["emails"][email["id"]] = email
            self._event("oversight.pending" if held else "message.received", email)
            self.save()
            return self.email_view(email)

    # --- oversight ---

    def pending(self) -> list[dict]:
        with self.lock:
            self._advance_locked()
            emails = sorted(
                (e for e in self.data["emails"].values() if e["status"] in statuses.IN_OVERSIGHT_QUEUE),
                key=lambda e: e["seq"],
            )
            return [
                {
                    "id": e["id"],
                    "mailbox_id": e["mailbox_id"],
                    "direction": e["direction"],
                    "from": e["from"],
                    "to": e["to"],
                    "subject": e["subject"],
                    "body_markdown": e["markdown"],
                    "status": e["status"],
                    "received_at": iso(e["received_at"]),
                }
                for e in emails
            ]

    def decide(self, *, actor: dict, email_id, action, reason) -> dict:
        if not isinstance(email_id, str) or not email_id:
            raise SandboxError(400, "email_id is required")
        if action not in ("approve", "reject"):
            raise SandboxError(400, "action must be approve or reject")
        if reason is not None and not isinstance(reason, str):
            raise SandboxError(400, "reason must be a string")
        with self.lock:
            self._advance_locked()
            email = self.data["emails"].get(email_id)
            if email is None or email["status"] not in statuses.IN_OVERSIGHT_QUEUE:
                raise SandboxError(404, "Email not found or not pending approval")
            now = self.clock()
            result: dict = {}
            if action == "reject":
                email["status"] = "rejected"
                result["status"] = "rejected"
                self._event("oversight.rejected", email, reason=reason or "")
            else:
                email["approved_at"] = now
                email["approved_by"] = actor["id"]
                if email["direction"] == "inbound":
                    email["status"] = "unread"
                    result["status"] = "approved"
                elif email["send_at"] and email["send_at"] > now:
                    email["status"] = "scheduled"
                    self._wake_at(email)
                    result["status"] = "approved"
                else:
                    self._leave(email)
                    result = {"status": "approved_and_sent", "postmark_message_id": email["postmark_message_id"]}
                self._event("oversight.approved", email, reason=reason or "")
            self._audit(
                actor, f"oversight.{result['status']}", "email", email_id, {"action": action, "reason": reason or ""}
            )
            self.save()
            return result

    # --- emails ---

    def _email(self, mailbox_id: str, email_id: str) -> dict:
        self._mailbox(mailbox_id)
        email = self.data["emails"].get(email_id)
        if email is None or email["mailbox_id"] != mailbox_id:
            raise SandboxError(404, "Email not found")
        return email

    def email_get(self, *, mailbox_id: str, email_id: str) -> dict:
        with self.lock:
            self._advance_locked()
            email = self._email(mailbox_id, email_id)
            if email["status"] == "unread":  # GET marks unread mail as read, as MultiMail does
                email["status"] = "read"
                self.save()
            return self.email_view(email)

    def email_view(self, email: dict) -> dict:
        return {
            "id": email["id"],
            "from": email["from"],
            "to": email["to"],
            "cc": email["cc"],
            "subject": email["subject"],
            "received_at": iso(email["received_at"]),
            "thread_id": email["thread_id"],
            "markdown": email["markdown"],
            "status": email["status"],
            "has_attachments": bool(email["attachments"]),
            "attachments": email["attachments"],
            "delivered_at": iso(email["delivered_at"]),
            "bounced_at": iso(email["bounced_at"]),
            "bounce_type": email["bounce_type"],
            "approved_at": iso(email["approved_at"]),
            "approved_by": email["approved_by"],
            "spam_score": email["spam_score"],
            "spam_verdict": email["spam_verdict"],
            "tags": email["tags"],
        }

    @staticmethod
    def summary_view(email: dict) -> dict:
        return {
            "id": email["id"],
            "from": email["from"],
            "to": email["to"],
            "subject": email["subject"],
            "direction": email["direction"],
            "status": email["status"],
            "spam_score": email["spam_score"],
            "spam_verdict": email["spam_verdict"],
            "received_at": iso(email["received_at"]),
            "thread_id": email["thread_id"],
            "has_attachments": bool(email["attachments"]),
            "delivered_at": iso(email["delivered_at"]),
            "bounced_at": iso(email["bounced_at"]),
            "bounce_type": email["bounce_type"],
        }

    def emails_list(self, *, mailbox_id: str, status=None, direction=None, limit=20, cursor=None) -> dict:
        with self.lock:
            self._advance_locked()
            self._mailbox(mailbox_id)
            emails = sorted(
                (e for e in self.data["emails"].values() if e["mailbox_id"] == mailbox_id),
                key=lambda e: -e["seq"],
            )
            if status:
                emails = [e for e in emails if e["status"] == status]
            if direction:
                emails = [e for e in emails if e["direction"] == direction]
            if cursor is not None:
                emails = [e for e in emails if e["seq"] < cursor]
            page = emails[:limit]
            more = len(emails) > limit
            return {
                "emails": [self.summary_view(e) for e in page],
                "cursor": str(page[-1]["seq"]) if more else None,
            }

    def cancel(self, *, actor: dict, mailbox_id: str, email_id: str) -> dict:
        with self.lock:
            self._advance_locked()
            email = self._email(mailbox_id, email_id)
            if email["status"] != "cancelled":
                if email["status"] not in CANCELLABLE:
                    raise SandboxError(409, f"Email is {email['status']}, which cannot be cancelled")
                email["status"] = "cancelled"
                self._audit(actor, "email.cancelled", "email", email_id, {})
                self.save()
            return {"id": email_id, "status": "cancelled"}

    def tags_set(self, *, actor: dict, mailbox_id: str, email_id: str, tags) -> dict:
        if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
            raise SandboxError(400, "tags must be an object of string values")
        with self.lock:
            email = self._email(mailbox_id, email_id)
            old = email["tags"]
            email["tags"] = dict(tags)
            self._audit(actor, "email.tags_updated", "email", email_id, {"old": old, "new": tags})
            self.save()
            return {"tags": email["tags"]}

    def thread(self, *, mailbox_id: str, thread_id: str) -> dict:
        with self.lock:
            self._advance_locked()
            self._mailbox(mailbox_id)
            emails = sorted(
                (
                    e
                    for e in self.data["emails"].values()
                    if e["mailbox_id"] == mailbox_id and e["thread_id"] == thread_id
                ),
                key=lambda e: e["seq"],
            )
            if not emails:
                raise SandboxError(404, "Thread not found or no emails")
            participants = sorted({a for e in emails for a in [e["from"], *e["to"], *e["cc"]]})
            last = emails[-1]
            return {
                "thread_id": thread_id,
                "message_count": len(emails),
                "participants": participants,
                "last_activity": iso(max(e["received_at"] for e in emails)),
                "has_unanswered_inbound": last["direction"] == "inbound",
                "emails": [
                    {
                        k: v
                        for k, v in self.summary_view(e).items()
                        if k not in ("spam_score", "spam_verdict", "thread_id", "bounce_type")
                    }
                    for e in emails
                ],
            }

    # --- webhooks ---

    def webhook_create(self, *, actor: dict, url, events, mailbox_id=None, secret=None, webhook_id=None) -> dict:
        if not isinstance(url, str) or not _webhook_url_ok(url):
            raise SandboxError(400, "url must be an https URL (http is allowed only to localhost)")
        if not isinstance(events, list) or not events or not all(isinstance(e, str) and e in EVENTS for e in events):
            raise SandboxError(400, f"events must be a non-empty list of: {', '.join(sorted(EVENTS))}")
        if mailbox_id is not None and not isinstance(mailbox_id, str):
            raise SandboxError(400, "mailbox_id must be a string")
        with self.lock:
            if mailbox_id is not None:
                self._mailbox(mailbox_id)
            webhook = {
                "id": webhook_id or _new_id("wh"),
                "url": url,
                "events": list(dict.fromkeys(events)),
                "mailbox_id": mailbox_id,
                "signing_secret": secret or f"whsec_{secrets.token_hex(24)}",
                "created_at": iso(self.clock()),
            }
            self.data["webhooks"][webhook["id"]] = webhook
            self._audit(actor, "webhook.created", "webhook", webhook["id"], {"url": url, "events": webhook["events"]})
            self.save()
            return dict(webhook)

    def webhooks_list(self) -> list[dict]:
        with self.lock:
            return [{k: v for k, v in w.items() if k != "signing_secret"} for w in self.data["webhooks"].values()]

    def webhook_get(self, webhook_id: str) -> dict:
        with self.lock:
            webhook = self.data["webhooks"].get(webhook_id)
            if webhook is None:
                raise SandboxError(404, "Subscription not found")
            return dict(webhook)

    def webhook_delete(self, *, actor: dict, webhook_id: str) -> None:
        with self.lock:
            if self.data["webhooks"].pop(webhook_id, None) is None:
                raise SandboxError(404, "Subscription not found")
            self._audit(actor, "webhook.deleted", "webhook", webhook_id, {})
            self.save()

    def deliveries_page(self, *, limit: int, cursor: int | None) -> dict:
        with self.lock:
            return _newest_first_page(self.data["deliveries"], limit, cursor, _delivery_view)

    def deliveries_due(self) -> list[dict]:
        """Pending deliveries whose next attempt is due, with what is needed to post them."""
        with self.lock:
            self._advance_locked()
            now = self.clock()
            return [dict(d) for d in self._pending_deliveries.values() if d["next_attempt_at"] <= now]

    def delivery_record(self, *, delivery_id: str, response_status: int | None, max_attempts: int, retry_base: float):
        with self.lock:
            delivery = self._pending_deliveries.get(delivery_id)
            if delivery is None:
                return
            now = self.clock()
            delivery["attempts"] += 1
            delivery["last_attempt_at"] = now
            delivery["response_status"] = response_status
            if response_status is not None and 200 <= response_status < 300:
                delivery["status"] = "delivered"
                del self._pending_deliveries[delivery_id]
            elif delivery["attempts"] >= max_attempts:
                delivery["status"] = "failed"
                del self._pending_deliveries[delivery_id]
            else:
                delivery["next_attempt_at"] = now + retry_base * 2 ** (delivery["attempts"] - 1)
            self.save()

    # --- audit log ---

    def audit_page(self, *, limit: int, cursor: int | None) -> dict:
        with self.lock:
            return _newest_first_page(self.data["audit"], limit, cursor, _audit_view)

    def _audit(self, actor: dict, action: str, resource_type: str, resource_id: str, metadata: dict) -> None:
        self.data["audit"].append(
            {
                "id": _new_id("al"),
                "action": action,
                "resource_type": resource_type,
                "resource_id": resource_id,
                "actor_key_id": actor["id"],
                "metadata": metadata,
                "created_at": self.clock(),
            }
        )

    # --- time passing: scans finish, mail leaves and is delivered ---

    def advance(self) -> None:
        with self.lock:
            if self._advance_locked():
                self.save()

    def _advance_locked(self) -> bool:
        now = self.clock()
        changed = False
        while self._due and self._due[0][0] <= now:
            _, email_id = heapq.heappop(self._due)
            changed = self._advance_email(self.data["emails"][email_id], now) or changed
        while self._expiry and self._expiry[0][0] <= now:
            _, key = self._expiry.popleft()
            entry = self.data["idempotency"].get(key)
            if entry is not None and entry["expires"] <= now:
                del self.data["idempotency"][key]
                changed = True
        return changed

    def _advance_email(self, email: dict, now: float) -> bool:
        """Whatever is due for `email` by `now` (scan, scheduled send, delivery); True if it changed."""
        changed = False
        if email["status"] == "pending_scan" and email["scan_due"] <= now:
            changed = True
            if email["gated"]:
                email["status"] = "pending_send_approval"
                self._event("oversight.pending", email)
            elif email["send_at"] and email["send_at"] > now:
                email["status"] = "scheduled"
            else:
                self._leave(email)
        elif email["status"] == "scheduled" and email["send_at"] and email["send_at"] <= now:
            changed = True
            self._leave(email)
        if email["deliver_due"] is not None and email["deliver_due"] <= now:
            changed = True
            email["deliver_due"] = None
            bounced = [a for a in email["to"] if a.split("@")[0].lower().startswith("bounce")]
            if bounced:
                email["bounced_at"], email["bounce_type"] = now, "HardBounce"
                self._event("message.bounced", email, bounce_type="HardBounce", recipients=bounced)
            else:
                email["delivered_at"] = now
                self._event("message.delivered", email)
        self._wake_at(email)
        return changed

    def _wake_at(self, email: dict) -> None:
        """Queue `email` for the next time something is due for it, if anything is."""
        times = [email["deliver_due"]] if email.get("deliver_due") is not None else []
        if email["status"] == "pending_scan":
            times.append(email["scan_due"])
        elif email["status"] == "scheduled" and email["send_at"]:
            times.append(email["send_at"])
        if times:
            heapq.heappush(self._due, (min(times), email["id"]))

    def _leave(self, email: dict) -> None:
        email["status"] = "approved_and_sent"
        email["postmark_message_id"] = f"pm-{secrets.token_hex(8)}"
        email["deliver_due"] = self.clock() + self.delivery_seconds
        self._wake_at(email)
        self._event("message.sent", email)

    def _event(self, event_type: str, email: dict, **extra) -> None:
        mailbox = self.data["mailboxes"].get(email["mailbox_id"], {})
        now = self.clock()
        event_id = _new_id("evt")
        payload = {
            "id": event_id,
            "event_type": event_type,
            "mailbox": mailbox.get("address", ""),
            "mailbox_id": email["mailbox_id"],
            "message_id": email["id"],
            "thread_id": email["thread_id"],
            "timestamp": iso(now),
            "direction": email["direction"],
            "status": email["status"],
            "from": email["from"],
            "to": email["to"],
            "subject": email["subject"],
            **extra,
        }
        for webhook in self.data["webhooks"].values():
            if event_type not in webhook["events"]:
                continue
            if webhook["mailbox_id"] not in (None, email["mailbox_id"]):
                continue
            delivery = {
                "id": _new_id("whd"),
                "webhook_id": webhook["id"],
                "event_type": event_type,
                "url": webhook["url"],
                "status": "pending",
                "attempts": 0,
                "response_status": None,
                "created_at": now,
                "last_attempt_at": None,
                "next_attempt_at": now,
                "body": json.dumps(payload, separators=(",", ":")),
                "secret": webhook["signing_secret"],
            }
            self.data["deliveries"].append(delivery)
            self._pending_deliveries[delivery["id"]] = delivery

    # --- seeding for `make run` ---

    def seed_demo(self, *, webhook_url: str | None, webhook_secret: str) -> None:
        actor = {"id": defaults.KEYS[defaults.ADMIN_KEY][0]}
        with self.lock:
            if defaults.DEMO_MAILBOX_ID not in self.data["mailboxes"]:
                self.mailbox_create(
                    actor=actor,
                    address_local=defaults.DEMO_MAILBOX_LOCAL,
                    display_name="Acme Support (sandbox)",
                    mailbox_id=defaults.DEMO_MAILBOX_ID,
                )
            if webhook_url and not any(w["url"] == webhook_url for w in self.data["webhooks"].values()):
                self.webhook_create(actor=actor, url=webhook_url, events=sorted(EVENTS), secret=webhook_secret)


def _newest_first_page(items: list[dict], limit: int, cursor: int | None, view) -> dict:
    """A page of `items` (stored oldest first) listed newest first; the cursor counts from the newest.
    Only the page's own items are viewed: a page costs the same however long the list has grown."""
    start = cursor or 0
    end = max(0, len(items) - start)
    page = [view(item) for item in reversed(items[max(0, end - limit) : end])]
    following = start + limit
    return {"items": page, "cursor": str(following) if following < len(items) else None}


def _delivery_view(delivery: dict) -> dict:
    return {k: delivery[k] for k in ("id", "event_type", "url", "status", "attempts", "response_status")} | {
        "created_at": iso(delivery["created_at"]),
        "last_attempt_at": iso(delivery["last_attempt_at"]),
    }


def _audit_view(entry: dict) -> dict:
    return {**entry, "created_at": iso(entry["created_at"])}


def _addresses(value, name: str, *, required: bool = False) -> list[str]:
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        raise SandboxError(400, f"{name} must be a{' non-empty' if required else ''} list of email addresses")
    for address in value:
        if not isinstance(address, str) or not EMAIL.match(address):
            raise SandboxError(400, f"{name} contains an invalid email address: {str(address)[:100]!r}")
    return list(value)


def _attachments(value) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SandboxError(400, "attachments must be a list")
    result = []
    for item in value:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) and item.get(k) for k in ("name", "content_base64", "content_type")
        ):
            raise SandboxError(400, "each attachment needs name, content_base64 and content_type")
        try:
            size = len(base64.b64decode(item["content_base64"], validate=True))
        except (binascii.Error, ValueError):
            raise SandboxError(400, f"attachment {item['name'][:100]!r} is not valid base64") from None
        result.append({"name": item["name"], "size": size, "content_type": item["content_type"]})
    return result


def _send_at(value) -> float | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.endswith("Z"):
        raise SandboxError(400, "send_at must be ISO 8601 UTC ending with Z")
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise SandboxError(400, "send_at must be ISO 8601 UTC ending with Z") from None


def _webhook_url_ok(url: str) -> bool:
    if url.startswith("https://") and len(url) > len("https://"):
        return True
    host = url.removeprefix("http://").split("/", 1)[0].rsplit(":", 1)[0]
    return url.startswith("http://") and host in ("127.0.0.1", "localhost", "[::1]")
