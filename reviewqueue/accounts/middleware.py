import time

from django.conf import settings

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
