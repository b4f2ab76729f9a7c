"""The MultiMail sandbox's sending: sends, inbound mail, cancelling, and time passing (scans, schedules, delivery)."""

from __future__ import annotations

import base64
import binascii
import heapq
import secrets
from datetime import datetime

from reviewqueue.sandbox.multimail.common import (
    CANCELLABLE,
    EMAIL,
    GATED_SEND_MODES,
    IDEMPOTENCY_TTL,
    SandboxError,
    new_id,
)


class Sending:
    """Part of SandboxState (state.py): its data, lock, clock and audit log are there."""

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
                "id": new_id("em"),
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
                "thread_id": new_id("th"),
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
                "id": new_id("em"),
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
                "thread_id": body.get("thread_id") or new_id("th"),
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

    # --- cancelling ---

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
        self.identity_stamp(email)  # the signed X-MultiMail-Identity claim (identity.py)
        email["deliver_due"] = self.clock() + self.delivery_seconds
        self._wake_at(email)
        self._event("message.sent", email)


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
