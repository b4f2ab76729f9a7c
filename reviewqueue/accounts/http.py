"""Request helpers shared by pages, the API and webhooks."""

from django.conf import settings

from reviewqueue.audit.services import RequestOrigin


def client_ip(request) -> str | None:
    # Behind a proxy that appends the client address (BEHIND_PROXY=1), take its last hop.
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR") or None


def request_origin(request) -> RequestOrigin:
    return RequestOrigin(ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", ""))
