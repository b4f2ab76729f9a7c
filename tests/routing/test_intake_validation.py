"""POST /api/v1/drafts refuses bad requests with a 4xx that names the field, and never sends them."""

import json

import pytest

from tests.routing.conftest import intake_token, mailbox, rules_saved

URL = "/api/v1/drafts"
GOOD = {
    "intercom_conversation_id": "215467",
    "to": ["customer@example.com"],
    "subject": "Your refund",
    "markdown": "Hello, your refund is on its way.",
}


@pytest.fixture
def token(db):
    mailbox()
    rules_saved()
    return intake_token()[1]


def post(client, body, token, content_type="application/json"):
    data = json.dumps(body) if not isinstance(body, (str, bytes)) else body
    return client.post(URL, data, content_type=content_type, headers={"Authorization": f"Bearer {token}"})


BAD_FIELDS = [
    ("intercom_conversation_id", {"intercom_conversation_id": None}),
    ("intercom_conversation_id", {"intercom_conversation_id": ""}),
    ("intercom_conversation_id", {"intercom_conversation_id": "has spaces"}),
    ("to", {"to": []}),
    ("to", {"to": "customer@example.com"}),
    ("to", {"to": ["not-an-address"]}),
    ("to", {"to": [42]}),
    ("to", {"to": [f"c{i}@example.com" for i in range(51)]}),
    ("to", {"to": [f"c{i}@example.com" for i in range(30)], "cc": [f"d{i}@example.com" for i in range(21)]}),
    ("cc", {"cc": ["bad address"]}),
    ("cc", {"cc": "x@example.com"}),
    ("subject", {"subject": ""}),
    ("subject", {"subject": "   "}),
    ("subject", {"subject": "x" * 999}),
    ("subject", {"subject": "two\nlines"}),
    ("subject", {"subject": 7}),
    ("markdown", {"markdown": ""}),
    ("markdown", {"markdown": "x" * 262_145}),
    ("markdown", {"markdown": ["list"]}),
    ("kind", {"kind": "has spaces"}),
    ("kind", {"kind": 3}),
    ("bcc", {"bcc": ["x@example.com"]}),
    ("send_at", {"send_at": "tomorrow"}),
]


@pytest.mark.parametrize(("field", "change"), BAD_FIELDS, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_FIELDS)])
def test_intake_rejects_each_bad_field_with_a_message_naming_it(client, token, multimail, field, change):
    body = {**GOOD, **change}
    if change.get(field, "") is None:
        del body[field]
    response = post(client, body, token)
    assert response.status_code == 400
    answer = response.json()
    assert field in answer["fields"]
    assert field in answer["error"]
    assert multimail.sends == []


def test_a_missing_required_field_is_named(client, token, multimail):
    for field in ("to", "subject", "markdown"):
        body = {k: v for k, v in GOOD.items() if k != field}
        assert field in post(client, body, token).json()["fields"]


def test_the_limits_themselves_are_accepted(client, token, multimail):
    body = {**GOOD, "subject": "s" * 998, "markdown": "m" * 262_144, "to": [f"c{i}@example.com" for i in range(50)]}
    assert post(client, body, token).status_code == 202


def test_intake_wants_json(client, token, multimail):
    response = post(client, "to=a@example.com", token, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]


def test_intake_refuses_broken_json(client, token, multimail):
    response = post(client, '{"to": [', token)
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]


def test_intake_refuses_a_body_that_is_not_an_object(client, token, multimail):
    assert post(client, [GOOD], token).status_code == 400


def test_intake_without_a_token_is_401(client, token, multimail):
    response = client.post(URL, json.dumps(GOOD), content_type="application/json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_intake_with_an_unknown_token_is_401(client, token, multimail):
    assert post(client, GOOD, "rqi_made-up").status_code == 401


def test_a_personal_api_token_is_not_an_intake_token(client, token, multimail, reviewer):
    from reviewqueue.accounts.services import api_token_issue
    from reviewqueue.audit.services import Actor

    _, personal = api_token_issue(user=reviewer, name="mine", actor=Actor.system("test"))
    assert post(client, GOOD, personal).status_code == 401


def test_a_body_over_the_upload_limit_is_413(client, token, multimail, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post(client, {**GOOD, "markdown": "x" * 2000}, token)
    assert response.status_code == 413
    assert multimail.sends == []
