"""The Intercom sandbox and our client against Intercom's official OpenAPI 2.14 (contracts/).

Every answer the sandbox gives on the paths reviewqueue uses, errors included, and every request
body the client sends, pass through contract.ValidatingTransport, which holds them against the
document; the first tests show the checker refuses what it is there to refuse.
"""

import json

import httpx
import pytest

from reviewqueue.integrations.http import RetryPolicy
from reviewqueue.integrations.intercom.client import IntercomClient, IntercomNotFound, IntercomPlanRestricted
from reviewqueue.sandbox.intercom import defaults
from reviewqueue.sandbox.intercom.app import make_app

from .contract import ContractViolation, ValidatingTransport, spec, validate_request, validate_response

REQUEST_ID = "8c288c4f-b699-4209-9de4-064398f02785"


def error(code: str, request_id: str = REQUEST_ID) -> dict:
    return {"type": "error.list", "request_id": request_id, "errors": [{"code": code, "message": "m"}]}


def check(method, path, status, data, content_type="application/json"):
    validate_response(method, path, status, content_type, json.dumps(data).encode())


# --- the checker ---------------------------------------------------------------------------------


def test_checker_accepts_conforming_answers_and_requests():
    check("POST", "/tags", 200, {"type": "tag", "id": "17", "name": "approved"})
    check("GET", "/conversations/123", 404, error("not_found"))
    check("GET", "/me", 429, error("rate_limit_exceeded"))
    validate_request("POST", "/conversations/1/tags", json.dumps({"id": "17", "admin_id": "991"}).encode())


@pytest.mark.parametrize(
    ("method", "path", "status", "data"),
    [
        ("POST", "/tags", 200, {"type": "tag", "id": 17, "name": "approved"}),  # wrong type
        ("POST", "/tags", 200, {"type": "tag", "id": "17", "name": "a", "colour": "red"}),  # undeclared field
        ("GET", "/conversations/123", 200, {"type": "conversation", "id": "1", "state": "teleported"}),  # enum
        ("GET", "/teleport", 200, {}),  # undeclared path
        ("POST", "/tags", 201, {"type": "tag", "id": "17"}),  # undeclared status
        ("GET", "/conversations/123", 404, error("not_found", request_id="sandbox-1f")),  # request_id not a uuid
        ("GET", "/conversations/123", 404, {"type": "error.list", "request_id": REQUEST_ID}),  # no errors
        ("GET", "/conversations/123", 418, error("teapot")),  # status Intercom never sends
        ("GET", "/me", 403, error("api_plan_restricted")),  # 403 is documented for conversations, not /me
        ("GET", "/conversations/123", 404, {"type": "error", "request_id": REQUEST_ID, "errors": [{"code": "x"}]}),
    ],
)
def test_checker_refuses_answers_outside_the_document(method, path, status, data):
    with pytest.raises(ContractViolation):
        check(method, path, status, data)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/conversations/1/reply", {"type": "admin", "admin_id": "991", "body": "<p>n</p>"}),  # no message_type
        ("/conversations/1/reply", {"message_type": "note", "type": "admin", "admin_id": 991, "body": "n"}),
        ("/conversations/1/tags", {"id": "17"}),  # no admin_id
        ("/contacts/search", {"pagination": {"per_page": 50}}),  # no query
    ],
)
def test_checker_refuses_requests_outside_the_document(path, body):
    with pytest.raises(ContractViolation):
        validate_request("POST", path, json.dumps(body).encode())


def test_the_sandbox_knows_the_intercom_versions_the_document_lists():
    assert set(spec()["components"]["schemas"]["intercom_version"]["enum"]) == defaults.API_VERSIONS


# --- the sandbox's answers -----------------------------------------------------------------------


@pytest.fixture
def sandbox():
    app = make_app()
    yield app
    app.close()


def raw_api(transport) -> httpx.Client:
    headers = {"Authorization": f"Bearer {defaults.ACCESS_TOKEN}", "Intercom-Version": "2.14"}
    return httpx.Client(transport=transport, base_url="http://intercom.test", headers=headers)


def test_every_answer_of_the_sandbox_on_the_paths_we_use_fits_the_document(sandbox):
    transport = ValidatingTransport(sandbox, requests=False)  # some requests below are refused on purpose
    api = raw_api(transport)
    admin = defaults.ADMIN_ID
    contact = api.post("/contacts", json={"email": "dana@example.com", "name": "Dana", "role": "user"}).json()
    api.post("/contacts", json={"email": "dana@example.com", "role": "user"})  # 409: already there
    api.get("/contacts")
    api.get(f"/contacts/{contact['id']}")
    api.post("/contacts/search", json={"query": {"field": "email", "operator": "=", "value": "dana@example.com"}})
    api.post("/contacts/search", json={"query": {"field": "email", "operator": "LIKE", "value": "x"}})  # 400
    conversation = api.post("/conversations", json={"from": {"type": "user", "id": contact["id"]}, "body": "Hi"})
    conversation_id = conversation.json()["conversation_id"]
    api.get("/conversations")
    api.get(f"/conversations/{conversation_id}")
    api.get("/conversations/404404")  # 404
    api.get("/conversations/abc")  # 404: ids are numbers
    query = {"operator": "AND", "value": [{"field": "contact_ids", "operator": "=", "value": contact["id"]}]}
    api.post("/conversations/search", json={"query": query, "pagination": {"per_page": 1}})
    reply = f"/conversations/{conversation_id}/reply"
    api.post(reply, json={"message_type": "comment", "type": "user", "intercom_user_id": contact["id"], "body": "?"})
    api.post(reply, json={"message_type": "note", "type": "admin", "admin_id": admin, "body": "<p>n</p>"})
    api.post(reply, json={"message_type": "comment", "type": "admin", "admin_id": "992", "body": "Fin here"})
    api.post(reply, json={"type": "admin", "admin_id": admin, "body": "<p>n</p>"})  # 400: no message_type
    api.post(reply, json={"message_type": "note", "type": "admin", "admin_id": "1", "body": "n"})  # 404 admin
    api.post(f"/conversations/{conversation_id}/parts", json={"message_type": "close", "admin_id": admin})
    tag = api.post("/tags", json={"name": "reviewqueue: approved"}).json()
    api.post("/tags", content=b"{nope", headers={"Content-Type": "application/json"})  # 400
    api.get("/tags")
    api.post(f"/conversations/{conversation_id}/tags", json={"id": tag["id"], "admin_id": admin})
    api.post(f"/conversations/{conversation_id}/tags", json={"id": "404", "admin_id": admin})  # 404 tag
    api.delete(f"/conversations/{conversation_id}/tags/{tag['id']}")
    api.get("/me")
    api.get("/admins")
    api.get("/me", headers={"Authorization": "Bearer wrong"})  # 401
    api.get("/me", headers={"Intercom-Version": "9.9"})  # 400 intercom_version_invalid
    sandbox.knobs.update({"plan_restricted": True})
    api.get(f"/conversations/{conversation_id}")  # 403
    api.post(reply, json={"message_type": "note", "type": "admin", "admin_id": admin, "body": "<p>n</p>"})  # 403
    sandbox.knobs.update({"plan_restricted": False, "fail_next": [429, 500]})
    api.get(f"/conversations/{conversation_id}")
    api.get(f"/conversations/{conversation_id}")

    answered = {(method, status) for method, _, status in transport.checked}
    statuses = sorted({status for _, status in answered})
    assert statuses == [200, 400, 401, 403, 404, 409, 429, 500]
    assert len(transport.checked) == 32  # every call above was checked, none slipped past


# --- our client's requests -----------------------------------------------------------------------


@pytest.fixture
def transport(sandbox):
    return ValidatingTransport(sandbox)


@pytest.fixture
def client(transport):
    with IntercomClient(
        base_url="http://intercom-contract.test",
        access_token=defaults.ACCESS_TOKEN,
        admin_id=defaults.ADMIN_ID,
        transport=transport,
        policy=RetryPolicy(max_attempts=3),
        sleep=lambda s: None,
    ) as client:
        yield client


def test_every_request_our_client_sends_fits_the_document(sandbox, transport, client):
    contact = sandbox.state.contact_create(email="dana@example.com", name="Dana")
    created, _ = sandbox.state.conversation_create(contact_id=contact["id"], body="<p>Damaged.</p>")
    sandbox.state.conversation_create(contact_id=contact["id"], body="<p>And another.</p>")

    assert client.get_conversation(created["id"]).id == created["id"]
    note_id = client.add_note(conversation_id=created["id"], body_html="<p>Approved by Rita.</p>")
    tag = client.ensure_tag(name="reviewqueue: approved")
    client.tag_conversation(conversation_id=created["id"], tag_id=tag.id)
    assert [c.id for c in client.search_contacts(email="dana@example.com")] == [contact["id"]]
    assert len(client.search_conversations(contact_id=contact["id"], page_size=1)) == 2  # two pages
    assert client.find_open_conversation(email="dana@example.com") is not None

    assert note_id == client.get_conversation(created["id"]).parts[-1].id
    sent = {(method, path.replace(created["id"], "{id}")) for method, path, _ in transport.checked}
    assert {
        ("GET", "/conversations/{id}"),
        ("POST", "/conversations/{id}/reply"),
        ("POST", "/tags"),
        ("POST", "/conversations/{id}/tags"),
        ("POST", "/contacts/search"),
        ("POST", "/conversations/search"),
    } <= sent


def test_plan_restricted_is_a_clear_error_asked_once(sandbox, transport, client):
    contact = sandbox.state.contact_create(email="dana@example.com")
    created, _ = sandbox.state.conversation_create(contact_id=contact["id"], body="<p>Damaged.</p>")
    sandbox.knobs.update({"plan_restricted": True})

    with pytest.raises(IntercomPlanRestricted) as fetching:
        client.get_conversation(created["id"])
    with pytest.raises(IntercomPlanRestricted):
        client.add_note(conversation_id=created["id"], body_html="<p>Approved.</p>")

    assert [status for _, _, status in transport.checked] == [403, 403]  # neither was retried
    assert fetching.value.code == "api_plan_restricted"
    assert "plan does not include this API" in str(fetching.value)


def test_a_conversation_id_that_is_not_a_number_is_not_found(client):
    with pytest.raises(IntercomNotFound):
        client.get_conversation("c_7")
