"""A local Slack for the Slack app: the Web API calls reviewqueue makes, and a channel page whose
buttons and modals post signed interaction requests back, as Slack does (contracts/slack.md).

    app = make_app(interactions_url="http://127.0.0.1:8000/integrations/slack/interactions")

Web API (`POST /api/<method>`, JSON or form, `Authorization: Bearer <bot token>`; every answer HTTP
200 with `ok`, except 429): chat.postMessage, chat.update, users.info, views.open (a trigger_id lives
3 s). A click's `response_url` is `/_respond/<token>` here: an ephemeral answer shows to its user.

The page (`/`, `?as=<user id>` picks the Slack user) shows the channel's messages with working
Approve / Reject / Open buttons, the user's open modal and what was told to them only. Knobs through
`POST /_sandbox/knobs`: `fail_next` (a list: 429, "timeout" or an error code such as
"channel_not_found", one per coming API call), `retry_after` (seconds, 429's header), `latency`.
`POST /_sandbox/users {id, name, email, is_email_confirmed}` adds or changes a user;
`GET /_sandbox/messages` and `GET /_sandbox/state` show what was posted, told and opened.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from urllib.parse import urlencode

import httpx
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from reviewqueue.integrations.slack.signature import sign
from reviewqueue.sandbox.slack import defaults
from reviewqueue.sandbox.slack.page import channel_page
from reviewqueue.sandbox.slack.state import SlackState

METHODS = ("chat.postMessage", "chat.update", "conversations.history", "users.info", "views.open")


@dataclass
class Knobs:
    fail_next: list = field(default_factory=list)  # 429, "timeout", or an error code, one per API call
    retry_after: int = 1  # seconds, in a 429's Retry-After
    latency: float = 0.0  # seconds added to every API call
    interactions_url: str = ""  # where clicks are posted, signed; empty = nowhere


class SlackSandbox:
    def __init__(self, *, state_path=None, bot_token=defaults.BOT_TOKEN, signing_secret=defaults.SIGNING_SECRET,
                 knobs: Knobs | None = None, transport: httpx.BaseTransport | None = None):  # fmt: skip
        self.state = SlackState(state_path)
        self.bot_token, self.signing_secret = bot_token, signing_secret
        self.knobs = knobs or Knobs()
        self.transport = transport
        self.calls: list[dict] = []  # every Web API call, for tests
        self._lock = threading.Lock()
        self.url_map = Map(
            [
                Rule("/", endpoint="page", methods=["GET"]),
                Rule("/api/<method>", endpoint="api", methods=["POST"]),
                Rule("/_respond/<token>", endpoint="respond", methods=["POST"]),
                Rule("/_click", endpoint="click", methods=["POST"]),
                Rule("/_view_submit", endpoint="view_submit", methods=["POST"]),
                Rule("/_sandbox/knobs", endpoint="knobs", methods=["GET", "POST"]),
                Rule("/_sandbox/users", endpoint="users", methods=["POST"]),
                Rule("/_sandbox/messages", endpoint="messages", methods=["GET"]),
                Rule("/_sandbox/state", endpoint="state", methods=["GET"]),
            ]
        )

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            endpoint, args = self.url_map.bind_to_environ(environ).match()
            response = getattr(self, f"on_{endpoint}")(request, **args)
        except HTTPException as error:
            response = error.get_response()
        return response(environ, start_response)

    def close(self) -> None:
        self.state.save()

    # --- the Web API ------------------------------------------------------------------------------
    def on_api(self, request: Request, method: str) -> Response:
        if method not in METHODS:
            return _ok_false("unknown_method")
        body = _body(request)
        with self._lock:
            self.calls.append({"method": method, "body": body})
            failure = self.knobs.fail_next.pop(0) if self.knobs.fail_next else None
        if self.knobs.latency:
            time.sleep(self.knobs.latency)
        if request.headers.get("Authorization") != f"Bearer {self.bot_token}":
            return _ok_false("invalid_auth" if request.headers.get("Authorization") else "not_authed")
        if failure == 429:
            return Response(
                json.dumps({"ok": False, "error": "ratelimited"}),
                status=429,
                headers={"Retry-After": str(self.knobs.retry_after)},
                content_type="application/json",
            )
        if failure == "timeout":
            time.sleep(15)  # longer than reviewqueue's read timeout
        elif failure:
            return _ok_false(str(failure))
        return getattr(self, "api_" + method.replace(".", "_"))(body)

    def api_chat_postMessage(self, body: dict) -> Response:
        channel = self.state.channel_id(str(body.get("channel") or ""))
        if not channel:
            return _ok_false("channel_not_found")
        metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else None
        message = self.state.post(channel, str(body.get("text") or ""), _blocks(body), metadata=metadata)
        return _ok(channel=channel, ts=message["ts"], message=message)

    def api_conversations_history(self, body: dict) -> Response:
        """Newest first, since `oldest`; a message's metadata only with include_all_metadata (one page)."""
        channel = self.state.channel(str(body.get("channel") or ""))
        if channel is None:
            return _ok_false("channel_not_found")
        oldest = float(body.get("oldest") or 0)
        messages = [dict(m) for m in reversed(channel["messages"]) if float(m["ts"]) > oldest]
        for message in messages:
            if not body.get("include_all_metadata") or not message.get("metadata"):
                message.pop("metadata", None)
        return _ok(messages=messages, has_more=False, response_metadata={"next_cursor": ""})

    def api_chat_update(self, body: dict) -> Response:
        channel = self.state.channel_id(str(body.get("channel") or ""))
        if not channel:
            return _ok_false("channel_not_found")
        updated = self.state.update(channel, str(body.get("ts") or ""), str(body.get("text") or ""), _blocks(body))
        if updated is None:
            return _ok_false("message_not_found")
        return _ok(channel=channel, ts=updated["ts"], text=updated["text"])

    def api_users_info(self, body: dict) -> Response:
        user_id = str(body.get("user") or "")
        user = self.state.data["users"].get(user_id)
        if user is None:
            return _ok_false("user_not_found")
        profile = {"real_name": user["name"], "display_name": user["name"], "email": user["email"]}
        return _ok(
            user={
                "id": user_id,
                "name": user["name"],
                "deleted": False,
                "is_bot": False,
                "is_email_confirmed": user.get("is_email_confirmed", True),
                "profile": profile,
            }
        )

    def api_views_open(self, body: dict) -> Response:
        view = body.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        user = self.state.trigger_user(str(body.get("trigger_id") or ""))
        if user is None:
            return _ok_false("expired_trigger_id")
        if not isinstance(view, dict) or view.get("type") != "modal":
            return _ok_false("invalid_arguments")
        return _ok(view=self.state.open_modal(user, view))

    def on_respond(self, request: Request, token: str) -> Response:
        target = self.state.data["response_urls"].get(token)
        if target is None:
            raise NotFound()
        body = _body(request)
        self.state.tell(target["user"], str(body.get("text") or ""))
        return Response("ok", content_type="text/plain")

    # --- the page and what its buttons do ---------------------------------------------------------
    def on_page(self, request: Request) -> Response:
        user = request.args.get("as") or next(iter(self.state.data["users"]))
        return Response(channel_page(self.state, user, self.knobs.interactions_url), content_type="text/html")

    def on_click(self, request: Request) -> Response:
        user, channel, ts = request.form.get("as", ""), request.form.get("channel", ""), request.form.get("ts", "")
        payload = {
            "type": "block_actions",
            "user": {"id": user, "name": self.state.data["users"].get(user, {}).get("name", "")},
            "api_app_id": "A0SANDBOX",
            "team": {"id": "T0SANDBOX", "domain": "fernhill"},
            "trigger_id": self.state.trigger_for(user),
            "response_url": f"{request.host_url}_respond/{self.state.response_url_token(user, channel)}",
            "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
            "channel": {"id": channel, "name": (self.state.channel(channel) or {}).get("name", "")},
            "message": {"ts": ts},
            "actions": [
                {
                    "type": "button",
                    "action_id": request.form.get("action_id", ""),
                    "block_id": request.form.get("block_id", ""),
                    "value": request.form.get("value", ""),
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        problem = self._send_interaction(payload)[1]
        if problem:
            self.state.tell(user, problem)
        return redirect(f"/?{urlencode({'as': user})}", code=303)

    def on_view_submit(self, request: Request) -> Response:
        user = request.form.get("as", "")
        view = self.state.data["modals"].get(user)
        if view is None or view.get("id") != request.form.get("view_id"):
            return redirect(f"/?{urlencode({'as': user})}", code=303)
        values: dict = {}
        for key, value in request.form.items():
            if key.startswith("input:"):
                block_id, _, action_id = key.removeprefix("input:").partition(":")
                values.setdefault(block_id, {})[action_id] = {"type": "plain_text_input", "value": value}
        submitted = {**view, "state": {"values": values}}
        submitted.pop("errors", None)
        payload = {"type": "view_submission", "user": {"id": user}, "team": {"id": "T0SANDBOX"}, "view": submitted}
        answer, problem = self._send_interaction(payload)
        errors = (
            answer.get("errors") if isinstance(answer, dict) and answer.get("response_action") == "errors" else None
        )
        if problem:
            self.state.tell(user, problem)
        elif errors:
            with self.state.lock:
                view.update(errors=errors, typed={b: next(iter(v.values()))["value"] for b, v in values.items()})
                self.state.save()
        else:
            self.state.close_modal(user)
        return redirect(f"/?{urlencode({'as': user})}", code=303)

    def _send_interaction(self, payload: dict) -> tuple[dict | None, str]:
        """Post a payload signed as Slack signs it: (the JSON answer if any, "" or what went wrong)."""
        if not self.knobs.interactions_url:
            return None, "This Slack sandbox has no interactivity URL (--interactions-url)."
        raw = urlencode({"payload": json.dumps(payload)}).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **sign(raw, self.signing_secret, int(time.time())),
        }
        try:
            with httpx.Client(transport=self.transport, timeout=3.0) as client:  # Slack gives up after 3 s
                answer = client.post(self.knobs.interactions_url, content=raw, headers=headers)
        except httpx.HTTPError as error:
            return None, f"The app did not answer within 3 s ({type(error).__name__})."
        if answer.status_code != 200:
            return None, f"The app answered HTTP {answer.status_code}: {answer.text[:200]}"
        try:
            return (answer.json() if answer.content else None), ""
        except ValueError:
            return None, ""

    # --- sandbox-only -----------------------------------------------------------------------------
    def on_knobs(self, request: Request) -> Response:
        if request.method == "POST":
            for name, value in (request.get_json(silent=True) or {}).items():
                if hasattr(self.knobs, name):
                    setattr(self.knobs, name, value)
        return _json(asdict(self.knobs))

    def on_users(self, request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        user_id = str(body.get("id") or "")
        if not user_id:
            return _json({"error": "id is required"}, 400)
        with self.state.lock:
            user = self.state.data["users"].setdefault(
                user_id, {"name": user_id, "email": "", "is_email_confirmed": True}
            )
            user.update({k: body[k] for k in ("name", "email", "is_email_confirmed") if k in body})
            self.state.save()
        return _json({"id": user_id, **user})

    def on_messages(self, request: Request) -> Response:
        channel = self.state.channel(request.args.get("channel", defaults.CHANNEL)) or {"messages": []}
        return _json({"messages": channel["messages"]})

    def on_state(self, request: Request) -> Response:
        data = self.state.data
        return _json({"ephemeral": data["ephemeral"], "modals": data["modals"], "calls": self.calls[-200:]})


def make_app(**kwargs) -> SlackSandbox:
    return SlackSandbox(**kwargs)


def _body(request: Request) -> dict:
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else {}
    return dict(request.form)


def _blocks(body: dict) -> list:
    blocks = body.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return blocks if isinstance(blocks, list) else []


def _json(data, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


def _ok(**fields) -> Response:
    return _json({"ok": True, **fields})


def _ok_false(error: str) -> Response:
    return _json({"ok": False, "error": error})
