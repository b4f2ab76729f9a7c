"""MultiMail's failures as exceptions, each saying whether trying again later may succeed.

`transient` and `retry_after` are the one answer to "retry or give up?": the poll, the outbox and
intake read them instead of deciding by class. A rate limit (429), a server error (5xx) and an
answer that never came or could not be read are transient; every other refusal is not.
"""

import json

import httpx

from reviewqueue.integrations.http import seconds_from_retry_after


class MultiMailError(Exception):
    """Any failure talking to MultiMail. `status` is the HTTP status when there was one."""

    transient = False

    def __init__(self, status: int | None, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after  # seconds MultiMail asked us to wait, when it said

    def __str__(self) -> str:
        return f"MultiMail {self.status}: {self.message}" if self.status else f"MultiMail: {self.message}"


class MultiMailNotConfigured(MultiMailError):
    def __init__(self, variable: str, purpose: str):
        super().__init__(None, f"{variable} is not set; it is needed to {purpose}")
        self.variable = variable


class MultiMailBadRequest(MultiMailError):
    pass


class MultiMailUnauthorized(MultiMailError):
    pass


class MultiMailForbidden(MultiMailError):
    pass


class MultiMailNotFound(MultiMailError):
    pass


class MultiMailConflict(MultiMailError):
    pass


class MultiMailRateLimited(MultiMailError):
    transient = True


class MultiMailServerError(MultiMailError):
    transient = True


class MultiMailUnavailable(MultiMailError):
    """Timeout, connection failure or an answer we cannot read, after the retries allowed."""

    transient = True


ERRORS_BY_STATUS: dict[int, type[MultiMailError]] = {
    400: MultiMailBadRequest,
    401: MultiMailUnauthorized,
    403: MultiMailForbidden,
    404: MultiMailNotFound,
    409: MultiMailConflict,
}


def error_for(response: httpx.Response) -> MultiMailError:
    """The error for an HTTP answer of 400 or more."""
    status = response.status_code
    message = _error_text(response)
    if status == 429:
        return MultiMailRateLimited(status, message, retry_after=seconds_from_retry_after(response))
    if status >= 500:
        return MultiMailServerError(status, message)
    return ERRORS_BY_STATUS.get(status, MultiMailError)(status, message)


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]:
        return body["error"][:500]
    return response.reason_phrase or f"HTTP {response.status_code}"
