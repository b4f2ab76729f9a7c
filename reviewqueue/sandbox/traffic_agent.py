"""The traffic generator's agent side of the revision loop: it listens for our signed callbacks and
answers a changes request with a revision (intake's `revision_of`), so `make run` shows the loop.

    listener = CallbackListener(port=8028, secret="whsec_…").start()
    ... each tick: for event in listener.drain(): ...

The listener verifies each callback (Standard Webhooks, reviewqueue/callbacks/signing.py), answers
401 to a bad signature, drops a webhook-id it has seen (a retry) and hands the rest to the traffic
loop, which does the slow part (posting the revision) outside the request. `seed_callback()` runs in
`make run` (with Django): it points the traffic token's callback at the listener.
"""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from standardwebhooks import WebhookVerificationError

from reviewqueue.callbacks import signing

CALLBACK_PORT = 8028
CALLBACK_PATH = "/callbacks"
MAX_REVISIONS = 3  # a chain the reviewers keep sending back stops here: the demo should not loop forever
SEEN_LIMIT = 10_000


@dataclass(frozen=True)
class Submitted:
    """What the bot drafted, by our draft id: enough to write the next version."""

    conversation_id: str
    to: str
    subject: str
    markdown: str
    revision: int = 1


def revised_markdown(markdown: str, feedback: str) -> str:
    """The bot's revision: the reviewer's point worked into the email (a stand-in for a model's rewrite)."""
    body, sign_off = markdown, ""
    if "\n\nBest," in markdown:
        body, _, rest = markdown.rpartition("\n\nBest,")
        sign_off = "\n\nBest," + rest
    return f"{body}\n\nTo be precise: {feedback.strip()}{sign_off}"


class CallbackListener:
    def __init__(self, *, port: int, secret: str, host: str = "127.0.0.1"):
        self.secret = secret
        self.events: queue.Queue[dict] = queue.Queue()
        self.seen: set[str] = set()
        self._lock = threading.Lock()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status = listener.receive(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def receive(self, path: str, headers: dict[str, str], body: bytes) -> int:
        if path.split("?", 1)[0] != CALLBACK_PATH:
            return 404
        try:
            event = signing.verify(secret=self.secret, headers=headers, body=body)
        except (WebhookVerificationError, ValueError):
            return 401
        with self._lock:
            webhook_id = headers["webhook-id"]
            if webhook_id in self.seen:
                return 204  # a retry of one already taken: acknowledged, not acted on twice
            if len(self.seen) >= SEEN_LIMIT:
                self.seen.clear()
            self.seen.add(webhook_id)
        self.events.put(event)
        return 204

    def start(self) -> CallbackListener:
        threading.Thread(target=self.server.serve_forever, name="traffic-callbacks", daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def drain(self) -> list[dict]:
        events = []
        while True:
            try:
                events.append(self.events.get_nowait())
            except queue.Empty:
                return events


class RevisingAgent:
    """The bot as the callbacks' receiver: prints each callback, and answers a changes request by
    posting the revised draft to intake with `revision_of` (the same token, conversation and recipient)."""

    def __init__(self, listener: CallbackListener, post_intake):
        self.listener = listener
        self.post_intake = post_intake  # (json body) -> httpx.Response
        self.submitted: dict[int, Submitted] = {}

    def remember(self, draft_id: int, submitted: Submitted) -> None:
        self.submitted[draft_id] = submitted

    def stop(self) -> None:
        self.listener.stop()

    def answer(self) -> None:
        """Act on the callbacks received since the last tick. A revision intake refused for now
        (a service restarting) puts its event back for the next tick."""
        events = self.listener.drain()
        for position, event in enumerate(events):
            print(f"traffic: callback {describe(event)}", flush=True)
            if event.get("type") != "draft.changes_requested":
                continue
            try:
                self._revise(event.get("data") or {})
            except httpx.HTTPError as error:
                print(f"traffic: the revision waits for the next tick ({type(error).__name__})", flush=True)
                for waiting in events[position:]:
                    self.listener.events.put(waiting)
                return

    def _revise(self, data: dict) -> None:
        draft_id = data.get("draft_id")
        submitted = self.submitted.get(draft_id)
        if submitted is None:
            print(f"traffic: changes requested on draft {draft_id}, which this run did not write; left alone")
            return
        if submitted.revision >= MAX_REVISIONS:
            print(f"traffic: draft {draft_id} was sent back {MAX_REVISIONS} times; the bot leaves it to a person")
            return
        feedback = ((data.get("decision") or {}).get("reason") or "").strip() or "as the reviewer asked"
        body = revision_body(submitted, draft_id=draft_id, feedback=feedback)
        response = self.post_intake(body)
        response.raise_for_status()
        new_id = parse_json(response.text).get("id")
        if isinstance(new_id, int):
            self.remember(
                new_id,
                Submitted(
                    submitted.conversation_id,
                    submitted.to,
                    submitted.subject,
                    body["markdown"],
                    revision=submitted.revision + 1,
                ),
            )
        print(f"traffic: the bot revised draft {draft_id} as draft {new_id} (revision {submitted.revision + 1})")


def describe(event: dict) -> str:
    data = event.get("data", {})
    decision = data.get("decision") or {}
    who = (decision.get("reviewer") or {}).get("name") or (decision.get("reviewer") or {}).get("username") or ""
    why = f": {decision['reason']}" if decision.get("reason") else ""
    return f"{event.get('type')} for draft {data.get('draft_id')}" + (f" by {who}{why}" if who else "")


def seed_callback(raw_token: str, *, port: int = CALLBACK_PORT) -> str:
    """`make run` (Django set up): the traffic token's callback at the listener; returns its secret."""
    from reviewqueue.accounts.models import hash_token
    from reviewqueue.audit.services import Actor
    from reviewqueue.callbacks.models import CallbackEndpoint
    from reviewqueue.callbacks.services import endpoint_secret, endpoint_set
    from reviewqueue.routing.models import IntakeToken

    token = IntakeToken.objects.get(key_hash=hash_token(raw_token))
    url = f"http://127.0.0.1:{port}{CALLBACK_PATH}"
    endpoint = CallbackEndpoint.objects.filter(token=token).first()
    if endpoint is not None and endpoint.url == url:
        return endpoint_secret(endpoint)
    endpoint, secret = endpoint_set(token=token, url=url, actor=Actor.system("make run"))
    return secret or endpoint_secret(endpoint)


def revision_body(submitted: Submitted, *, draft_id: int, feedback: str) -> dict:
    return {
        "intercom_conversation_id": submitted.conversation_id,
        "to": [submitted.to],
        "subject": submitted.subject,
        "markdown": revised_markdown(submitted.markdown, feedback),
        "kind": "follow_up",
        "revision_of": draft_id,
    }


def parse_json(text: str) -> dict:
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
