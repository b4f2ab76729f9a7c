"""The sandbox's oversight upgrade: loosening a mailbox needs a one-time code MultiMail emails to the
operator (contracts/multimail-openapi.json: request-upgrade and upgrade, send scope).

- request-upgrade {target_mode}: 400 for an unknown mode or the mode it already has; at most 3 requests
  an hour per mailbox (429 with Retry-After); the code (e.g. "A7X-29K") goes to the operator, here
  readable at GET /_sandbox/upgrade-codes; a newer request replaces the older code.
- upgrade {code}: 404 when no request is pending (or it expired after 24 hours), 403 for a wrong code,
  else the mailbox takes the requested mode and the code is spent.
- GET /v1/account: the tenant, whose physical_address (state "account") commercial mail must carry.
"""

from __future__ import annotations

import hmac
import secrets

from reviewqueue.sandbox.multimail.common import OVERSIGHT_MODES, SandboxError

REQUESTS_PER_HOUR = 3
CODE_TTL = 24 * 3600
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
DEFAULT_ADDRESS = "Fernhill Outdoor Ltd, 12 Ridge Road, Keswick CA12 5AB, United Kingdom"


def _code() -> str:
    pick = "".join(secrets.choice(_ALPHABET) for _ in range(6))
    return f"{pick[:3]}-{pick[3:]}"


class Upgrades:
    """Part of SandboxState (state.py)."""

    def upgrade_request(self, *, actor: dict, mailbox_id: str, target_mode) -> dict:
        if target_mode not in OVERSIGHT_MODES:
            raise SandboxError(400, f"target_mode must be one of {', '.join(OVERSIGHT_MODES)}")
        with self.lock:
            mailbox = self._mailbox(mailbox_id)
            if mailbox["oversight_mode"] == target_mode:
                raise SandboxError(400, f"Mailbox is already in {target_mode}")
            now = self.clock()
            requests = self.data.setdefault("upgrade_requests", {})
            recent = [t for t in requests.get(mailbox_id, []) if t > now - 3600]
            if len(recent) >= REQUESTS_PER_HOUR:
                wait = int(recent[0] + 3600 - now) + 1
                raise SandboxError(429, "Too many upgrade requests: 3 per hour per mailbox", {"Retry-After": str(wait)})
            requests[mailbox_id] = [*recent, now]
            self.data.setdefault("upgrade_codes", {})[mailbox_id] = {
                "code": _code(),
                "target_mode": target_mode,
                "expires": now + CODE_TTL,
            }
            self._audit(actor, "mailbox.upgrade_requested", "mailbox", mailbox_id, {"target_mode": target_mode})
            self.save()
            return {"status": "code_sent", "mailbox_id": mailbox_id, "target_mode": target_mode}

    def upgrade_redeem(self, *, actor: dict, mailbox_id: str, code) -> dict:
        if not isinstance(code, str) or not code.strip():
            raise SandboxError(400, "code is required")
        with self.lock:
            mailbox = self._mailbox(mailbox_id)
            pending = self.data.setdefault("upgrade_codes", {}).get(mailbox_id)
            if pending is None or pending["expires"] <= self.clock():
                raise SandboxError(404, "No pending upgrade request")
            if not hmac.compare_digest(pending["code"].encode(), code.strip().upper().encode()):
                raise SandboxError(403, "Invalid upgrade code")
            del self.data["upgrade_codes"][mailbox_id]
            old = mailbox["oversight_mode"]
            mailbox["oversight_mode"] = pending["target_mode"]
            self._audit(actor, "mailbox.upgraded", "mailbox", mailbox_id, {"old": old, "new": pending["target_mode"]})
            self.save()
            return {"status": "upgraded", "mailbox_id": mailbox_id, "oversight_mode": pending["target_mode"]}

    def upgrade_codes(self) -> dict:
        """Sandbox only: the codes MultiMail would have emailed, by mailbox."""
        with self.lock:
            return {k: dict(v) for k, v in self.data.get("upgrade_codes", {}).items()}

    def account(self) -> dict:
        """GET /v1/account (AccountInfo): the tenant, with the physical address its commercial mail must carry."""
        with self.lock:
            account = self.data.setdefault("account", {})
            return {
                "id": "acct_sandbox",
                "name": "Fernhill Outdoor (sandbox)",
                "slug": "fernhill",
                "plan": "pro",
                "oversight_email": "operator@fernhill.example",
                "physical_address": account.get("physical_address", DEFAULT_ADDRESS),
                "monthly_email_quota": 50000,
                "emails_sent_this_month": sum(1 for e in self.data["emails"].values() if e.get("identity")),
                "max_mailboxes": self.mailbox_limit,
                "storage_used_bytes": 0,
                "max_storage_bytes": 1 << 30,
                "is_active": True,
                "sending_disabled": False,
                "sending_disabled_reason": None,
            }
