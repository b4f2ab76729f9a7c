"""Login throttling: after LOGIN_FAILURE_LIMIT failures in LOGIN_FAILURE_WINDOW seconds, for one
username or from one address, further attempts are refused until the window passes. Counters live
in the cache (Redis), so every web process sees the same count."""

from django.conf import settings
from django.core.cache import cache


def _keys(username: str, ip: str | None) -> list[str]:
    keys = [f"login-failures:user:{username.strip().lower()}"]
    if ip:
        keys.append(f"login-failures:ip:{ip}")
    return keys


def login_locked(username: str, ip: str | None) -> bool:
    counts = cache.get_many(_keys(username, ip))
    return any(count >= settings.LOGIN_FAILURE_LIMIT for count in counts.values())


def login_failed(username: str, ip: str | None) -> None:
    for key in _keys(username, ip):
        # add() starts the window only on the first failure; incr() keeps its expiry.
        if not cache.add(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW):
            try:
                cache.incr(key)
            except ValueError:  # expired between add() and incr()
                cache.add(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW)


def login_succeeded(username: str) -> None:
    cache.delete(_keys(username, None)[0])
