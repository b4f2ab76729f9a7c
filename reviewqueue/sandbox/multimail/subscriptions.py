"""The MultiMail sandbox's webhook subscriptions, the events they are sent and each delivery's record."""

from __future__ import annotations

import json
import secrets

from reviewqueue.sandbox.multimail.common import (
    EVENTS,
    SandboxError,
    iso,
    new_id,
    newest_first_page,
)


class Subscriptions:
    """Part of SandboxState (state.py): its data, lock, clock and audit log are there."""

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
                "id": webhook_id or new_id("wh"),
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
            return newest_first_page(self.data["deliveries"], limit, cursor, _delivery_view)

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

    def _event(self, event_type: str, email: dict, **extra) -> None:
        mailbox = self.data["mailboxes"].get(email["mailbox_id"], {})
        now = self.clock()
        event_id = new_id("evt")
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
                "id": new_id("whd"),
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


def _delivery_view(delivery: dict) -> dict:
    return {k: delivery[k] for k in ("id", "event_type", "url", "status", "attempts", "response_status")} | {
        "created_at": iso(delivery["created_at"]),
        "last_attempt_at": iso(delivery["last_attempt_at"]),
    }


def _webhook_url_ok(url: str) -> bool:
    if url.startswith("https://") and len(url) > len("https://"):
        return True
    host = url.removeprefix("http://").split("/", 1)[0].rsplit(":", 1)[0]
    return url.startswith("http://") and host in ("127.0.0.1", "localhost", "[::1]")
