"""The MultiMail sandbox served in-process, and a transport that checks every answer against the
published OpenAPI document."""

import copy
import json
import re
from pathlib import Path

import httpx
import pytest
from openapi_schema_validator import OAS30Validator

from reviewqueue.integrations.http import RetryPolicy
from reviewqueue.integrations.multimail.client import MultiMailClient
from reviewqueue.sandbox.multimail import defaults
from reviewqueue.sandbox.multimail.app import Knobs, make_app

SPEC_PATH = Path(__file__).resolve().parents[3] / "contracts" / "multimail-openapi.json"
# contracts/multimail-notes.md "Statuses": a gated send goes pending_scan → pending_send_approval →
# approved / approved_and_sent; the spec's status enum omits these three, the notes name them.
NOTES_STATUSES = ["pending_scan", "approved", "approved_and_sent"]


def _strict(schema):
    """Refuse properties the spec does not declare, so the sandbox never invents fields."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" and "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        for value in schema.values():
            _strict(value)
    elif isinstance(schema, list):
        for item in schema:
            _strict(item)
    return schema


def load_spec() -> dict:
    spec = json.loads(SPEC_PATH.read_text())
    schemas = spec["components"]["schemas"]
    for name in ("EmailResponse", "EmailSummary"):
        schemas[name]["properties"]["status"]["enum"] += NOTES_STATUSES
    # multimail-notes.md, POST /v1/mailboxes: "creation may first answer 202 and email an approval
    # code to the operator" (MultiMail's MCP changelog); shaped like the spec's other 202 approvals.
    spec["paths"]["/v1/mailboxes"]["post"]["responses"]["202"] = {
        "description": "Approval requested",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"status": {"type": "string"}, "message": {"type": "string"}},
                }
            }
        },
    }
    return _strict(copy.deepcopy(spec))


SPEC = load_spec()
ROUTES = [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path) for path in SPEC["paths"]]


ERROR_STATUSES = {400, 401, 403, 404, 405, 409, 429, 500}


class ContractViolation(AssertionError):
    pass


def validate_response(method: str, path: str, status: int, content_type: str, body: bytes) -> None:
    if "json" not in content_type:
        raise ContractViolation(f"{method} {path} -> {status}: content type {content_type!r}")
    data = json.loads(body)
    if status >= 400:
        # Every error is {"error": "…"} (components.schemas.Error, multimail-notes.md "Errors"); the
        # document lists error statuses unevenly, and 400/401/403/404/429/500 can come from any call.
        schema = SPEC["components"]["schemas"]["Error"]
        errors = list(OAS30Validator({**schema, "required": ["error"]}).iter_errors(data))
        if errors or status not in ERROR_STATUSES:
            raise ContractViolation(f"{method} {path} -> {status}: not an error MultiMail answers: {data!r}")
        return
    template = next((p for rx, p in ROUTES if rx.match(path)), None)
    if template is None:
        raise ContractViolation(f"{method} {path}: no such path in the OpenAPI document")
    operation = SPEC["paths"][template].get(method.lower())
    if operation is None:
        raise ContractViolation(f"{method} {template}: no such operation in the OpenAPI document")
    declared = operation["responses"].get(str(status))
    if declared is None:
        raise ContractViolation(f"{method} {template}: status {status} is not in the document")
    schema = declared.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return
    validator = OAS30Validator(
        {**schema, "components": SPEC["components"]}, format_checker=OAS30Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    if errors:
        raise ContractViolation(
            f"{method} {template} -> {status}: "
            + "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5])
        )


class ValidatingTransport(httpx.BaseTransport):
    """Serves the sandbox in-process and checks every /v1 answer against the OpenAPI document."""

    def __init__(self, app):
        self.inner = httpx.WSGITransport(app=app)
        self.checked = []

    def handle_request(self, request):
        response = self.inner.handle_request(request)
        body = response.read()
        if request.url.path.startswith("/v1/"):
            validate_response(
                request.method, request.url.path, response.status_code, response.headers.get("content-type", ""), body
            )
            self.checked.append((request.method, request.url.path, response.status_code))
        return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)


@pytest.fixture
def knobs():
    return Knobs(delivery_ms=0)


@pytest.fixture
def sandbox(knobs):
    app = make_app(None, knobs, start_sender=False)
    yield app
    app.stop()


@pytest.fixture
def transport(sandbox):
    return ValidatingTransport(sandbox)


def client_for(transport, **overrides) -> MultiMailClient:
    keys = {
        "api_key": defaults.OVERSIGHT_KEY,
        "send_api_key": defaults.SEND_KEY,
        "admin_api_key": defaults.ADMIN_KEY,
        **overrides,
    }
    return MultiMailClient(
        base_url="http://sandbox.test",
        transport=transport,
        retry=RetryPolicy(max_attempts=3),
        sleep=lambda s: None,
        **keys,
    )


@pytest.fixture
def mm(transport):
    return client_for(transport)


@pytest.fixture
def mailbox(mm):
    return mm.create_mailbox(address_local="help", display_name="Help")
