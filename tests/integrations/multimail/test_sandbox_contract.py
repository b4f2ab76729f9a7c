"""The contract checker itself catches what it is there to catch (so a green run means something)."""

import json

import pytest

from .conftest import ContractViolation, validate_response


def check(method, path, status, data, content_type="application/json"):
    validate_response(method, path, status, content_type, json.dumps(data).encode())


def test_checker_accepts_a_conforming_answer():
    check("GET", "/v1/webhooks", 200, {"subscriptions": [{"id": "wh_1", "url": "https://x", "events": []}]})


@pytest.mark.parametrize(
    ("method", "path", "status", "data"),
    [
        ("GET", "/v1/oversight/pending", 200, {"emails": [{"id": 1}]}),  # wrong type
        ("GET", "/v1/oversight/pending", 200, {"emails": [{"id": "e", "invented": True}]}),  # undeclared field
        ("GET", "/v1/mailboxes/m/emails/e", 200, {"id": "e", "status": "teleported"}),  # not in the enum
        ("GET", "/v1/audit-log", 200, {"entries": [{"id": "a", "created_at": "yesterday"}]}),  # bad date-time
        ("POST", "/v1/oversight/decide", 201, {"status": "approved"}),  # undeclared status
        ("GET", "/v1/teleport", 200, {}),  # undeclared path
        ("POST", "/v1/oversight/decide", 404, {"message": "no"}),  # error without "error"
        ("POST", "/v1/oversight/decide", 418, {"error": "teapot"}),  # status MultiMail never sends
    ],
)
def test_checker_refuses_answers_outside_the_document(method, path, status, data):
    with pytest.raises(ContractViolation):
        check(method, path, status, data)


def test_checker_refuses_a_non_json_answer():
    with pytest.raises(ContractViolation, match="content type"):
        check("GET", "/v1/webhooks", 200, {}, content_type="text/html")
