"""A stand-in MultiMail at the HTTP boundary (httpx.MockTransport) and helpers for the routing tests."""

import itertools
import json
import threading

import httpx
import pytest

from reviewqueue.audit.services import Actor
from reviewqueue.integrations.multimail.client import MultiMailClient
from reviewqueue.routing.models import Mailbox
from reviewqueue.routing.rules import Rule
from reviewqueue.routing.services import intake_token_issue, ruleset_save


class FakeMultiMail:
    """Just enough of MultiMail's API (multimail-openapi.json) for mailboxes, webhooks and sends."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.mailboxes = {}
        self.webhooks = {}
        self.sends = []  # every POST …/send that reached us
        self.emails = {}  # idempotency key → email id
        self.tags = {}
        self.requests = []
        self.plan_limit = 10
        self.require_approval_code = None  # a code MultiMail "emailed" the operator
        self.fail = {}  # (method, path prefix) → (status, body)
        self.deliveries = []

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

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            body = json.loads(request.content) if request.content else {}
            for (method, prefix), (status, answer) in self.fail.items():
                if request.method == method and request.url.path.startswith(prefix):
                    return httpx.Response(status, json=answer)
            return self._answer(request.method, request.url.path, body)

    def _answer(self, method, path, body):
        parts = path.strip("/").split("/")
        if (method, path) == ("GET", "/v1/mailboxes"):
            return httpx.Response(200, json={"mailboxes": list(self.mailboxes.values())})
        if (method, path) == ("POST", "/v1/mailboxes"):
            return self._create_mailbox(body)
        if method == "PATCH" and parts[:2] == ["v1", "mailboxes"] and len(parts) == 3:
            box = self.mailboxes.get(parts[2])
            if box is None:
                return httpx.Response(404, json={"error": "not found"})
            box.update(body)
            return httpx.Response(200, json={"status": "updated"})
        if (method, path) == ("POST", "/v1/webhooks"):
            hook = {
                "id": f"wh_{next(self.ids)}",
                "url": body["url"],
                "events": body["events"],
                "mailbox_id": body.get("mailbox_id"),
                "signing_secret": f"whsec_secret{next(self.ids)}",
                "created_at": "2026-11-25T10:00:00Z",
            }
            self.webhooks[hook["id"]] = hook
            return httpx.Response(201, json=hook)
        if method == "DELETE" and parts[:2] == ["v1", "webhooks"] and len(parts) == 3:
            if self.webhooks.pop(parts[2], None) is None:
                return httpx.Response(404, json={"error": "not found"})
            return httpx.Response(200, json={"deleted": True})
        if method == "POST" and parts[-1] == "send":
            return self._send(parts[2], body)
        if method == "GET" and parts[:2] == ["v1", "mailboxes"] and len(parts) == 5 and parts[3] == "emails":
            email = {"id": parts[4], "status": "pending_scan", "tags": self.tags.get(parts[4], {})}
            return httpx.Response(200, json=email)
        if method == "PUT" and parts[-1] == "tags":
            self.tags[parts[4]] = body["tags"]
            return httpx.Response(200, json={"tags": body["tags"]})
        if (method, path) == ("GET", "/v1/webhook-deliveries"):
            return httpx.Response(200, json={"deliveries": self.deliveries, "cursor": None})
        if (method, path) == ("GET", "/v1/oversight/pending"):
            return httpx.Response(200, json={"emails": []})
        return httpx.Response(404, json={"error": f"no route {method} {path}"})

    def _create_mailbox(self, body):
        address = f"{body['address_local']}@acme.multimail.dev"
        if any(b["address"] == address for b in self.mailboxes.values()):
            return httpx.Response(409, json={"error": "address already in use"})
        if len(self.mailboxes) >= self.plan_limit:
            return httpx.Response(403, json={"error": "plan mailbox limit reached"})
        if self.require_approval_code and body.get("approval_code") != self.require_approval_code:
            return httpx.Response(202, json={"message": "Approval code sent to the operator's email"})
        mailbox_id = f"mb_{next(self.ids)}"
        self.add_mailbox(mailbox_id, address, name=body.get("display_name", ""))
        return httpx.Response(201, json={"id": mailbox_id, "address": address})

    def _send(self, mailbox_id, body):
        self.sends.append({"mailbox_id": mailbox_id, **body})
        key = body.get("idempotency_key")
        if key and key in self.emails:
            return httpx.Response(200, json={"id": self.emails[key], "status": "already_sent", "idempotent": True})
        email_id = f"em_{next(self.ids)}"
        if key:
            self.emails[key] = email_id
        return httpx.Response(202, json={"id": email_id, "status": "pending_scan", "thread_id": f"th_{email_id}"})

    def count(self, method, suffix):
        return sum(1 for r in self.requests if r.method == method and r.url.path.endswith(suffix))


def fake_client(fake, **keys) -> MultiMailClient:
    keys = {"api_key": "mm_live_over", "send_api_key": "mm_live_send", "admin_api_key": "mm_live_admin", **keys}
    return MultiMailClient(base_url="https://api.multimail.test", transport=httpx.MockTransport(fake), **keys)


@pytest.fixture
def multimail(monkeypatch):
    """The fake MultiMail; every get_multimail_client() in the code under test talks to it."""
    fake = FakeMultiMail()
    client = fake_client(fake)
    monkeypatch.setattr("reviewqueue.integrations.multimail.client.get_multimail_client", lambda: client)
    return fake


def mailbox(mailbox_id="mb_support", address="support@acme.multimail.dev", mode="gated_send"):
    return Mailbox.objects.create(mailbox_id=mailbox_id, address=address, oversight_mode=mode)


def rules_saved(default="mb_support", rules=()):
    return ruleset_save(rules=list(rules), default_mailbox_id=default, actor=Actor.system("test"))


def intake_token(name="fin", kinds=("refund",)):
    return intake_token_issue(name=name, kinds=kinds, actor=Actor.system("test"))


__all__ = ["FakeMultiMail", "Rule", "fake_client", "intake_token", "mailbox", "rules_saved"]
