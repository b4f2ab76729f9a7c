"""Counters every process adds to and any process reads: Redis hashes, so /metrics answers the same
whichever web process serves it, and counts made in workers show too.

Counted where it happens, with the smallest edits there: a webhook receiver is wrapped in
`counted_webhook(source)`, a vendor client's transport method in `counted_vendor_errors(vendor, Error)`.
Nothing here imports the review app (integrations use it). Counting never fails the work it counts:
Redis down only loses counts, logged at debug.
"""

import functools
import json
import logging
import re

import redis
from django.conf import settings

log = logging.getLogger(__name__)

KEY_PREFIX = "reviewqueue:metrics:"
WEBHOOKS_RECEIVED = "webhooks_received"  # labels: source
WEBHOOKS_REFUSED = "webhooks_refused"  # labels: source, status
VENDOR_ERRORS = "vendor_errors"  # labels: vendor, kind

_clients: dict[str, redis.Redis] = {}


def _redis() -> redis.Redis:
    url = settings.REDIS_URL
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    return _clients[url]


def counter_add(name: str, **labels: str) -> None:
    """Add one to the counter `name` with these labels."""
    field = json.dumps(labels, sort_keys=True)
    try:
        _redis().hincrby(KEY_PREFIX + name, field, 1)
    except redis.RedisError as error:
        log.debug("metrics counter not counted", extra={"counter": name, "error": repr(error)})


def counter_values(name: str) -> list[tuple[dict[str, str], int]]:
    """Every label set of the counter `name` with its count (empty when Redis does not answer)."""
    try:
        raw = _redis().hgetall(KEY_PREFIX + name)
    except redis.RedisError as error:
        log.warning("metrics counters unreadable", extra={"counter": name, "error": repr(error)})
        return []
    return [(json.loads(field), int(value)) for field, value in sorted(raw.items())]


def counters_reset() -> None:
    """Forget every count (tests)."""
    _redis().delete(*(KEY_PREFIX + name for name in (WEBHOOKS_RECEIVED, WEBHOOKS_REFUSED, VENDOR_ERRORS)))


def counted_webhook(source: str):
    """Count a webhook view's POSTs: accepted (2xx) as received, anything else as refused by status."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            if request.method == "POST":
                if response.status_code < 300:
                    counter_add(WEBHOOKS_RECEIVED, source=source)
                else:
                    counter_add(WEBHOOKS_REFUSED, source=source, status=str(response.status_code))
            return response

        return wrapped

    return decorator


def error_kind(error: Exception, vendor_prefix: str) -> str:
    """MultiMailRateLimited → rate_limited; the vendor's base error → error."""
    name = type(error).__name__.removeprefix(vendor_prefix) or "Error"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def counted_vendor_errors(vendor: str, error_type: type[Exception], prefix: str):
    """Count each `error_type` a vendor client's transport method raises, by kind, and re-raise it."""

    def decorator(method):
        @functools.wraps(method)
        def wrapped(*args, **kwargs):
            try:
                return method(*args, **kwargs)
            except error_type as error:
                counter_add(VENDOR_ERRORS, vendor=vendor, kind=error_kind(error, prefix))
                raise

        return wrapped

    return decorator
