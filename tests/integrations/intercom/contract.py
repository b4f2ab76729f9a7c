"""Intercom's official OpenAPI 2.14 (contracts/intercom-openapi-2.14.yaml) as a checker.

`validate_response` and `validate_request` hold one answer or one request body against the
document, strictly (a property the document does not declare is refused, so neither the sandbox
nor the client invents fields); `ValidatingTransport` serves the sandbox in-process and checks
every API request and answer passing through it. The YAML is read once per test session.

What the checker allows beyond the operation's own `responses` (each documented elsewhere in
contracts/intercom.md):
- 400 `intercom_version_invalid` on any call (an Intercom-Version Intercom does not know);
- 401 `unauthorized` on any call (every call needs the token; the YAML omits it on a few);
- 409 `conflict` (creating a contact that exists: Intercom's answer, which the YAML leaves out);
- 429 `rate_limit_exceeded` on any call (Intercom's rate limits);
- 400 `parameter_invalid` / `parameter_not_found` on any call with a body (a missing or bad field);
- 500 on any call (the sandbox's injected failures play Intercom's server errors).
Every error, declared or not, must be an `error.list` whose `request_id` is a uuid.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path

import httpx
import yaml
from openapi_schema_validator import OAS30Validator

SPEC_PATH = Path(__file__).resolve().parents[3] / "contracts" / "intercom-openapi-2.14.yaml"
UNDECLARED_ERRORS = {
    400: {"intercom_version_invalid", "parameter_invalid", "parameter_not_found"},
    401: {"unauthorized"},
    409: {"conflict"},
    429: {"rate_limit_exceeded"},
    500: {"server_error"},
}


class ContractViolation(AssertionError):
    pass


def _nullable_ref(schema: dict) -> dict:
    """`{$ref, nullable: true}`: OpenAPI 3.0 ignores a $ref's siblings, so validators read it as not
    nullable; the document means null is allowed (its own examples answer `assigned_to: null`)."""
    return {"anyOf": [{"$ref": schema["$ref"]}, {"enum": [None]}]}


def _strict(schema):
    """Refuse properties the document does not declare (objects combined with allOf are left open:
    each branch declares only part of the properties); a nullable $ref made nullable."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if isinstance(value, dict) and "$ref" in value and value.get("nullable"):
                schema[key] = _nullable_ref(value)
        if (
            schema.get("type") == "object"
            and "properties" in schema
            and "additionalProperties" not in schema
            and "allOf" not in schema
        ):
            schema["additionalProperties"] = False
        for value in schema.values():
            _strict(value)
    elif isinstance(schema, list):
        for item in schema:
            _strict(item)
    return schema


@functools.cache
def spec() -> dict:
    with SPEC_PATH.open() as handle:
        document = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return _strict(copy.deepcopy(document))


@functools.cache
def _routes() -> list[tuple[re.Pattern, str]]:
    """Path templates as patterns, literal ones first (`/conversations/search` before `/conversations/{id}`)."""
    templates = sorted(spec()["paths"], key=lambda path: (path.count("{"), path))
    return [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path) for path in templates]


def _operation(method: str, path: str) -> tuple[str, dict]:
    template = next((template for pattern, template in _routes() if pattern.match(path)), None)
    if template is None:
        raise ContractViolation(f"{method} {path}: no such path in Intercom's OpenAPI document")
    operation = spec()["paths"][template].get(method.lower())
    if operation is None:
        raise ContractViolation(f"{method} {template}: no such operation in Intercom's OpenAPI document")
    return template, operation


def _check(schema: dict, data, where: str) -> None:
    validator = OAS30Validator(
        {**schema, "components": spec()["components"]}, format_checker=OAS30Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    if errors:
        details = "; ".join(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message[:300]}" for e in errors[:5])
        raise ContractViolation(f"{where}: {details}")


def _json_schema(declared: dict) -> dict | None:
    return declared.get("content", {}).get("application/json", {}).get("schema")


def validate_response(method: str, path: str, status: int, content_type: str, body: bytes) -> None:
    where = f"{method} {path} -> {status}"
    if "json" not in content_type:
        raise ContractViolation(f"{where}: content type {content_type!r}")
    data = json.loads(body)
    template, operation = _operation(method, path)
    declared = operation["responses"].get(str(status))
    if status >= 400:
        _check({**spec()["components"]["schemas"]["error"], "required": ["type", "errors", "request_id"]}, data, where)
        if data["type"] != "error.list":
            raise ContractViolation(f"{where}: type {data['type']!r}, not error.list")
        codes = {error["code"] for error in data["errors"]}
        if declared is None and not codes <= UNDECLARED_ERRORS.get(status, set()):
            raise ContractViolation(f"{where}: {sorted(codes)} is not an error {method} {template} answers")
        return
    if declared is None:
        raise ContractViolation(f"{method} {template}: status {status} is not in the document")
    schema = _json_schema(declared)
    if schema is not None:
        _check(schema, data, f"{method} {template} -> {status}")


def validate_request(method: str, path: str, body: bytes) -> None:
    template, operation = _operation(method, path)
    declared = operation.get("requestBody")
    if not body:
        if declared and declared.get("required"):
            raise ContractViolation(f"{method} {template}: a body is required")
        return
    if declared is None:
        raise ContractViolation(f"{method} {template}: sends a body the operation does not take")
    _check(_json_schema(declared), json.loads(body), f"{method} {template} request body")


class ValidatingTransport(httpx.BaseTransport):
    """Serves the sandbox in-process; every API request body and answer is checked against the document.

    `checked` lists (method, path, status) of what passed, so a test can show it covered a call.
    `requests=False` lets a test send what the document refuses, to check the sandbox's answer to it.
    """

    SANDBOX_ONLY = ("/_sandbox/", "/healthz", "/a/inbox/")

    def __init__(self, app, *, requests: bool = True):
        self.inner = httpx.WSGITransport(app=app)
        self.requests = requests
        self.checked: list[tuple[str, str, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        api = not path.startswith(self.SANDBOX_ONLY)
        if api and self.requests:
            validate_request(request.method, path, request.read())
        response = self.inner.handle_request(request)
        body = response.read()
        if api:
            content_type = response.headers.get("content-type", "")
            validate_response(request.method, path, response.status_code, content_type, body)
            self.checked.append((request.method, path, response.status_code))
        return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)
