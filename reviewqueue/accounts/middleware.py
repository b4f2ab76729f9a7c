# Sent by pages' background refreshes (the queue's poller, a verification's progress): they are not a
# person's activity, so they must not keep an idle session alive, nor write the session each time.
BACKGROUND_HEADER = "X-Background-Poll"


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
        if session is not None and not session.is_empty() and BACKGROUND_HEADER not in request.headers:
            session.modified = True  # SessionMiddleware then saves it and re-sends the cookie
        return response
