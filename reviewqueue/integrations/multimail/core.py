"""The HTTP core of the MultiMail client: keys per scope, one request with its retries, the answer read.

Keys: MultiMail refuses one key holding both `send` and `oversight`, so there are three, one per
scope (oversight, send, admin). Calls that only read (emails, threads, mailboxes) use whichever key
is configured, the oversight key first: it is the one that is always there. Keys are sent only in
the Authorization header and never logged.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import httpx

from reviewqueue.integrations.http import (
    RetryPolicy,
    default_timeout,
    seconds_from_retry_after,
    send_with_retries,
    shared_ssl_context,
)
from reviewqueue.integrations.multimail.errors import (
    MultiMailError,
    MultiMailNotConfigured,
    MultiMailUnavailable,
    error_for,
)
from reviewqueue.integrations.multimail.parsing import Malformed
from reviewqueue.metrics.counters import counted_vendor_errors
from reviewqueue.text import make_storable_json

Scope = Literal["oversight", "send", "admin", "read"]
KEY_VARIABLES = {
    "oversight": "MULTIMAIL_API_KEY",
    "send": "MULTIMAIL_SEND_API_KEY",
    "admin": "MULTIMAIL_ADMIN_API_KEY",
}
SCOPE_PURPOSE = {
    "oversight": "list and decide pending drafts (oversight scope)",
    "send": "send, tag or cancel email (send scope)",
    "admin": "manage mailboxes, webhooks and read the audit log (admin scope)",
    "read": "read emails, threads and mailboxes (any MultiMail key with read scope)",
}


@dataclass
class _Reply:
    status: int
    body: dict = field(default_factory=dict)


class MultiMailConnection:
    """What every call shares; MultiMailClient adds the calls themselves."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str = "",
        send_api_key: str = "",
        admin_api_key: str = "",
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._keys = {"oversight": api_key, "send": send_api_key, "admin": admin_api_key}
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=timeout or default_timeout(),
            headers={"Accept": "application/json", "User-Agent": "reviewqueue"},
            verify=shared_ssl_context(),
        )

    def __repr__(self) -> str:  # never show keys
        return f"{type(self).__name__}({self._http.base_url})"

    def close(self) -> None:
        self._http.close()

    def has_key(self, scope: Scope) -> bool:
        try:
            self._key(scope)
        except MultiMailNotConfigured:
            return False
        return True

    def _key(self, scope: Scope) -> str:
        if scope == "read":
            for candidate in ("oversight", "admin", "send"):
                if self._keys[candidate]:
                    return self._keys[candidate]
            raise MultiMailNotConfigured(KEY_VARIABLES["oversight"], SCOPE_PURPOSE["read"])
        key = self._keys[scope]
        if not key:
            raise MultiMailNotConfigured(KEY_VARIABLES[scope], SCOPE_PURPOSE[scope])
        return key

    @counted_vendor_errors("multimail", MultiMailError, prefix="MultiMail")  # /metrics: errors by kind
    def _call(
        self,
        method: str,
        path: str,
        *,
        scope: Scope,
        json: dict | None = None,
        params: dict | None = None,
        safe: bool = False,
    ) -> _Reply:
        key = self._key(scope)
        request = self._http.build_request(
            method, path, json=json, params=params, headers={"Authorization": f"Bearer {key}"}
        )
        try:
            response = send_with_retries(
                self._http,
                request,
                policy=self._retry,
                safe=safe,
                rate_limit_wait=seconds_from_retry_after,
                sleep=self._sleep,
            )
        except httpx.TimeoutException as exc:
            raise MultiMailUnavailable(None, f"{method} {path} timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise MultiMailUnavailable(None, f"{method} {path} could not connect ({type(exc).__name__})") from None
        if response.status_code >= 400:
            raise error_for(response)
        return _Reply(status=response.status_code, body=_json_body(response, method, path))

    @staticmethod
    def _parse(parse, reply: _Reply):
        try:
            return parse(reply.body)
        except Malformed as exc:
            raise MultiMailUnavailable(reply.status, f"malformed response: {exc}") from None


def _json_body(response: httpx.Response, method: str, path: str) -> dict:
    content_type = response.headers.get("Content-Type", "")
    if not response.content:
        return {}
    if "json" not in content_type.lower():
        raise MultiMailUnavailable(
            response.status_code, f"{method} {path} answered {content_type or 'no content type'}, not JSON"
        )
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise MultiMailUnavailable(response.status_code, f"{method} {path} answered malformed JSON") from None
    if not isinstance(body, dict):
        raise MultiMailUnavailable(response.status_code, f"{method} {path} answered JSON that is not an object")
    return make_storable_json(response.content, body)
