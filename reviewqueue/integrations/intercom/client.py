"""The Intercom REST client: one httpx.Client, typed results, domain errors.

The contract is contracts/intercom-openapi-2.14.yaml, with contracts/intercom.md. Auth is a bearer
access token (never logged: the shared retry machinery logs only method, path and status), the API
version is pinned by `Intercom-Version`, and the base URL is regional (api.intercom.io,
api.eu.intercom.io, …). Reads and idempotent writes are retried with backoff; a note is sent once (a
retried note could appear twice on the conversation). A 429 waits until `X-RateLimit-Reset` when
that is soon.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from urllib.parse import quote, urlsplit

import httpx
from django.conf import settings

from reviewqueue.integrations.http import (
    NO_RETRY,
    RetryPolicy,
    default_timeout,
    seconds_until_epoch_header,
    send_with_retries,
    shared_ssl_context,
)
from reviewqueue.integrations.intercom.types import (
    Admin,
    Author,
    Contact,
    ContactRef,
    Conversation,
    ConversationPart,
    ConversationSource,
    ConversationSummary,
    MalformedResponse,
    Tag,
    _listed,
)
from reviewqueue.metrics.counters import counted_vendor_errors
from reviewqueue.text import make_storable_json

__all__ = [
    "Admin",
    "Author",
    "Contact",
    "ContactRef",
    "Conversation",
    "ConversationPart",
    "ConversationSource",
    "ConversationSummary",
    "IntercomBadRequest",
    "IntercomClient",
    "IntercomError",
    "IntercomNotConfigured",
    "IntercomNotFound",
    "IntercomPlanRestricted",
    "IntercomRateLimited",
    "IntercomServerError",
    "IntercomUnauthorized",
    "IntercomUnavailable",
    "Tag",
    "get_intercom_client",
]

logger = logging.getLogger(__name__)

DEFAULT_POLICY = RetryPolicy(max_attempts=4, backoff_base=0.25, backoff_cap=4.0, max_rate_limit_wait=15.0)
SEARCH_PAGE_SIZE = 50
SEARCH_MAX_PAGES = 10

# Intercom's web app per API region: where a teammate opens a conversation.
_INBOX_HOSTS = {
    "api.intercom.io": "https://app.intercom.com",
    "api.eu.intercom.io": "https://app.eu.intercom.com",
    "api.au.intercom.io": "https://app.au.intercom.com",
}


class IntercomError(Exception):
    def __init__(self, status: int, message: str, *, code: str = "", request_id: str = ""):
        super().__init__(f"Intercom {status or ''} {code}: {message}".replace("  ", " "))
        self.status = status
        self.message = message
        self.code = code
        self.request_id = request_id


class IntercomNotConfigured(IntercomError):
    def __init__(self, variable: str):
        super().__init__(0, f"{variable} is not set")
        self.variable = variable


class IntercomBadRequest(IntercomError):
    pass


class IntercomUnauthorized(IntercomError):
    pass


class IntercomNotFound(IntercomError):
    pass


class IntercomPlanRestricted(IntercomError):
    """403 `api_plan_restricted`: the workspace's Intercom plan does not include this API.

    Asking again changes nothing until someone changes the plan, so it is never retried, and it
    says what an admin has to do wherever it is shown (an outbox item's error, a draft's fetch error).
    """

    def __str__(self) -> str:
        return f"{super().__str__()} (the workspace's Intercom plan does not include this API: change the plan)"


class IntercomRateLimited(IntercomError):
    def __init__(self, status: int, message: str, *, reset_at: float | None = None, **kwargs):
        super().__init__(status, message, **kwargs)
        self.reset_at = reset_at  # Unix seconds when the window resets, if Intercom said

    def wait_seconds(self, now: Callable[[], float] = time.time) -> float | None:
        return None if self.reset_at is None else max(0.0, self.reset_at - now())


class IntercomServerError(IntercomError):
    pass


class IntercomUnavailable(IntercomError):
    """No usable answer: timeout, connection refused, or a body that is not what Intercom sends."""


def _error_from(response: httpx.Response) -> IntercomError:
    """Map an error response (`{"type": "error.list", "errors": [{code, message}]}`) to its error."""
    code, message, request_id = "", response.reason_phrase or "error", ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        request_id = str(body.get("request_id") or "")
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            code = str(errors[0].get("code") or "")
            message = "; ".join(str(e.get("message") or e.get("code") or "") for e in errors if isinstance(e, dict))
    status = response.status_code
    kwargs = {"code": code, "request_id": request_id}
    if status == 429 or code == "rate_limit_exceeded":
        reset = response.headers.get("X-RateLimit-Reset", "").strip()
        reset_at = float(reset) if reset.replace(".", "", 1).isdigit() else None
        return IntercomRateLimited(status, message, reset_at=reset_at, **kwargs)
    if code == "api_plan_restricted":
        return IntercomPlanRestricted(status, message, **kwargs)
    if status in (401, 403) or code in ("unauthorized", "token_unauthorized", "forbidden"):
        return IntercomUnauthorized(status, message, **kwargs)
    if status == 404 or code == "not_found":
        return IntercomNotFound(status, message, **kwargs)
    if status >= 500:
        return IntercomServerError(status, message, **kwargs)
    return IntercomBadRequest(status, message, **kwargs)


# /me answers the same for the life of a token; ask once per process and token.
_me_cache: dict[tuple[str, str], Admin] = {}
_me_lock = threading.Lock()


class IntercomClient:
    def __init__(
        self,
        *,
        base_url: str,
        access_token: str,
        api_version: str = "2.14",
        admin_id: str = "",
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        timeout: httpx.Timeout | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ):
        if not access_token:
            raise IntercomNotConfigured("INTERCOM_ACCESS_TOKEN")
        self.base_url = base_url.rstrip("/")
        self._configured_admin_id = admin_id
        self._token_key = hashlib.sha256(access_token.encode()).hexdigest()[:16]  # a cache key, not the token
        self._policy = policy
        self._tags: dict[str, Tag] = {}  # ensure_tag's answers by name (dict reads and writes are thread-safe)
        self._sleep = sleep
        self._clock = clock
        self._request_timeout = httpx.USE_CLIENT_DEFAULT  # quick() sets a shorter one
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {access_token}",
                "Intercom-Version": api_version,
                "Accept": "application/json",
            },
            timeout=timeout or default_timeout(),
            transport=transport,
            verify=shared_ssl_context(),  # snapshot_refresh makes a client per call
        )

    def __repr__(self) -> str:  # never show the token
        return f"<IntercomClient {self.base_url}>"

    def close(self) -> None:
        self._http.close()

    def quick(self, *, timeout: float) -> IntercomClient:
        """This client for a call a person waits on: one attempt per call, answered within `timeout`
        seconds or IntercomUnavailable. It shares this client's connections (closing either closes both)."""
        quick = copy.copy(self)
        quick._policy = NO_RETRY
        quick._request_timeout = httpx.Timeout(timeout)
        return quick

    def __enter__(self) -> IntercomClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- transport -----------------------------------------------------------------------------

    @counted_vendor_errors("intercom", IntercomError, prefix="Intercom")  # /metrics: errors by kind
    def _call(self, method: str, path: str, *, json: dict | None = None, safe: bool = False) -> dict:
        request = self._http.build_request(method, path, json=json, timeout=self._request_timeout)
        try:
            response = send_with_retries(
                self._http,
                request,
                policy=self._policy,
                safe=safe,
                rate_limit_wait=seconds_until_epoch_header("X-RateLimit-Reset", now=self._clock),
                sleep=self._sleep,
            )
        except httpx.TransportError as exc:
            raise IntercomUnavailable(0, f"{method} {path}: {type(exc).__name__}") from None
        if response.status_code >= 400:
            error = _error_from(response)
            logger.warning("intercom %s %s -> %s %s", method, path, response.status_code, error.code)
            raise error
        try:
            body = response.json()
        except ValueError:
            raise IntercomUnavailable(response.status_code, f"{method} {path}: response is not JSON") from None
        if not isinstance(body, dict):
            raise IntercomUnavailable(response.status_code, f"{method} {path}: expected a JSON object")
        return make_storable_json(response.content, body)

    def _parse(self, parse: Callable, raw, what: str):
        try:
            return parse(raw)
        except (MalformedResponse, KeyError, TypeError) as exc:
            raise IntercomUnavailable(200, f"{what}: malformed response ({exc})") from None

    # --- admins --------------------------------------------------------------------------------

    def me(self) -> Admin:
        key = (self.base_url, self._token_key)
        with _me_lock:
            cached = _me_cache.get(key)
        if cached is not None:
            return cached
        admin = self._parse(Admin.from_api, self._call("GET", "/me"), "GET /me")
        with _me_lock:
            _me_cache[key] = admin
        return admin

    def admin_id(self) -> str:
        """INTERCOM_ADMIN_ID when set, else the token's own admin (GET /me, asked once)."""
        return self._configured_admin_id or self.me().id

    # --- conversations -------------------------------------------------------------------------

    def conversation_url(self, conversation_id: str) -> str:
        """Where a teammate opens the conversation in Intercom's inbox (the sandbox serves the same path)."""
        host = urlsplit(self.base_url).hostname or ""
        app = _INBOX_HOSTS.get(host, self.base_url)
        return f"{app}/a/inbox/{quote(self.me().app_id, safe='')}/inbox/conversation/{quote(conversation_id, safe='')}"

    def get_conversation(self, conversation_id: str) -> Conversation:
        path = f"/conversations/{quote(str(conversation_id), safe='')}"
        raw = self._call("GET", path)
        url = self.conversation_url(str(conversation_id))
        return self._parse(lambda r: Conversation.from_api(r, url=url), raw, f"GET {path}")

    def add_note(self, *, conversation_id: str, body_html: str) -> str:
        """An internal note (teammates only) by our admin; returns the new part's id ("" if not shown).

        Sent once: after a timeout we cannot know whether Intercom wrote it, and a blind retry
        could post the note twice. The caller decides (the outbox records the attempt).
        """
        path = f"/conversations/{quote(str(conversation_id), safe='')}/reply"
        payload = {"message_type": "note", "type": "admin", "admin_id": self.admin_id(), "body": body_html}
        raw = self._call("POST", path, json=payload)
        return self._parse(_newest_note_id, raw, f"POST {path}")

    # --- tags ----------------------------------------------------------------------------------

    def ensure_tag(self, *, name: str) -> Tag:
        """POST /tags creates the tag or finds the existing one by name: safe to repeat.

        The answer is kept by name for this client's life: a decision's tag is one of a few names,
        and asking again cost a call per decision. `forget_tag` drops it (deleted in Intercom).
        """
        if (known := self._tags.get(name)) is not None:
            return known
        tag = self._parse(Tag.from_api, self._call("POST", "/tags", json={"name": name}, safe=True), "POST /tags")
        self._tags[name] = tag
        return tag

    def forget_tag(self, name: str) -> None:
        self._tags.pop(name, None)

    def tag_conversation(self, *, conversation_id: str, tag_id: str) -> Tag:
        path = f"/conversations/{quote(str(conversation_id), safe='')}/tags"
        raw = self._call("POST", path, json={"id": str(tag_id), "admin_id": self.admin_id()}, safe=True)
        return self._parse(Tag.from_api, raw, f"POST {path}")

    # --- search (reads, sent as POST: safe to repeat) ------------------------------------------

    def search_contacts(self, *, email: str) -> list[Contact]:
        body = {"query": {"field": "email", "operator": "=", "value": email}, "pagination": {"per_page": 50}}
        raw = self._call("POST", "/contacts/search", json=body, safe=True)
        return self._parse(lambda r: [Contact.from_api(c) for c in _items(r, "data")], raw, "POST /contacts/search")

    def search_conversations(
        self, *, contact_id: str, open_only: bool = True, page_size: int = SEARCH_PAGE_SIZE
    ) -> list[ConversationSummary]:
        """The contact's conversations, most recently updated first.

        Intercom's search has no documented sort, so every page is read (cursor `starting_after`,
        at most SEARCH_MAX_PAGES) and sorted here; a contact seldom has many open conversations.
        """
        conditions = [{"field": "contact_ids", "operator": "=", "value": str(contact_id)}]
        if open_only:
            conditions.append({"field": "open", "operator": "=", "value": True})
        body = {"query": {"operator": "AND", "value": conditions}, "pagination": {"per_page": page_size}}
        found: list[ConversationSummary] = []
        for _ in range(SEARCH_MAX_PAGES):
            raw = self._call("POST", "/conversations/search", json=body, safe=True)
            found += self._parse(
                lambda r: [ConversationSummary.from_api(c) for c in _items(r, "conversations")],
                raw,
                "POST /conversations/search",
            )
            cursor = _next_cursor(raw)
            if not cursor:
                break
            body["pagination"] = {"per_page": page_size, "starting_after": cursor}
        return sorted(found, key=lambda c: (c.updated_at is not None, c.updated_at), reverse=True)

    def find_open_conversation(self, *, email: str) -> ConversationSummary | None:
        """The most recently updated open conversation of any contact with this email."""
        candidates = []
        for contact in self.search_contacts(email=email):
            candidates.extend(self.search_conversations(contact_id=contact.id, open_only=True))
        candidates.sort(key=lambda c: (c.updated_at is not None, c.updated_at), reverse=True)
        return candidates[0] if candidates else None


def _items(raw: dict, key: str) -> list:
    items = raw.get(key)
    if not isinstance(items, list):
        raise MalformedResponse(f"expected a list under {key!r}")
    return items


def _next_cursor(raw: dict) -> str:
    pages = raw.get("pages")
    following = pages.get("next") if isinstance(pages, dict) else None
    cursor = following.get("starting_after") if isinstance(following, dict) else None
    return cursor if isinstance(cursor, str) else ""


def _newest_note_id(raw: dict) -> str:
    """The reply endpoint answers with the conversation carrying only the new part (not the history)."""
    parts = _listed(raw, "conversation_parts", "conversation_parts")
    notes = [p for p in parts if isinstance(p, dict) and p.get("part_type") == "note"]
    if not notes:
        raise MalformedResponse("reply answered without the new note")
    return str(notes[-1].get("id") or "")


def get_intercom_client(**overrides) -> IntercomClient:
    """The client for the configured workspace (settings; the sandbox's defaults when it is on)."""
    options = {
        "base_url": settings.INTERCOM_API_URL,
        "access_token": settings.INTERCOM_ACCESS_TOKEN,
        "api_version": settings.INTERCOM_API_VERSION,
        "admin_id": settings.INTERCOM_ADMIN_ID,
        **overrides,
    }
    return IntercomClient(**options)


_shared_clients_lock = threading.Lock()
_shared_clients: dict[tuple, IntercomClient] = {}


def shared_intercom_client() -> IntercomClient:
    """The process's one client per configuration: building one costs its TLS context (~0.1 s), and
    httpx.Client is safe to share across threads."""
    factory = get_intercom_client  # looked up at each call: a test that swaps the factory gets its own client
    key = (
        factory,
        settings.INTERCOM_API_URL,
        settings.INTERCOM_ACCESS_TOKEN,
        settings.INTERCOM_API_VERSION,
        settings.INTERCOM_ADMIN_ID,
    )
    with _shared_clients_lock:
        if key not in _shared_clients:
            _shared_clients[key] = factory()
        return _shared_clients[key]
