"""Slack's Web API, the five methods reviewqueue calls (contracts/slack.md), through httpx.

httpx like the other vendor clients (integrations/http.py): one place for the token, the timeouts and
typed answers, and `httpx.MockTransport` in unit tests. One attempt per call: the caller that owns
the work (reviewqueue/slack/delivery.py) retries with backoff from what the error says:

- HTTP 429: `SlackError(rate_limited=True, retry_after=<Retry-After seconds>)`, transient;
- HTTP 200 `{"ok": false, "error": "…"}`: transient, except the errors that another try cannot
  mend (PERMANENT: a channel that does not exist, a bad token, …);
- a timeout, a refused connection, a 5xx: transient.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from reviewqueue.integrations.http import default_timeout, seconds_from_retry_after, shared_ssl_context

PERMANENT = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "message_not_found",
        "cant_update_message",
        "invalid_blocks",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "not_in_channel",
        "user_not_found",
    }
)


FIND_PAGES = 5  # of 200 messages: a channel busier than 1,000 messages since the post is searched no further


class SlackError(Exception):
    """A Web API call that did not succeed; `str()` says which method and why."""

    def __init__(self, message: str, *, code: str = "", transient: bool = True, retry_after: float | None = None):
        super().__init__(message)
        self.code = code
        self.transient = transient
        self.retry_after = retry_after

    @property
    def rate_limited(self) -> bool:
        return self.code == "ratelimited"


@dataclass(frozen=True)
class PostedMessage:
    channel: str
    ts: str


@dataclass(frozen=True)
class SlackUser:
    id: str
    email: str  # "" when Slack gives none (no users:read.email scope, a bot)
    email_confirmed: bool  # the user object's is_email_confirmed
    deleted: bool


class SlackClient:
    def __init__(self, *, base_url: str, token: str, transport: httpx.BaseTransport | None = None, timeout=None):
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={"Authorization": f"Bearer {token}", "User-Agent": "reviewqueue-slack/1"},
            timeout=timeout or default_timeout(connect=3.0, read=10.0),
            transport=transport,
            verify=shared_ssl_context(),  # one per process: a client is made per delivery
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SlackClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def post_message(self, *, channel: str, text: str, blocks: list, metadata: dict | None = None) -> PostedMessage:
        """`metadata` ({"event_type", "event_payload"}) marks the message so find_message can find it again."""
        body = {"channel": channel, "text": text, "blocks": blocks, **({"metadata": metadata} if metadata else {})}
        answer = self._call("chat.postMessage", body)
        return PostedMessage(channel=str(answer.get("channel") or channel), ts=str(answer.get("ts") or ""))

    def find_message(self, *, channel: str, metadata: dict, oldest: float) -> str:
        """The ts of a message in `channel` posted since `oldest` (Unix seconds) whose metadata is
        `metadata`, or "": conversations.history with include_all_metadata (scope channels:history)."""
        cursor, pages = "", 0
        while pages < FIND_PAGES:
            body = {"channel": channel, "oldest": f"{oldest:.6f}", "include_all_metadata": True, "limit": 200}
            answer = self._call("conversations.history", {**body, **({"cursor": cursor} if cursor else {})})
            for message in answer.get("messages") or []:
                if isinstance(message, dict) and message.get("metadata") == metadata and message.get("ts"):
                    return str(message["ts"])
            meta = answer.get("response_metadata")
            cursor = str(meta.get("next_cursor") or "") if isinstance(meta, dict) else ""
            pages += 1
            if not cursor:
                break
        return ""

    def update_message(self, *, channel: str, ts: str, text: str, blocks: list) -> None:
        self._call("chat.update", {"channel": channel, "ts": ts, "text": text, "blocks": blocks})

    def user_info(self, user_id: str) -> SlackUser:
        user = self._call("users.info", {"user": user_id}).get("user")
        user = user if isinstance(user, dict) else {}
        profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
        email = profile.get("email") if isinstance(profile.get("email"), str) else ""
        return SlackUser(
            id=str(user.get("id") or user_id),
            email=email.strip(),
            email_confirmed=user.get("is_email_confirmed") is True,
            deleted=user.get("deleted") is True,
        )

    def views_open(self, *, trigger_id: str, view: dict) -> None:
        self._call("views.open", {"trigger_id": trigger_id, "view": view})

    def _call(self, method: str, body: dict) -> dict:
        try:
            response = self._client.post(method, content=json.dumps(body), headers=_JSON)
        except httpx.TimeoutException as error:
            raise SlackError(f"{method}: timed out ({type(error).__name__})", code="timeout") from None
        except httpx.TransportError as error:
            raise SlackError(f"{method}: connection failed ({type(error).__name__})", code="unreachable") from None
        if response.status_code == 429:
            wait = seconds_from_retry_after(response)
            raise SlackError(f"{method}: rate limited (429)", code="ratelimited", retry_after=wait)
        if response.status_code != 200:
            raise SlackError(f"{method}: HTTP {response.status_code}", code=f"http_{response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            raise SlackError(f"{method}: the answer is not JSON", code="not_json") from None
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            code = str(answer.get("error") or "unknown_error") if isinstance(answer, dict) else "not_an_object"
            raise SlackError(f"{method}: {code}", code=code, transient=code not in PERMANENT)
        return answer


_JSON = {"Content-Type": "application/json; charset=utf-8"}


def response_url_post(url: str, body: dict, *, transport: httpx.BaseTransport | None = None) -> None:
    """Answer a click through its `response_url` (an ephemeral message to the clicker). Raises SlackError."""
    try:
        with httpx.Client(
            transport=transport, timeout=default_timeout(connect=3.0, read=10.0), verify=shared_ssl_context()
        ) as client:
            response = client.post(url, content=json.dumps(body), headers=_JSON)
    except httpx.HTTPError as error:
        raise SlackError(f"response_url: {type(error).__name__}", code="unreachable") from None
    if response.status_code == 429:
        raise SlackError(
            "response_url: rate limited (429)", code="ratelimited", retry_after=seconds_from_retry_after(response)
        )
    if response.status_code != 200:
        raise SlackError(f"response_url: HTTP {response.status_code}", code=f"http_{response.status_code}")
