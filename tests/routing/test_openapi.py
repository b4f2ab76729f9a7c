"""The OpenAPI document at /api/v1/openapi.json describes every real answer of /api/v1."""

import json
import re

import pytest
from django.utils import timezone
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from reviewqueue.accounts.services import api_token_issue
from reviewqueue.audit.services import Actor
from reviewqueue.review.models import Draft
from reviewqueue.routing.openapi import openapi_document
from tests.conftest import make_user
from tests.routing.conftest import intake_token, mailbox, rules_saved

DOC = openapi_document()
INTAKE = {
    "intercom_conversation_id": "215467",
    "to": ["customer@example.com"],
    "subject": "Your refund",
    "markdown": "Hello.",
    "kind": "refund",
}


def schema_validator(schema: dict) -> OAS30Validator:
    # The components travel with each schema so that "#/components/schemas/…" references resolve.
    return OAS30Validator({**schema, "components": DOC["components"]}, format_checker=oas30_format_checker)


def operation(method: str, path: str) -> dict:
    for template, item in DOC["paths"].items():
        pattern = "^/api/v1" + re.sub(r"\{[^}]+\}", r"[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return item[method.lower()]
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def conforms(response, method: str, path: str) -> dict:
    """Assert the answer's status is documented for the operation and its body matches the schema."""
    responses = operation(method, path)["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method} {path} answered {status}, not documented ({', '.join(responses)})"
    body = json.loads(response.content)
    schema = responses[status]["content"]["application/json"]["schema"]
    errors = sorted(schema_validator(schema).iter_errors(body), key=str)
    assert not errors, f"{method} {path} {status}: {errors[0].message} at {list(errors[0].absolute_path)}"
    return body


@pytest.fixture
def api(db, django_user_model):
    """A reviewer's personal token, an auditor's, an intake token, and a routed mailbox."""
    rita = make_user(django_user_model, "rita", "reviewer")
    rosa = make_user(django_user_model, "rosa", "reviewer")
    aldo = make_user(django_user_model, "aldo", "auditor")
    mailbox()
    rules_saved()
    return {
        "rita": rita,
        "rosa": rosa,
        "reviewer": api_token_issue(user=rita, name="t", actor=Actor.system("test"))[1],
        "other": api_token_issue(user=rosa, name="t", actor=Actor.system("test"))[1],
        "auditor": api_token_issue(user=aldo, name="t", actor=Actor.system("test"))[1],
        "intake": intake_token()[1],
    }


def call(client, method, path, token=None, body=None, content_type="application/json"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method == "GET":
        return client.get(path, headers=headers)
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(path, data, content_type=content_type, headers=headers)


def test_the_document_is_served_and_every_schema_in_it_is_valid(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    body = conforms(response, "GET", "/api/v1/openapi.json")
    assert body["openapi"].startswith("3.")
    for schema in body["components"]["schemas"].values():
        OAS30Validator.check_schema(schema)
    assert schema_validator(body["components"]["schemas"]["IntakeRequest"]).is_valid(INTAKE)


def test_intake_answers_match_the_document(client, api, multimail):
    conforms(call(client, "POST", "/api/v1/drafts", api["intake"], INTAKE), "POST", "/api/v1/drafts")  # 202
    conforms(call(client, "POST", "/api/v1/drafts", api["intake"], INTAKE), "POST", "/api/v1/drafts")  # 200
    bad = conforms(
        call(client, "POST", "/api/v1/drafts", api["intake"], {**INTAKE, "to": []}), "POST", "/api/v1/drafts"
    )
    assert "to" in bad["fields"]
    conforms(call(client, "POST", "/api/v1/drafts", None, INTAKE), "POST", "/api/v1/drafts")  # 401
    conforms(call(client, "POST", "/api/v1/drafts", api["intake"], "x=1", "text/plain"), "POST", "/api/v1/drafts")
    multimail.fail[("POST", "/v1/mailboxes/")] = (400, {"error": "filtered"})
    refused = call(client, "POST", "/api/v1/drafts", api["intake"], {**INTAKE, "subject": "Other"})
    assert refused.status_code == 422
    conforms(refused, "POST", "/api/v1/drafts")
    multimail.fail[("POST", "/v1/mailboxes/")] = (403, {"error": "scope"})
    failed = call(client, "POST", "/api/v1/drafts", api["intake"], {**INTAKE, "subject": "Third"})
    assert failed.status_code == 502
    conforms(failed, "POST", "/api/v1/drafts")
    multimail.fail[("POST", "/v1/mailboxes/")] = (503, {"error": "down"})
    down = call(client, "POST", "/api/v1/drafts", api["intake"], {**INTAKE, "subject": "Fourth"})
    assert down.status_code == 503
    conforms(down, "POST", "/api/v1/drafts")


def test_review_api_answers_match_the_document(client, api, multimail):
    from reviewqueue.review.claims import draft_claim

    intake = call(client, "POST", "/api/v1/drafts", api["intake"], INTAKE).json()
    draft_id = intake["id"]
    other = Draft.objects.create(email_id="em_other", mailbox_id="mb_support", source="poll", subject="Other")
    draft_claim(draft=other, reviewer=api["rosa"])

    listing = conforms(call(client, "GET", "/api/v1/drafts?status=pending", api["reviewer"]), "GET", "/api/v1/drafts")
    assert {d["id"] for d in listing["drafts"]} == {draft_id, other.pk}
    conforms(call(client, "GET", "/api/v1/drafts?status=bogus", api["reviewer"]), "GET", "/api/v1/drafts")  # 400
    conforms(call(client, "GET", "/api/v1/drafts", None), "GET", "/api/v1/drafts")  # 401
    conforms(call(client, "GET", "/api/v1/drafts", api["auditor"]), "GET", "/api/v1/drafts")  # 403

    path = f"/api/v1/drafts/{draft_id}"
    assert conforms(call(client, "GET", path, api["reviewer"]), "GET", path)["id"] == draft_id
    conforms(call(client, "GET", "/api/v1/drafts/999999", api["reviewer"]), "GET", "/api/v1/drafts/999999")  # 404
    conforms(call(client, "GET", path, None), "GET", path)  # 401
    conforms(call(client, "GET", path, api["auditor"]), "GET", path)  # 403

    decide = f"/api/v1/drafts/{draft_id}/decision"
    bad = conforms(call(client, "POST", decide, api["reviewer"], {"action": "reject"}), "POST", decide)
    assert "reason" in bad["fields"]
    not_in = conforms(call(client, "POST", decide, api["reviewer"], {"action": "approve"}), "POST", decide)
    assert not_in["conflict"] == "content_not_in"
    Draft.objects.filter(pk=draft_id).update(fetched_at=timezone.now())  # the background fetch, done
    decided = call(client, "POST", decide, api["reviewer"], {"action": "approve", "reason": "fine"})
    assert decided.status_code == 201
    conforms(decided, "POST", decide)
    again = call(client, "POST", decide, api["other"], {"action": "reject", "reason": "late"})
    assert again.status_code == 409
    assert conforms(again, "POST", decide)["decision"]["reviewer"]["username"] == "rita"
    claimed_path = f"/api/v1/drafts/{other.pk}/decision"
    claimed = call(client, "POST", claimed_path, api["reviewer"], {"action": "approve", "reason": ""})
    assert claimed.status_code == 409
    conforms(claimed, "POST", claimed_path)
    missing = "/api/v1/drafts/999999/decision"
    conforms(call(client, "POST", missing, api["reviewer"], {"action": "approve"}), "POST", missing)  # 404
    conforms(call(client, "POST", decide, None, {"action": "approve"}), "POST", decide)  # 401
    conforms(call(client, "POST", decide, api["auditor"], {"action": "approve"}), "POST", decide)  # 403
