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

import collections
import json
import os
import secrets
import threading
import time
from pathlib import Path

from reviewqueue.sandbox.multimail import defaults
from reviewqueue.sandbox.multimail.common import (
    ADDRESS_LOCAL,
    EVENTS,
    OVERSIGHT_MODES,
    SCOPES,
    SandboxError,
    iso,
    new_id,
    newest_first_page,
)
from reviewqueue.sandbox.multimail.emails import Emails
from reviewqueue.sandbox.multimail.identity import Identity
from reviewqueue.sandbox.multimail.sending import Sending
from reviewqueue.sandbox.multimail.subscriptions import Subscriptions
from reviewqueue.sandbox.multimail.upgrades import Upgrades


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


class SandboxState(Sending, Emails, Subscriptions, Identity, Upgrades):
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
            key = {"id": new_id("key"), "name": name, "scopes": sorted(set(scopes)), "created_at": self.clock()}
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
                "id": mailbox_id or new_id("mb"),
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

    # --- audit log ---

    def audit_page(self, *, limit: int, cursor: int | None) -> dict:
        with self.lock:
            return newest_first_page(self.data["audit"], limit, cursor, _audit_view)

    def _audit(self, actor: dict, action: str, resource_type: str, resource_id: str, metadata: dict) -> None:
        self.data["audit"].append(
            {
                "id": new_id("al"),
                "action": action,
                "resource_type": resource_type,
                "resource_id": resource_id,
                "actor_key_id": actor["id"],
                "metadata": metadata,
                "created_at": self.clock(),
            }
        )

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


def _audit_view(entry: dict) -> dict:
    return {**entry, "created_at": iso(entry["created_at"])}
