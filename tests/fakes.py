"""MultiMail and Intercom faked at the HTTP boundary (httpx.MockTransport): the one fake of each the
tests share, besides the sandboxes (reviewqueue/sandbox/).

They answer in the published shapes (contracts/multimail-openapi-subset.json,
contracts/intercom-openapi-2.14.yaml) so the real clients parse them; state lives in plain dicts so
a test can arrange and inspect it, and every request is kept.
"""

import itertools
import json
import re
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import httpx

from reviewqueue.integrations.intercom.client import IntercomClient
from reviewqueue.integrations.multimail.client import MultiMailClient

MULTIMAIL_KEYS = {"api_key": "mm_live_oversight", "send_api_key": "mm_live_send", "admin_api_key": "mm_live_admin"}
EMAIL_PATH = re.compile(r"/v1/mailboxes/([^/]+)/emails/([^/]+)(/tags)?")
MAILBOX_PATH = re.compile(r"/v1/mailboxes/([^/]+)")
SEND_PATH = re.compile(r"/v1/mailboxes/([^/]+)/send")
WEBHOOK_PATH = re.compile(r"/v1/webhooks/([^/]+)")


def _json(status: int, body: dict) -> httpx.Response:
    return httpx.Response(status, json=body)


class FakeMultiMail:
    """Just enough of MultiMail's API for mailboxes, webhooks, sends, the oversight queue and tags."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.mailboxes: dict[str, dict] = {}
        self.webhooks: dict[str, dict] = {}
        self.emails: dict[str, dict] = {}
        self.sends: list[dict] = []  # every POST …/send that reached us
        self.sent_by_key: dict[str, str] = {}  # idempotency key → email id
        self.deliveries: list[dict] = []
        self.audit_log: list[dict] = []  # newest first, as GET /v1/audit-log pages it
        self.requests: list[httpx.Request] = []
        self.calls: Counter = Counter()
        self.plan_limit = 10
        self.require_approval_code = None  # a code MultiMail "emailed" the operator
        self.fail: dict[tuple[str, str], tuple[int, dict]] = {}  # (method, path prefix) → (status, body)
        self.down = False  # answer 503 to everything

    def add_mailbox(self, mailbox_id, address, mode="gated_send", name=""):
        self.mailboxes[mailbox_id] = {
            "id": mailbox_id,
            "address": address,
            "display_name": name,
            "oversight_mode": mode,
            "webhook_url": None,
            "created_at": 1764000000000,
            "is_active": 1,
        }

    def add_email(self, email_id: str, *, mailbox_id: str = "mbx_1", **fields) -> dict:
        email = {
            "id": email_id,
            "mailbox_id": mailbox_id,
            "from": "support@acme.test",
            "to": ["customer@example.com"],
            "cc": [],
            "subject": f"Re: order {email_id}",
            "markdown": "Hello, your order shipped.",
            "status": "pending_send_approval",
            "received_at": "2026-11-25T10:00:00Z",
            "thread_id": f"thr_{email_id}",
            "attachments": [],
            "tags": {},
            "spam_verdict": "clean",
            "spam_score": 0,
            **fields,
        }
        self.emails[email_id] = email
        return email

    def add_audit_entry(self, action: str, resource_id: str, *, resource_type="email", key="key_oversight") -> None:
        self.audit_log.insert(
            0,
            {
                "id": f"al_{len(self.audit_log) + 1}",
                "action": action,
                "resource_type": resource_type,
                "resource_id": resource_id,
                "actor_key_id": key,
                "metadata": {"action": action.split(".")[-1], "reason": "…"},
                "created_at": datetime.now(UTC).isoformat(),
            },
        )

    def client(self, **keys) -> MultiMailClient:
        """A real client talking to this fake; pass a key as "" to leave it out."""
        return MultiMailClient(
            base_url="https://api.multimail.test",
            transport=httpx.MockTransport(self.handle),
            sleep=lambda _seconds: None,
            **{**MULTIMAIL_KEYS, **keys},
        )

    def count(self, method, suffix):
        return sum(1 for r in self.requests if r.method == method and r.url.path.endswith(suffix))

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            if self.down:
                self.calls["down"] += 1
                return _json(503, {"error": "unavailable"})
            for (method, prefix), (status, answer) in self.fail.items():
                if request.method == method and request.url.path.startswith(prefix):
                    return _json(status, answer)
            if (request.method, request.url.path) == ("GET", "/v1/audit-log"):
                return self._audit_page(request)
            body = json.loads(request.content) if request.content else {}
            return self._answer(request.method, request.url.path, body)

    def _answer(self, method, path, body):
        if (method, path) == ("GET", "/v1/mailboxes"):
            return _json(200, {"mailboxes": list(self.mailboxes.values())})
        if (method, path) == ("POST", "/v1/mailboxes"):
            return self._create_mailbox(body)
        if (method, path) == ("POST", "/v1/webhooks"):
            return self._create_webhook(body)
        if (method, path) == ("GET", "/v1/webhook-deliveries"):
            return _json(200, {"deliveries": self.deliveries, "cursor": None})
        if (method, path) == ("GET", "/v1/oversight/pending"):
            return self._pending()
        if (method, path) == ("POST", "/v1/oversight/decide"):
            return self._decide(body)
        if method == "POST" and (match := SEND_PATH.fullmatch(path)):
            return self._send(match.group(1), body)
        if match := EMAIL_PATH.fullmatch(path):
            return self._email(method, match.group(2), tags=match.group(3), body=body)
        if method == "PATCH" and (match := MAILBOX_PATH.fullmatch(path)):
            return self._update_mailbox(match.group(1), body)
        if method == "DELETE" and (match := WEBHOOK_PATH.fullmatch(path)):
            if self.webhooks.pop(match.group(1), None) is None:
                return _json(404, {"error": "not found"})
            return _json(200, {"deleted": True})
        return _json(404, {"error": f"no route {method} {path}"})

    def _audit_page(self, request):
        if request.headers.get("Authorization") != f"Bearer {MULTIMAIL_KEYS['admin_api_key']}":
            return _json(401, {"error": "unauthorized"})
        # The cursor counts entries from the oldest, as the sandbox's: a page stays put while entries arrive.
        total = len(self.audit_log)
        start = total - int(request.url.params["cursor"]) if request.url.params.get("cursor") else 0
        following = start + int(request.url.params.get("limit") or 50)
        cursor = str(total - following) if following < total else None
        return _json(200, {"entries": self.audit_log[start:following], "cursor": cursor})

    def _create_mailbox(self, body):
        address = f"{body['address_local']}@acme.multimail.dev"
        if any(b["address"] == address for b in self.mailboxes.values()):
            return _json(409, {"error": "address already in use"})
        if len(self.mailboxes) >= self.plan_limit:
            return _json(403, {"error": "plan mailbox limit reached"})
        if self.require_approval_code and body.get("approval_code") != self.require_approval_code:
            return _json(202, {"message": "Approval code sent to the operator's email"})
        mailbox_id = f"mb_{next(self.ids)}"
        self.add_mailbox(mailbox_id, address, name=body.get("display_name", ""))
        return _json(201, {"id": mailbox_id, "address": address})

    def _update_mailbox(self, mailbox_id, body):
        box = self.mailboxes.get(mailbox_id)
        if box is None:
            return _json(404, {"error": "not found"})
        box.update(body)
        return _json(200, {"status": "updated"})

    def _create_webhook(self, body):
        hook = {
            "id": f"wh_{next(self.ids)}",
            "url": body["url"],
            "events": body["events"],
            "mailbox_id": body.get("mailbox_id"),
            "signing_secret": f"whsec_secret{next(self.ids)}",
            "created_at": "2026-11-25T10:00:00Z",
        }
        self.webhooks[hook["id"]] = hook
        return _json(201, hook)

    def _send(self, mailbox_id, body):
        self.sends.append({"mailbox_id": mailbox_id, **body})
        key = body.get("idempotency_key")
        if key and key in self.sent_by_key:
            return _json(200, {"id": self.sent_by_key[key], "status": "already_sent", "idempotent": True})
        email_id = f"em_{next(self.ids)}"
        if key:
            self.sent_by_key[key] = email_id
        fields = {name: body[name] for name in ("to", "cc", "subject", "markdown") if name in body}
        email = self.add_email(email_id, mailbox_id=mailbox_id, status="pending_scan", **fields)
        return _json(202, {"id": email_id, "status": email["status"], "thread_id": email["thread_id"]})

    def _pending(self):
        self.calls["pending"] += 1
        pending = [e for e in self.emails.values() if e["status"] == "pending_send_approval"]
        emails = [{**e, "body_markdown": e["markdown"], "direction": "outbound"} for e in pending]
        return _json(200, {"emails": emails})

    def _decide(self, body):
        self.calls["decide"] += 1
        email = self.emails.get(body["email_id"])
        if email is None or email["status"] != "pending_send_approval":
            return _json(404, {"error": "not found or not pending"})
        email["status"] = "approved_and_sent" if body["action"] == "approve" else "rejected"
        email["decide_reason"] = body.get("reason", "")
        self.calls["decide_applied"] += 1
        return _json(200, {"status": email["status"]})

    def _email(self, method, email_id, *, tags, body):
        email = self.emails.get(email_id)
        if email is None:
            return _json(404, {"error": "no such email"})
        if tags and method == "PUT":
            self.calls["set_tags"] += 1
            email["tags"] = body["tags"]
            return _json(200, {"tags": email["tags"]})
        self.calls["get_email"] += 1
        return _json(200, email)


class FakeIntercom:
    def __init__(self):
        self.conversations: dict[str, dict] = {}
        self.contacts: dict[str, dict] = {}
        self.tags: dict[str, dict] = {}
        self.calls: Counter = Counter()
        self.down = False
        self.lock = threading.Lock()
        self._ids = 1000

    def _next_id(self) -> str:
        self._ids += 1
        return str(self._ids)

    def add_contact(self, email: str) -> dict:
        contact = {"type": "contact", "id": f"ct_{len(self.contacts) + 1}", "email": email, "role": "user"}
        self.contacts[contact["id"]] = contact
        return contact

    def add_conversation(self, conversation_id: str, *, contact: dict, updated_at: int = 1_764_000_000, **fields):
        conversation = {
            "type": "conversation",
            "id": conversation_id,
            "title": "Order question",
            "created_at": updated_at - 3600,
            "updated_at": updated_at,
            "waiting_since": updated_at - 1800,
            "open": True,
            "state": "open",
            "priority": "not_priority",
            "admin_assignee_id": None,
            "team_assignee_id": None,
            "source": {
                "type": "conversation",
                "subject": "",
                "body": "<p>Where is my order? See https://shop.acme.test/orders/1</p>",
                "author": {"type": "user", "id": contact["id"], "name": "Cleo", "email": contact["email"]},
            },
            "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": contact["id"], **contact}]},
            "tags": {"type": "tag.list", "tags": []},
            "conversation_parts": {"type": "conversation_part.list", "conversation_parts": []},
            **fields,
        }
        self.conversations[conversation_id] = conversation
        return conversation

    def add_part(self, conversation_id: str, *, author_type: str, body: str, created_at: int, part_type="comment"):
        conversation = self.conversations[conversation_id]
        part = {
            "type": "conversation_part",
            "id": self._next_id(),
            "part_type": part_type,
            "body": body,
            "created_at": created_at,
            "author": {"type": author_type, "id": "a1", "name": "Cleo", "email": ""},
        }
        conversation["conversation_parts"]["conversation_parts"].append(part)
        conversation["updated_at"] = max(conversation["updated_at"], created_at)
        return part

    def notes(self, conversation_id: str) -> list[dict]:
        parts = self.conversations[conversation_id]["conversation_parts"]["conversation_parts"]
        return [p for p in parts if p["part_type"] == "note"]

    def client(self) -> IntercomClient:
        return IntercomClient(
            base_url="https://intercom.test",
            access_token="ic_token",
            admin_id="admin_1",
            transport=httpx.MockTransport(self.handle),
            sleep=lambda _seconds: None,
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        with self.lock:
            if self.down:
                self.calls["down"] += 1
                return _json(
                    503, {"type": "error.list", "errors": [{"code": "service_unavailable", "message": "down"}]}
                )
            if path == "/me":
                return _json(200, {"type": "admin", "id": "admin_1", "name": "Bot", "app": {"id_code": "app1"}})
            if method == "POST" and path == "/contacts/search":
                self.calls["search_contacts"] += 1
                email = json.loads(request.content)["query"]["value"]
                return _json(200, {"type": "list", "data": [c for c in self.contacts.values() if c["email"] == email]})
            if method == "POST" and path == "/conversations/search":
                self.calls["search_conversations"] += 1
                conditions = json.loads(request.content)["query"]["value"]
                contact_id = conditions[0]["value"]
                found = [
                    c
                    for c in self.conversations.values()
                    if any(x["id"] == contact_id for x in c["contacts"]["contacts"]) and c["open"]
                ]
                return _json(200, {"type": "conversation.list", "conversations": found})
            if method == "POST" and path == "/tags":
                name = json.loads(request.content)["name"]
                tag = self.tags.setdefault(name, {"type": "tag", "id": f"tag_{len(self.tags) + 1}", "name": name})
                return _json(200, tag)
            match = re.fullmatch(r"/conversations/([^/]+)(/reply|/tags)?", path)
            if match and match.group(1) in self.conversations:
                conversation = self.conversations[match.group(1)]
                if match.group(2) == "/reply":
                    self.calls["add_note"] += 1
                    body = json.loads(request.content)
                    self.add_part(
                        conversation["id"],
                        author_type="admin",
                        body=body["body"],
                        created_at=int(time.time()),
                        part_type="note",
                    )
                    return _json(200, conversation)
                if match.group(2) == "/tags":
                    self.calls["tag_conversation"] += 1
                    tag_id = json.loads(request.content)["id"]
                    tag = next(t for t in self.tags.values() if t["id"] == tag_id)
                    if tag not in conversation["tags"]["tags"]:
                        conversation["tags"]["tags"].append(tag)
                    return _json(200, tag)
                self.calls["get_conversation"] += 1
                return _json(200, conversation)
        return _json(404, {"type": "error.list", "errors": [{"code": "not_found", "message": path}]})
