"""A database or broker that cannot be reached answers 503 with Retry-After, not a 500.

While PostgreSQL restarts or Redis is down, a view that needs them cannot do its work. That is not a
bug in the request, and the client should simply try again shortly: the soak under faults saw intake
and the review API answer 500 there (issue 23). Nothing is half written: a failed connection or a
broken transaction is rolled back by Django, and every decision or draft that was committed stays.

Only errors from a view reach process_exception. One raised inside a middleware (the session loaded
from PostgreSQL or the cache, a logged-in person's user row, the session saved on the way out) is
turned into a response by Django on the spot, through handler500: `server_error` below, named in
urls.py, answers those 503 the same way (it runs inside Django's `except`, so it sees the error).
"""

import logging
import sys

import kombu.exceptions
import redis.exceptions
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.views import defaults

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
MESSAGE = "reviewqueue cannot reach its database or message broker just now; try again in a few seconds."
UNREACHABLE = (OperationalError, InterfaceError, kombu.exceptions.OperationalError, redis.exceptions.ConnectionError)


def is_unreachable(error: BaseException) -> bool:
    """A lost or refused connection, not a query or data error (IntegrityError and the like stay 500s)."""
    return isinstance(error, UNREACHABLE) and not _is_query_error(error)


def _is_query_error(error: BaseException) -> bool:
    # psycopg reports a lock timeout or a cancelled statement as OperationalError too: those are a
    # running server's answers about this request. A server that is shutting down or starting
    # (57P01-57P03) or a lost connection (class 08) is unreachable all the same.
    sqlstate = getattr(error.__cause__, "sqlstate", None)
    if not isinstance(error, DatabaseError) or not sqlstate:
        return False
    return not sqlstate.startswith(("08", "57P"))


class ServiceUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_unreachable(exception):
            return None
        return unavailable_response(request, exception)


def server_error(request):
    """handler500: Django's answer to an error raised outside a view (in a middleware); 503 when the
    error is an unreachable database or broker, Django's own 500 page otherwise."""
    error = sys.exception()
    if error is not None and is_unreachable(error):
        return unavailable_response(request, error)
    return defaults.server_error(request)


def unavailable_response(request, exception: BaseException) -> HttpResponse:
    log.warning("answered 503: %s %s: %s", request.method, request.path, exception)
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": "unavailable", "detail": MESSAGE}, status=503)
    else:
        response = HttpResponse(MESSAGE, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
