"""PostgreSQL or Redis unreachable while a middleware (not a view) needs it: 503 with Retry-After, not 500.

A logged-in reviewer's page loads the session (cache, then PostgreSQL: cached_db) and the user row
in the session and auth middleware, before any view runs; ServiceUnavailableMiddleware's
process_exception never sees those errors, Django's handler500 does (reviewqueue/unavailable.py).
The outage is real for this process: the connection is pointed at a closed port, as
tests/test_unavailable.py's refused connection is.
"""

import pytest
from django.db import connections
from django.test import Client

from reviewqueue.unavailable import server_error
from tests.livesystem import free_port

pytestmark = pytest.mark.django_db(transaction=True)  # the real connection is closed and reopened: no test transaction


@pytest.fixture
def logged_in(reviewer) -> Client:
    client = Client(raise_request_exception=False)  # answer as production does, instead of re-raising
    client.force_login(reviewer)
    assert client.get("/queue/").status_code == 200
    return client


@pytest.fixture
def postgres_down():
    """The default connection reconnects to a port nobody listens on, as a stopped PostgreSQL refuses."""
    connection = connections["default"]
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))
    yield
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)


def test_a_logged_in_reviewers_page_answers_503_while_postgres_is_down(logged_in, postgres_down):
    response = logged_in.get("/queue/")
    assert response.status_code == 503, response.content[:300]
    assert response["Retry-After"] == "5"


def test_a_session_cookie_unknown_to_the_cache_answers_503_while_postgres_is_down(reviewer, postgres_down):
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "a" * 32  # the session middleware reads it from PostgreSQL
    response = client.get("/queue/")
    assert response.status_code == 503, response.content[:300]


def test_a_page_answers_503_while_redis_the_session_cache_is_down(logged_in, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }
    response = logged_in.get("/queue/")
    assert response.status_code == 503, response.content[:300]
    assert response["Retry-After"] == "5"


def test_any_other_error_outside_a_view_is_still_djangos_500(rf):
    try:
        raise ValueError("a bug in a middleware")
    except ValueError:
        response = server_error(rf.get("/queue/"))
    assert response.status_code == 500
