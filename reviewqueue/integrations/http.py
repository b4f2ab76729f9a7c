"""Shared httpx machinery for the vendor clients (MultiMail, Intercom).

One place for timeouts, bounded retries with exponential backoff and full jitter, and honouring a
vendor's 429 "wait this long" hint. It knows nothing about either vendor: each client passes a
`rate_limit_wait` callback that reads its own header (MultiMail: `Retry-After` seconds; Intercom:
`X-RateLimit-Reset` epoch seconds) and turns the final response into its own domain errors.

Retries happen only for calls that are safe to repeat: a GET, or a POST the caller marks `safe`
(for example a MultiMail send carrying an `idempotency_key`). A call that could double a side
effect is sent once. Auth headers are never logged: only method, path and status are.
"""

from __future__ import annotations

import functools
import logging
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3  # total tries, including the first
    backoff_base: float = 0.25  # seconds; attempt n waits up to base * 2**(n-1)
    backoff_cap: float = 4.0  # no single backoff wait exceeds this
    max_rate_limit_wait: float = 30.0  # a 429 asking for longer than this is not waited for

    def backoff(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Full jitter (AWS architecture blog "Exponential Backoff And Jitter"): uniform in [0, cap]."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1)))
        return ceiling * rand()


NO_RETRY = RetryPolicy(max_attempts=1)


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """The process's one TLS client context, built on first use: httpx's default (certificates and host
    names verified against certifi's CA bundle, or SSL_CERT_FILE / SSL_CERT_DIR when set).

    Building one loads the whole CA bundle (~20 ms of CPU); a client made per request (a callback
    delivery, a Slack post) would pay that every time. An SSLContext is safe to share across threads
    and clients: each connection gets its own SSL object from it.
    """
    return httpx.create_ssl_context()


def default_timeout(*, connect: float = 3.0, read: float = 10.0) -> httpx.Timeout:
    """Explicit connect and read timeouts; write/pool follow the read timeout."""
    return httpx.Timeout(read, connect=connect)


def seconds_from_retry_after(response: httpx.Response, now: Callable[[], float] = time.time) -> float | None:
    """`Retry-After: <seconds>` (the form MultiMail uses) or an HTTP date (RFC 9110 allows both).

    None when absent or unreadable: then there is no wait to honour.
    """
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())


def seconds_until_epoch_header(header: str, now: Callable[[], float] = time.time):
    """Build a callback for `X-RateLimit-Reset: <epoch seconds>`-style headers (Intercom)."""

    def wait(response: httpx.Response) -> float | None:
        value = response.headers.get(header, "").strip()
        try:
            reset_at = float(value)
        except ValueError:
            return None
        return max(0.0, reset_at - now())

    return wait


def send_with_retries(
    client: httpx.Client,
    request: httpx.Request,
    *,
    policy: RetryPolicy,
    safe: bool = False,
    rate_limit_wait: Callable[[httpx.Response], float | None] = seconds_from_retry_after,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
) -> httpx.Response:
    """Send `request`; retry safe calls on connection errors, timeouts, 5xx and honourable 429s.

    Returns the last response (the caller maps non-2xx to its errors). Raises the last
    `httpx.TransportError` when every attempt failed to get a response. A 429 is retried (even for
    an unsafe call, since a rate-limited request was not carried out) only when the vendor says
    how long to wait and that wait is within `policy.max_rate_limit_wait`.
    """
    retryable = safe or request.method in SAFE_METHODS
    attempt = 0
    while True:
        attempt += 1
        is_last = attempt >= policy.max_attempts
        try:
            response = client.send(request)
        except httpx.TransportError as exc:
            logger.warning(
                "http %s %s failed (attempt %d): %s", request.method, request.url.path, attempt, type(exc).__name__
            )
            if not retryable or is_last:
                raise
            sleep(policy.backoff(attempt, rand))
            continue

        status = response.status_code
        if status == 429 and not is_last:
            wait = rate_limit_wait(response)
            if wait is not None and wait <= policy.max_rate_limit_wait:
                logger.info("http %s %s rate limited; waiting %.1fs", request.method, request.url.path, wait)
                response.close()
                sleep(wait)
                continue
        elif status >= 500 and retryable and not is_last:
            logger.warning("http %s %s -> %d (attempt %d)", request.method, request.url.path, status, attempt)
            response.close()
            sleep(policy.backoff(attempt, rand))
            continue
        return response
