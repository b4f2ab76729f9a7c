"""Drive the whole flow from outside, as the vendors and a reviewer's script would.

Used by the fault suite, the browser flows and bench/scale.py, against a `LiveSystem`:
a customer writes in Intercom (sandbox), an agent's draft lands in MultiMail's gated mailbox
(sandbox: it tells reviewqueue by webhook, and the poll finds it too), a reviewer decides through
the review API with a personal token, and the MultiMail sandbox's own audit log says which
decisions reached it, and how often.
"""

from __future__ import annotations

import collections
import itertools
import time
import uuid
from dataclasses import dataclass

import httpx

from tests.livesystem import LiveSystem, sandbox_keys

DECIDED_ACTIONS = ("oversight.approved", "oversight.approved_and_sent", "oversight.rejected")


@dataclass
class Driver:
    system: LiveSystem
    timeout: float = 10.0

    def __post_init__(self):
        keys = sandbox_keys()
        self.multimail = httpx.Client(base_url=self.system.multimail_url, timeout=self.timeout)
        self.send_key = {"Authorization": f"Bearer {keys['MULTIMAIL_SEND_API_KEY']}"}
        self.admin_key = {"Authorization": f"Bearer {keys['MULTIMAIL_ADMIN_API_KEY']}"}
        self.intercom = httpx.Client(
            base_url=self.system.intercom_url,
            timeout=self.timeout,
            headers={"Authorization": f"Bearer {keys['INTERCOM_ACCESS_TOKEN']}", "Accept": "application/json"},
        )
        self.web = httpx.Client(base_url=self.system.web_url, timeout=self.timeout)
        self._numbers = itertools.count(1)

    def close(self) -> None:
        for client in (self.multimail, self.intercom, self.web):
            client.close()

    # --- the sandboxes' knobs -------------------------------------------------------------------
    def multimail_knobs(self, **knobs) -> dict:
        return self._ok(self.multimail.post("/_sandbox/knobs", json=knobs)).json()

    def intercom_knobs(self, **knobs) -> dict:
        return self._ok(self.intercom.post("/_sandbox/knobs", json=knobs)).json()

    # --- a customer writes, an agent drafts ------------------------------------------------------
    def customer_conversation(self, *, email: str, text: str = "Where is my order?") -> str:
        """A contact and an open conversation in the Intercom sandbox; returns the conversation id."""
        contact = self._with_retries(lambda: self.intercom.post("/contacts", json={"email": email})).json()
        message = self._with_retries(
            lambda: self.intercom.post(
                "/conversations", json={"from": {"type": "user", "id": contact["id"]}, "body": text}
            )
        ).json()
        return str(message["conversation_id"])

    def agent_draft(self, *, mailbox_id: str | None = None, to: str | None = None, subject: str = "") -> str:
        """An AI agent sends a draft straight to MultiMail's gated mailbox; returns the email id."""
        from reviewqueue.sandbox.multimail import defaults

        number = next(self._numbers)
        body = {
            "to": [to or f"customer{number}@customer.example"],
            "subject": subject or f"Re: your order #{number}",
            "markdown": f"Hello,\n\nyour order #{number} ships today.\n\nKind regards,\nAcme Support",
            "idempotency_key": f"flow-{uuid.uuid4()}",
        }
        path = f"/v1/mailboxes/{mailbox_id or defaults.DEMO_MAILBOX_ID}/send"
        return str(self._with_retries(lambda: self.multimail.post(path, json=body, headers=self.send_key)).json()["id"])

    # --- what MultiMail saw ------------------------------------------------------------------
    def multimail_decisions(self) -> collections.Counter:
        """How many times MultiMail took a decision on each email (from its own audit log)."""
        counts: collections.Counter = collections.Counter()
        cursor = None
        while True:
            params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            page = self._with_retries(
                lambda p=params: self.multimail.get("/v1/audit-log", params=p, headers=self.admin_key)
            ).json()
            for entry in page.get("entries", page.get("items", [])):
                if entry["action"] in DECIDED_ACTIONS:
                    counts[entry["resource_id"]] += 1
            cursor = page.get("cursor")
            if not cursor:
                return counts

    # --- a reviewer through the review API ---------------------------------------------------------
    def api(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.system.web_url}/api/v1", timeout=self.timeout, headers={"Authorization": f"Bearer {token}"}
        )

    @staticmethod
    def _ok(response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            raise AssertionError(
                f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
            )
        return response

    def _with_retries(self, call, attempts: int = 20) -> httpx.Response:
        """Setup calls go through even when a test has turned the sandbox's error knobs up."""
        for attempt in range(attempts):
            try:
                response = call()
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code < 400:
                return response
            if response is not None and response.status_code < 500 and response.status_code != 429:
                return self._ok(response)
            time.sleep(min(0.05 * 2**attempt, 1.0))
        raise AssertionError(
            f"still failing after {attempts} attempts: {response.status_code if response else 'no answer'}"
        )
