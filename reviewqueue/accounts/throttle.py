"""Login throttling by username and address together, with exponential backoff.

Counting by username alone let anyone lock anyone out, and counting by address alone let one
person's typos slow down everyone behind the same proxy. So one (username, address) pair is
counted: LOGIN_FAILURE_LIMIT failures are free, then each further one makes the next attempt wait
twice as long as the last (1 s, 2 s, 4 s, ...), never more than LOGIN_FAILURE_WINDOW, which is also
how long failures are remembered after the latest. Nothing is ever locked: the right password
works again once the wait is over. Counters live in the cache (Redis), shared by every web process.
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache


def _key(username: str, ip: str | None) -> str:
    # Hashed: usernames typed at a login form are untrusted text, and cache keys have a length limit.
    pair = f"{username.strip().lower()}\n{ip or ''}".encode()
    return f"login-throttle:{hashlib.sha256(pair).hexdigest()}"


def login_wait(username: str, ip: str | None) -> int:
    """Seconds before this username may try again from this address (0: now)."""
    until = cache.get(f"{_key(username, ip)}:until")
    return 0 if until is None else max(0, math.ceil(until - time.time()))


def backoff_seconds(failures: int) -> int:
    """The wait after `failures` failures in a row: none up to the limit, then doubling, capped."""
    beyond = failures - settings.LOGIN_FAILURE_LIMIT
    if beyond < 0:
        return 0
    return min(settings.LOGIN_FAILURE_WINDOW, 2 ** min(beyond, 32))


def login_failed(username: str, ip: str | None) -> None:
    key, window = _key(username, ip), settings.LOGIN_FAILURE_WINDOW
    if cache.add(f"{key}:failures", 1, timeout=window):
        failures = 1
    else:
        try:
            failures = cache.incr(f"{key}:failures")  # atomic: concurrent failures are all counted
        except ValueError:  # expired between add() and incr()
            cache.add(f"{key}:failures", 1, timeout=window)
            failures = 1
        cache.touch(f"{key}:failures", window)
    wait = backoff_seconds(failures)
    if wait:
        cache.set(f"{key}:until", time.time() + wait, timeout=wait)


def login_succeeded(username: str, ip: str | None) -> None:
    key = _key(username, ip)
    cache.delete_many([f"{key}:failures", f"{key}:until"])
