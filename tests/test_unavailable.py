"""An unreachable database or broker answers 503 with Retry-After (reviewqueue/unavailable.py)."""

import json

import kombu.exceptions
import psycopg
import psycopg.errors
import pytest
import redis
import redis.exceptions
from django.db import IntegrityError, OperationalError
from django.test import RequestFactory

from reviewqueue.unavailable import ServiceUnavailableMiddleware
from tests.livesystem import free_port


def _answer(path: str, error: BaseException):
    middleware = ServiceUnavailableMiddleware(lambda request: None)
    return middleware.process_exception(RequestFactory().post(path), error)


def _django_error_from(cause: BaseException) -> OperationalError:
    """As Django's DatabaseErrorWrapper raises it: the driver's error as its cause."""
    error = OperationalError(str(cause))
    error.__cause__ = cause
    return error


def _refused_postgres_connection() -> psycopg.OperationalError:
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(host="127.0.0.1", port=free_port(), user="postgres", connect_timeout=2)
    return refused.value


def test_a_refused_database_connection_is_a_503_the_api_client_can_read():
    response = _answer("/api/v1/drafts", _django_error_from(_refused_postgres_connection()))

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert json.loads(response.content)["error"] == "unavailable"


def test_a_broker_that_is_down_is_a_503_on_a_page():
    with pytest.raises(redis.exceptions.ConnectionError) as refused:
        redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=2).ping()

    for error in (refused.value, kombu.exceptions.OperationalError(str(refused.value))):
        response = _answer("/queue/drafts/1/decision", error)
        assert response.status_code == 503
        assert response["Retry-After"] == "5"
        assert b"try again" in response.content


@pytest.mark.parametrize(
    "cause", [psycopg.errors.AdminShutdown("terminating"), psycopg.errors.CannotConnectNow("starting")]
)
def test_a_server_shutting_down_or_starting_is_unreachable_too(cause):
    assert _answer("/api/v1/drafts", _django_error_from(cause)).status_code == 503


@pytest.mark.parametrize(
    "error",
    [
        _django_error_from(psycopg.errors.LockNotAvailable("lock timeout")),
        _django_error_from(psycopg.errors.QueryCanceled("statement timeout")),
        IntegrityError("duplicate key"),
        ValueError("a bug"),
    ],
)
def test_a_running_servers_answer_or_a_bug_is_left_to_django(error):
    assert _answer("/api/v1/drafts", error) is None
