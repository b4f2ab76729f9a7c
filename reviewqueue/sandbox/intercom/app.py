"""A local Intercom: the REST calls reviewqueue makes, in Intercom's shapes, plus signed webhooks.

    app = make_app(state_path="var/sandbox/intercom.json", webhook_url="http://127.0.0.1:8000/webhooks/intercom")

It answers as contracts/intercom-openapi-2.14.yaml says Intercom does (tests hold every answer
against it): bearer-token auth (401 otherwise), `error.list` errors with a uuid `request_id`, an
unknown `Intercom-Version` refused, conversation ids that are numbers, a reply answered with only
its new part, 429s with X-RateLimit-* headers on demand, and a webhook (`X-Hub-Signature: sha1=…`)
for every conversation change, posted from a background thread like Intercom's own delivery.

Knobs, set at start or through `POST /_sandbox/knobs` (a sandbox-only endpoint), play what real
Intercom does and a kind sandbox would not: rate, latency, error_rate, fail_next; search_lag (a new
contact shows in search only after that many seconds); plan_restricted (403 api_plan_restricted
where the document says Intercom answers it); webhook_duplicates, webhook_reorder and
webhook_retry_delay (see webhooks.py); webhook_url; clock_skew (seconds added to its clock: a skewed
vendor clock, for the soak).
"""

from __future__ import annotations

import html
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from reviewqueue.sandbox.intercom import defaults
from reviewqueue.sandbox.intercom.inbox_app import DEFAULT_TEAMMATE, InboxApp, canvas_html, input_values, teammate_form
from reviewqueue.sandbox.intercom.search import matches, page
from reviewqueue.sandbox.intercom.state import SandboxError, SandboxState
from reviewqueue.sandbox.intercom.webhooks import WebhookSender

RATE_WINDOW = 10  # seconds: Intercom enforces its limits in 10-second windows
# The endpoints the document answers 403 api_plan_restricted on (GET and POST /conversations, get, reply, parts).
PLAN_RESTRICTED_ENDPOINTS = {"conversations", "conversation", "reply", "parts"}
CONVERSATION_ID = re.compile(r"[0-9]+")  # the document's conversation ids are integers


@dataclass
class Knobs:
    rate: int = 0  # API calls allowed per 10-second window; 0 = unlimited
    latency: float = 0.0  # seconds added to every API call
    error_rate: float = 0.0  # fraction of API calls answered 500
    fail_next: list[int] = field(default_factory=list)  # statuses for the next calls, in order (e.g. [429])
    search_lag: float = 0.0  # seconds before a new contact shows in /contacts/search (Intercom: minutes)
    plan_restricted: bool = False  # answer 403 api_plan_restricted on the conversation endpoints
    webhook_url: str = ""  # where conversation changes are posted; empty = nowhere
    webhook_duplicates: float = 0.0  # fraction of webhooks delivered twice (same notification id)
    webhook_reorder: float = 0.0  # fraction of webhooks held back so later ones overtake them
    webhook_retry_delay: float = 60.0  # seconds before a failed delivery is tried again (Intercom: about a minute)
    inbox_app_url: str = ""  # an installed Inbox app's canvas URLs (<url>/initialize, /submit); empty = none
    clock_skew: float = 0.0  # seconds added to the sandbox's clock (its timestamps and webhooks); may be negative

    FRACTIONS = ("error_rate", "webhook_duplicates", "webhook_reorder")
    SIGNED = ("clock_skew",)  # knobs that may be negative

    def update(self, changes: dict) -> None:
        for name, value in changes.items():
            if name not in self.__dataclass_fields__:
                raise SandboxError(400, "parameter_invalid", f"unknown knob {name!r}")
            value = _knob_value(name, getattr(self, name), value)
            negative = isinstance(value, int | float) and not isinstance(value, bool) and value < 0
            if negative and name not in self.SIGNED:
                raise SandboxError(400, "parameter_invalid", f"knob {name!r} cannot be negative")
            setattr(self, name, value)
        for name in self.FRACTIONS:
            setattr(self, name, min(1.0, getattr(self, name)))


def _knob_value(name: str, current, value):
    """`value` in the type of the knob's current value; a 400 when it is not one (a switch takes only true/false)."""
    try:
        if isinstance(current, bool):
            if isinstance(value, bool):
                return value
        elif isinstance(current, list):
            return [int(v) for v in value]
        elif isinstance(current, str):
            return str(value or "")
        else:
            return type(current)(value)
    except (TypeError, ValueError):
        pass
    raise SandboxError(400, "parameter_invalid", f"bad value for knob {name!r}: {value!r}")


def _json(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")


def _error(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    body = {
        "type": "error.list",
        "request_id": str(uuid.uuid4()),
        "errors": [{"code": code, "message": message}],
    }
    return _json(body, status, headers)


class IntercomSandbox:
    """The WSGI app. `state` and `webhooks` are exposed for tests and the traffic generator."""

    def __init__(
        self,
        *,
        state_path=None,
        access_token: str = defaults.ACCESS_TOKEN,
        client_secret: str = defaults.CLIENT_SECRET,
        knobs: Knobs | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        inbox_transport=None,
    ):
        self.knobs = knobs or Knobs()
        base_clock = clock
        clock = lambda: base_clock() + self.knobs.clock_skew  # noqa: E731  (the clock_skew knob)
        self.state = SandboxState(state_path, clock=clock)
        self.inbox_app = InboxApp(client_secret=client_secret, transport=inbox_transport)
        self.access_token = access_token
        self.clock = clock
        self.sleep = sleep
        self.webhooks = WebhookSender(secret=client_secret, knobs=self.knobs, clock=clock)
        self._window = (0, 0)  # (window start, calls in it)
        self._limit_lock = threading.Lock()
        self.urls = Map(
            [
                Rule("/healthz", endpoint="healthz", methods=["GET"]),
                Rule("/_sandbox/knobs", endpoint="knobs", methods=["GET", "POST"]),
                Rule("/_sandbox/state", endpoint="state_dump", methods=["GET"]),
                Rule("/a/inbox/<app_id>/inbox/conversation/<conversation_id>", endpoint="inbox", methods=["GET"]),
                Rule("/a/inbox/<app_id>/inbox/conversation/<conversation_id>", endpoint="inbox_app", methods=["POST"]),
                Rule("/me", endpoint="me", methods=["GET"]),
                Rule("/admins", endpoint="admins", methods=["GET"]),
                Rule("/contacts", endpoint="contacts", methods=["GET", "POST"]),
                Rule("/contacts/search", endpoint="contacts_search", methods=["POST"]),
                Rule("/contacts/<contact_id>", endpoint="contact", methods=["GET"]),
                Rule("/conversations", endpoint="conversations", methods=["GET", "POST"]),
                Rule("/conversations/search", endpoint="conversations_search", methods=["POST"]),
                Rule("/conversations/<conversation_id>", endpoint="conversation", methods=["GET"]),
                Rule("/conversations/<conversation_id>/reply", endpoint="reply", methods=["POST"]),
                Rule("/conversations/<conversation_id>/parts", endpoint="parts", methods=["POST"]),
                Rule("/conversations/<conversation_id>/tags", endpoint="conversation_tags", methods=["POST"]),
                Rule("/conversations/<conversation_id>/tags/<tag_id>", endpoint="untag", methods=["DELETE"]),
                Rule("/tags", endpoint="tags", methods=["GET", "POST"]),
            ]
        )

    def close(self) -> None:
        self.webhooks.stop()

    # --- WSGI ----------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        return self.dispatch(Request(environ))(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        adapter = self.urls.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except NotFound:
            return _error(404, "not_found", "Resource Not Found")
        except MethodNotAllowed:
            return _error(405, "method_not_allowed", f"{request.method} is not allowed here")
        except HTTPException as exc:
            return _error(exc.code or 400, "parameter_invalid", exc.description or "bad request")
        if endpoint in ("healthz", "knobs", "state_dump", "inbox", "inbox_app"):  # sandbox-only, browser pages: no auth
            try:
                return getattr(self, f"view_{endpoint}")(request, **args)
            except SandboxError as error:
                return _error(error.status, error.code, error.message)
        return self._api(request, endpoint, args)

    def _api(self, request: Request, endpoint: str, args: dict) -> Response:
        if self.knobs.latency:
            self.sleep(self.knobs.latency)
        limit_headers, limited = self._count_call()
        if request.headers.get("Authorization", "") != f"Bearer {self.access_token}":
            return _error(401, "unauthorized", "Access Token Invalid", limit_headers)
        forced = self._forced_status()
        if limited or forced == 429:
            return _error(429, "rate_limit_exceeded", "Exceeded rate limit", limit_headers)
        if forced or (self.knobs.error_rate and random.random() < self.knobs.error_rate):
            status = forced or 500
            return _error(status, "server_error", "Sandbox: injected failure", limit_headers)
        try:
            self._refuse_what_intercom_refuses(request, endpoint, args)
            body = self._body(request)
            response = getattr(self, f"view_{endpoint}")(request, body, **args)
        except SandboxError as error:
            return _error(error.status, error.code, error.message, limit_headers)
        response.headers.update(limit_headers)
        return response

    def _refuse_what_intercom_refuses(self, request: Request, endpoint: str, args: dict) -> None:
        version = request.headers.get("Intercom-Version")
        if version is not None and version not in defaults.API_VERSIONS:  # absent: the app's default applies
            raise SandboxError(400, "intercom_version_invalid", "The requested version could not be found")
        if "conversation_id" in args and not CONVERSATION_ID.fullmatch(args["conversation_id"]):
            raise SandboxError(404, "not_found", "Resource Not Found")
        if self.knobs.plan_restricted and endpoint in PLAN_RESTRICTED_ENDPOINTS:
            raise SandboxError(403, "api_plan_restricted", "Active subscription needed.")

    def _body(self, request: Request) -> dict:
        if request.method not in ("POST", "PUT"):
            return {}
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            raise SandboxError(400, "parameter_invalid", "Request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise SandboxError(400, "parameter_invalid", "Request body must be a JSON object")
        return body

    def _count_call(self) -> tuple[dict, bool]:
        now = int(self.clock())
        start = now - now % RATE_WINDOW
        with self._limit_lock:
            window, calls = self._window
            calls = calls + 1 if window == start else 1
            self._window = (start, calls)
        rate = self.knobs.rate
        limit = rate or 10_000 // 6
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - calls)),
            "X-RateLimit-Reset": str(start + RATE_WINDOW),
        }
        return headers, bool(rate) and calls > rate

    def _forced_status(self) -> int | None:
        with self._limit_lock:
            return self.knobs.fail_next.pop(0) if self.knobs.fail_next else None

    def _changed(self, conversation: dict, topic: str) -> None:
        self.webhooks.send(topic=topic, item=conversation, app_id=self.state.data["app"]["id_code"])

    # --- sandbox-only --------------------------------------------------------------------------
    def view_healthz(self, request):
        return _json({"status": "ok", "sandbox": "intercom"})

    def view_knobs(self, request):
        if request.method == "POST":
            self.knobs.update(self._body(request))
        return _json(asdict(self.knobs))

    def view_state_dump(self, request):
        with self.state.lock:
            return _json({**self.state.data, "webhooks_sent": self.webhooks.sent_count()})

    def view_inbox(self, request, app_id, conversation_id):
        """What a teammate sees on opening the conversation link, with the Inbox app's panel if one is installed."""
        conversation = self.state.conversation(conversation_id)
        panel = ""
        if self.knobs.inbox_app_url:
            teammate = request.args.get("as") or DEFAULT_TEAMMATE
            canvas, problem = self.inbox_app.initialize(self.knobs.inbox_app_url, conversation, teammate)
            panel = teammate_form(teammate) + canvas_html(canvas, problem, action=request.path, teammate=teammate)
        return self._inbox_page(conversation_id, conversation, panel)

    def view_inbox_app(self, request, app_id, conversation_id):
        """A click in the Inbox app's panel: Intercom posts the app's submit URL and shows its answer."""
        conversation = self.state.conversation(conversation_id)
        if not self.knobs.inbox_app_url:
            return _error(404, "not_found", "no Inbox app is installed (inbox_app_url)")
        teammate = request.form.get("as") or DEFAULT_TEAMMATE
        canvas, problem = self.inbox_app.submit(
            self.knobs.inbox_app_url,
            conversation,
            teammate,
            request.form.get("component_id", ""),
            input_values(request.form),
        )
        panel = teammate_form(teammate) + canvas_html(canvas, problem, action=request.path, teammate=teammate)
        return self._inbox_page(conversation_id, conversation, panel)

    def _inbox_page(self, conversation_id: str, conversation: dict, panel: str) -> Response:
        """The conversation (escaped: the content is untrusted), the app's panel beside it."""
        rows = [
            f"<li><b>{html.escape(p['author'].get('name') or p['author']['type'])}</b> "
            f"({html.escape(p['part_type'])}): {html.escape(p['body'] or '')}</li>"
            for p in conversation["conversation_parts"]["conversation_parts"]
        ]
        source = conversation["source"]
        page_html = (
            f"<!doctype html><title>Conversation {html.escape(conversation_id)}</title>"
            f"<h1>Intercom sandbox: conversation {html.escape(conversation_id)} ({conversation['state']})</h1>"
            f"<p><b>{html.escape(source['author'].get('name') or '')}</b>: {html.escape(source['body'])}</p>"
            f"<ul>{''.join(rows)}</ul>{panel}"
        )
        return Response(page_html, mimetype="text/html")

    # --- the REST API --------------------------------------------------------------------------
    def view_me(self, request, body):
        return _json(self.state.me())

    def view_admins(self, request, body):
        with self.state.lock:
            return _json({"type": "admin.list", "admins": list(self.state.data["admins"].values())})

    def view_contacts(self, request, body):
        if request.method == "GET":
            items, pages = page(self.state.contacts(), request.args)
            return _json({"type": "list", "data": items, "total_count": len(items), "pages": pages})
        email = body.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise SandboxError(400, "parameter_invalid", "email is required")
        return _json(
            self.state.contact_create(
                email=email,
                name=str(body.get("name") or ""),
                role=body.get("role") if body.get("role") in ("user", "lead") else "user",
                external_id=str(body.get("external_id") or ""),
            )
        )

    def view_contact(self, request, body, contact_id):
        return _json(self.state.contact(contact_id))

    def view_contacts_search(self, request, body):
        indexed_before = self.state.now() - self.knobs.search_lag  # Intercom indexes new contacts late
        query = body.get("query")
        found = self.state.contacts(lambda c: c["created_at"] <= indexed_before and matches(c, query))
        items, pages = page(found, body.get("pagination"))
        return _json({"type": "list", "data": items, "total_count": len(found), "pages": pages})

    def view_conversations(self, request, body):
        if request.method == "GET":
            found = sorted(self.state.conversations(), key=lambda c: c["updated_at"], reverse=True)
            items, pages = page([_summary(c) for c in found], request.args)
            return _json({"type": "conversation.list", "conversations": items, "pages": pages})
        sender = body.get("from")
        text = body.get("body")
        if not isinstance(sender, dict) or not sender.get("id") or not isinstance(text, str) or not text.strip():
            raise SandboxError(400, "parameter_invalid", "from {type, id} and body are required")
        conversation, topic = self.state.conversation_create(contact_id=str(sender["id"]), body=text)
        self._changed(conversation, topic)
        message = {
            "type": "user_message",
            "id": conversation["source"]["id"],
            "created_at": conversation["created_at"],
            "body": text,
            "message_type": "inapp",
            "conversation_id": conversation["id"],
        }
        return _json(message)

    def view_conversation(self, request, body, conversation_id):
        return _json(self.state.conversation(conversation_id))

    def view_conversations_search(self, request, body):
        query = body.get("query")
        found = self.state.conversations(lambda c: matches(c, query))
        found.sort(key=lambda c: c["updated_at"], reverse=True)
        items, pages = page([_summary(c) for c in found], body.get("pagination"))
        return _json({"type": "conversation.list", "conversations": items, "total_count": len(found), "pages": pages})

    def view_reply(self, request, body, conversation_id):
        conversation, topic = self.state.reply(conversation_id, body)
        self._changed(conversation, topic)
        return _json(_with_only_the_new_part(conversation))

    def view_parts(self, request, body, conversation_id):
        conversation, topic = self.state.manage(conversation_id, body)
        self._changed(conversation, topic)
        return _json(_with_only_the_new_part(conversation))

    def view_tags(self, request, body):
        if request.method == "GET":
            return _json({"type": "list", "data": self.state.tags()})
        return _json(self.state.tag_ensure(body.get("name")))

    def view_conversation_tags(self, request, body, conversation_id):
        tag, topic = self.state.tag_conversation(conversation_id, body)
        self._changed(self.state.conversation(conversation_id), topic)
        return _json(tag)

    def view_untag(self, request, body, conversation_id, tag_id):
        return _json(self.state.untag_conversation(conversation_id, tag_id))


def _with_only_the_new_part(conversation: dict) -> dict:
    """Reply and parts answer the conversation carrying only the part just added (every example of both
    in the document), not its history."""
    newest = conversation["conversation_parts"]["conversation_parts"][-1:]
    parts = {"type": "conversation_part.list", "conversation_parts": newest, "total_count": len(newest)}
    return {**conversation, "conversation_parts": parts}


def _summary(conversation: dict) -> dict:
    """Search hits carry the conversation without its parts, as Intercom's search does."""
    return {k: v for k, v in conversation.items() if k != "conversation_parts"}


def make_app(
    *,
    state_path=None,
    webhook_url: str = "",
    access_token: str = defaults.ACCESS_TOKEN,
    client_secret: str = defaults.CLIENT_SECRET,
    knobs: Knobs | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    inbox_transport=None,
) -> IntercomSandbox:
    knobs = knobs or Knobs()
    if webhook_url:
        knobs.webhook_url = webhook_url
    return IntercomSandbox(
        state_path=state_path,
        access_token=access_token,
        client_secret=client_secret,
        knobs=knobs,
        clock=clock,
        sleep=sleep,
        inbox_transport=inbox_transport,
    )
