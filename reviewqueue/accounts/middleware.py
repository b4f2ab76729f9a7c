import logging
import time

from django.conf import settings
from django.contrib.auth import logout
from django.utils.cache import add_never_cache_headers

logger = logging.getLogger(__name__)

# Sent by pages' background refreshes (the queue's poller, a verification's progress): they are not a
# person's activity, so they must not keep an idle session alive, nor write the session each time.
BACKGROUND_HEADER = "X-Background-Poll"
# When the session's expiry was last renewed (unix seconds), kept in the session itself.
RENEWED_AT_KEY = "_idle_renewed_at"
# Renewing writes the session (a database commit and a cache write: ~2.5 ms of CPU, most of what a
# trivial page costs), so a person's requests renew it at most this often.
RENEW_AT_MOST_EVERY = 60


def renewal_interval() -> int:
    """Seconds between renewals: a thirtieth of the idle timeout, at most RENEW_AT_MOST_EVERY.

    Renewing less often can only end a session earlier (by at most this much), never later.
    """
    return min(RENEW_AT_MOST_EVERY, settings.SESSION_COOKIE_AGE // 30)


class IdleTimeoutMiddleware:
    """Renews the session's expiry on a person's requests only; the idle timeout is SESSION_COOKIE_AGE.

    Django's SESSION_SAVE_EVERY_REQUEST would renew it on every request, background polls included,
    so a tab left open on the queue would never time out.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or session.is_empty() or BACKGROUND_HEADER in request.headers:
            return response
        renewed_at = session.get(RENEWED_AT_KEY, 0)  # loads it: a stale cookie's session turns out empty
        if session.is_empty():
            return response
        now = int(time.time())
        if session.modified or now - renewed_at >= renewal_interval():
            session[RENEWED_AT_KEY] = now  # modified: SessionMiddleware then saves it and re-sends the cookie
        return response


# When the session's person logged in (unix seconds), kept in the session itself.
STARTED_AT_KEY = "_started_at"


class SessionLifetimeMiddleware:
    """Ends a session SESSION_MAX_AGE seconds after login, however active it has been.

    The idle timeout alone lets a session that is used now and then live for ever, and a stolen
    cookie with it. Sessions from before this middleware count from the first request it sees.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            started_at = request.session.setdefault(STARTED_AT_KEY, int(time.time()))
            if time.time() - started_at >= settings.SESSION_MAX_AGE:
                logout(request)  # flushes the session: this request, and the cookie's next ones, are anonymous
        return self.get_response(request)


class NoStoreWhenAuthenticatedMiddleware:
    """Cache-Control: no-store on every answer to a signed-in person or an API token: they carry
    customer data and one-time token displays, which no browser or proxy cache may keep."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.user.is_authenticated:  # read after the view: the API's token decorator sets it there
            add_never_cache_headers(response)
        return response


class UntrustedProxyWarningMiddleware:
    """Warns once per process when requests carry X-Forwarded-For while BEHIND_PROXY is off.

    Behind a proxy every client then shares the proxy's address (one person's failed logins slow
    everyone's), and the scheme is not known to be HTTPS. Either the proxy is real and BEHIND_PROXY
    should be on, or a client is setting the header itself; both deserve a look.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.warned = False

    def __call__(self, request):
        if not self.warned and not settings.BEHIND_PROXY and "HTTP_X_FORWARDED_FOR" in request.META:
            self.warned = True
            logger.warning(
                "requests arrive with X-Forwarded-For but BEHIND_PROXY is off: the header is ignored, and "
                "clients behind a proxy all share its address; set BEHIND_PROXY=1 if a proxy you run sets it"
            )
        return self.get_response(request)
