"""The Intercom sandbox's data: admins, contacts, conversations with parts, tags.

Plain dicts in Intercom's own REST shapes (contracts/intercom-openapi-2.14.yaml,
contracts/intercom.md), guarded by one lock, written to a JSON file after every change when a path
is given (so `make run` keeps its conversations across restarts). Every change to a conversation
returns the topic of the webhook Intercom would send for it.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from reviewqueue.sandbox.intercom import defaults


class SandboxError(Exception):
    """Answered as an Intercom error.list."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


BOT_ADMINS = {"992"}  # Fin, Intercom's AI agent


def _empty() -> dict:
    return {
        "app": {"type": "app", "id_code": defaults.APP_ID, "name": "Sandbox workspace", "region": "US"},
        "admins": {
            defaults.ADMIN_ID: {
                "type": "admin",
                "id": defaults.ADMIN_ID,
                "name": "Sandbox Admin",
                "email": "admin@sandbox.intercom.local",
            },
            "992": {"type": "admin", "id": "992", "name": "Fin (bot)", "email": "fin@sandbox.intercom.local"},
        },
        "contacts": {},
        "conversations": {},
        "tags": {},
        "next_id": 1000,
    }


class SandboxState:
    def __init__(self, path: str | Path | None = None, *, clock: Callable[[], float] = time.time):
        self.path = Path(path) if path else None
        self.clock = clock
        self.lock = threading.RLock()
        self.data = _empty()
        if self.path and self.path.exists():
            self.data = json.loads(self.path.read_text())

    # --- persistence ---------------------------------------------------------------------------
    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".intercom-", suffix=".json")
        with os.fdopen(fd, "w") as handle:
            json.dump(self.data, handle)
        os.replace(temporary, self.path)

    def now(self) -> int:
        return int(self.clock())

    def _next_id(self) -> str:
        self.data["next_id"] += 1
        return str(self.data["next_id"])

    # --- admins --------------------------------------------------------------------------------
    def me(self) -> dict:
        with self.lock:
            admin = copy.deepcopy(self.data["admins"][defaults.ADMIN_ID])
            return {**admin, "app": copy.deepcopy(self.data["app"])}

    def admin(self, admin_id) -> dict:
        found = self.data["admins"].get(str(admin_id))
        if found is None:
            raise SandboxError(404, "admin_not_found", f"Admin Not Found: {admin_id}")
        return found

    # --- contacts ------------------------------------------------------------------------------
    def contact_create(self, *, email: str, name: str = "", role: str = "user", external_id: str = "") -> dict:
        with self.lock:
            if email and any(c["email"] == email and c["role"] == role for c in self.data["contacts"].values()):
                raise SandboxError(409, "conflict", "A contact matching those details already exists")
            contact = {
                "type": "contact",
                "id": secrets.token_hex(12),
                "workspace_id": self.data["app"]["id_code"],
                "external_id": external_id or None,
                "role": role,
                "email": email,
                "name": name or None,
                "created_at": self.now(),
                "updated_at": self.now(),
            }
            self.data["contacts"][contact["id"]] = contact
            self.save()
            return copy.deepcopy(contact)

    def contact(self, contact_id: str) -> dict:
        with self.lock:
            found = self.data["contacts"].get(contact_id)
            if found is None:
                raise SandboxError(404, "not_found", "User Not Found")
            return copy.deepcopy(found)

    def contacts(self, where: Callable[[dict], bool] | None = None) -> list[dict]:
        """Copies of the contacts `where` accepts (all without it). Filtered before copying: a search
        that copied every contact cost the soak's sandbox more CPU than the system it stood in for."""
        with self.lock:
            return _copies(self.data["contacts"].values(), where)

    def _find_contact(self, *, contact_id="", email="") -> dict:
        for contact in self.data["contacts"].values():
            if (contact_id and contact["id"] == contact_id) or (email and contact["email"] == email):
                return contact
        raise SandboxError(404, "not_found", "User Not Found")

    # --- conversations -------------------------------------------------------------------------
    def _conversation(self, conversation_id: str) -> dict:
        found = self.data["conversations"].get(str(conversation_id))
        if found is None:
            raise SandboxError(404, "not_found", "Resource Not Found")
        return found

    def conversation(self, conversation_id: str) -> dict:
        with self.lock:
            return copy.deepcopy(self._conversation(conversation_id))

    def conversations(self, where: Callable[[dict], bool] | None = None) -> list[dict]:
        """Copies of the conversations `where` accepts (all without it), filtered before copying."""
        with self.lock:
            return _copies(self.data["conversations"].values(), where)

    def conversation_create(self, *, contact_id: str, body: str) -> tuple[dict, str]:
        """A customer writes in: a new open conversation whose source is their message."""
        with self.lock:
            contact = self._find_contact(contact_id=contact_id)
            now = self.now()
            conversation_id = self._next_id()
            author = _contact_author(contact)
            self.data["conversations"][conversation_id] = {
                "type": "conversation",
                "id": conversation_id,
                "title": None,
                "created_at": now,
                "updated_at": now,
                "waiting_since": now,
                "snoozed_until": None,
                "open": True,
                "state": "open",
                "read": False,
                "priority": "not_priority",
                "admin_assignee_id": None,
                "team_assignee_id": None,
                "source": {
                    "type": "conversation",
                    "id": self._next_id(),
                    "delivered_as": "customer_initiated",
                    "subject": "",
                    "body": body,
                    "author": author,
                    "attachments": [],
                    "url": None,
                },
                "contacts": {
                    "type": "contact.list",
                    "contacts": [{"type": "contact", "id": contact["id"], "external_id": contact["external_id"]}],
                },
                "tags": {"type": "tag.list", "tags": []},
                "custom_attributes": {},
                "conversation_parts": {"type": "conversation_part.list", "conversation_parts": [], "total_count": 0},
            }
            self.save()
            return copy.deepcopy(self.data["conversations"][conversation_id]), "conversation.user.created"

    def _add_part(self, conversation: dict, *, part_type: str, body: str | None, author: dict) -> dict:
        now = self.now()
        part = {
            "type": "conversation_part",
            "id": self._next_id(),
            "part_type": part_type,
            "body": body,
            "created_at": now,
            "updated_at": now,
            "notified_at": now,
            "assigned_to": None,
            "author": author,
            "attachments": [],
            "external_id": None,
            "redacted": False,
        }
        parts = conversation["conversation_parts"]
        parts["conversation_parts"].append(part)
        parts["conversation_parts"] = parts["conversation_parts"][-500:]  # Intercom returns the 500 newest
        parts["total_count"] = len(parts["conversation_parts"])
        conversation["updated_at"] = now
        return part

    def reply(self, conversation_id: str, request: dict) -> tuple[dict, str]:
        """POST /conversations/{id}/reply: an admin comment or note, or a contact's reply."""
        with self.lock:
            conversation = self._conversation(conversation_id)
            message_type = request.get("message_type")
            body = request.get("body")
            if message_type is None:  # required of admins and contacts alike (reply_conversation_request)
                raise SandboxError(400, "parameter_invalid", "message_type is required")
            if not isinstance(body, str) or not body.strip():
                raise SandboxError(400, "parameter_invalid", "Body is required")
            if request.get("type") == "admin":
                if message_type not in ("comment", "note"):
                    raise SandboxError(400, "parameter_invalid", "message_type must be comment or note")
                admin = self.admin(request.get("admin_id"))
                bot = admin["id"] in BOT_ADMINS  # Fin: its parts are a bot's, its replies "operator" replies
                author = {
                    "type": "bot" if bot else "admin",
                    "id": admin["id"],
                    "name": admin["name"],
                    "email": admin["email"],
                }
                self._add_part(conversation, part_type=message_type, body=body, author=author)
                if message_type == "comment":
                    conversation["waiting_since"] = None
                if message_type == "note":
                    topic = "conversation.admin.noted"
                else:
                    topic = "conversation.operator.replied" if bot else "conversation.admin.replied"
            elif request.get("type") == "user":
                if message_type != "comment":
                    raise SandboxError(400, "parameter_invalid", "a contact can only send a comment")
                contact = self._find_contact(
                    contact_id=str(request.get("intercom_user_id") or request.get("user_id") or ""),
                    email=str(request.get("email") or ""),
                )
                self._add_part(conversation, part_type="comment", body=body, author=_contact_author(contact))
                conversation["waiting_since"] = conversation["updated_at"]
                if not conversation["open"]:  # a customer's reply reopens the conversation
                    conversation["open"], conversation["state"] = True, "open"
                topic = "conversation.user.replied"
            else:
                raise SandboxError(400, "parameter_invalid", "type must be admin or user")
            self.save()
            return copy.deepcopy(conversation), topic

    def manage(self, conversation_id: str, request: dict) -> tuple[dict, str]:
        """POST /conversations/{id}/parts: close, open, snooze, assignment (by an admin)."""
        with self.lock:
            conversation = self._conversation(conversation_id)
            admin = self.admin(request.get("admin_id"))
            author = {"type": "admin", "id": admin["id"], "name": admin["name"], "email": admin["email"]}
            action = request.get("message_type")
            if action == "close":
                conversation["open"], conversation["state"] = False, "closed"
                topic = "conversation.admin.closed"
            elif action == "open":
                conversation["open"], conversation["state"] = True, "open"
                topic = "conversation.admin.opened"
            elif action == "snooze":
                conversation["state"], conversation["snoozed_until"] = "snoozed", request.get("snoozed_until")
                topic = "conversation.admin.snoozed"
            elif action == "assignment":
                conversation["admin_assignee_id"] = int(self.admin(request.get("assignee_id"))["id"])
                topic = "conversation.admin.assigned"
            else:
                raise SandboxError(400, "parameter_invalid", "message_type must be close, open, snooze or assignment")
            self._add_part(conversation, part_type=action, body=request.get("body"), author=author)
            self.save()
            return copy.deepcopy(conversation), topic

    # --- tags ----------------------------------------------------------------------------------
    def tag_ensure(self, name: str) -> dict:
        if not isinstance(name, str) or not name.strip():
            raise SandboxError(400, "parameter_invalid", "name is required")
        with self.lock:
            for tag in self.data["tags"].values():
                if tag["name"] == name:
                    return copy.deepcopy(tag)
            tag = {"type": "tag", "id": self._next_id(), "name": name}
            self.data["tags"][tag["id"]] = tag
            self.save()
            return copy.deepcopy(tag)

    def tags(self) -> list[dict]:
        with self.lock:
            return copy.deepcopy(list(self.data["tags"].values()))

    def tag_conversation(self, conversation_id: str, request: dict) -> tuple[dict, str]:
        with self.lock:
            conversation = self._conversation(conversation_id)
            self.admin(request.get("admin_id"))
            tag = self.data["tags"].get(str(request.get("id")))
            if tag is None:
                raise SandboxError(404, "tag_not_found", "Tag not found")
            tags = conversation["tags"]["tags"]
            if all(t["id"] != tag["id"] for t in tags):
                tags.append({"type": "tag", "id": tag["id"], "name": tag["name"], "applied_at": self.now()})
                conversation["updated_at"] = self.now()
                self.save()
            return copy.deepcopy(tag), "conversation_part.tag.created"

    def untag_conversation(self, conversation_id: str, tag_id: str) -> dict:
        with self.lock:
            conversation = self._conversation(conversation_id)
            tag = self.data["tags"].get(str(tag_id))
            if tag is None:
                raise SandboxError(404, "tag_not_found", "Tag not found")
            conversation["tags"]["tags"] = [t for t in conversation["tags"]["tags"] if t["id"] != tag["id"]]
            conversation["updated_at"] = self.now()
            self.save()
            return copy.deepcopy(tag)


def _contact_author(contact: dict) -> dict:
    return {"type": contact["role"], "id": contact["id"], "name": contact["name"], "email": contact["email"]}


def _copies(items, where: Callable[[dict], bool] | None) -> list[dict]:
    return [copy.deepcopy(item) for item in items if where is None or where(item)]
