"""The MultiMail sandbox's emails as read and decided: the oversight queue, one email, a page, a thread, tags."""

from __future__ import annotations

from reviewqueue.integrations.multimail import statuses
from reviewqueue.sandbox.multimail.common import (
    SandboxError,
    iso,
)


class Emails:
    """Part of SandboxState (state.py): its data, lock, clock and audit log are there."""

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
