"""The Intercom sandbox speaks Intercom's REST shapes (contracts/intercom-openapi-2.14.yaml)."""

import uuid

import httpx

from reviewqueue.sandbox.intercom import defaults
from reviewqueue.sandbox.intercom.app import make_app


def customer_writes_in(api, email="dana@example.com", body="Where is my refund?"):
    contact = api.post("/contacts", json={"email": email, "name": "Dana", "role": "user"}).json()
    message = api.post("/conversations", json={"from": {"type": "user", "id": contact["id"]}, "body": body}).json()
    return contact, message["conversation_id"]


def test_healthz_needs_no_token(sandbox):
    assert httpx.get(f"{sandbox.url}/healthz").json()["status"] == "ok"


def test_api_without_the_token_is_an_error_list_401(sandbox):
    response = httpx.get(f"{sandbox.url}/me", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    body = response.json()
    assert body["type"] == "error.list"
    assert body["errors"][0]["code"] == "unauthorized"


def test_me_gives_the_admin_id_and_app(api):
    me = api.get("/me").json()
    assert me["type"] == "admin" and me["id"] == defaults.ADMIN_ID
    assert me["app"]["id_code"] == defaults.APP_ID


def test_conversation_has_intercoms_wrapped_lists(api):
    contact, conversation_id = customer_writes_in(api)
    conversation = api.get(f"/conversations/{conversation_id}").json()
    assert conversation["type"] == "conversation"
    assert conversation["state"] == "open" and conversation["open"] is True
    assert conversation["contacts"]["type"] == "contact.list"
    assert conversation["contacts"]["contacts"][0]["id"] == contact["id"]
    assert conversation["tags"] == {"type": "tag.list", "tags": []}
    assert conversation["conversation_parts"]["type"] == "conversation_part.list"
    assert conversation["source"]["body"] == "Where is my refund?"


def test_admin_note_and_contact_reply_become_parts_in_order(api):
    contact, conversation_id = customer_writes_in(api)
    note = {"message_type": "note", "type": "admin", "admin_id": defaults.ADMIN_ID, "body": "<p>internal</p>"}
    assert api.post(f"/conversations/{conversation_id}/reply", json=note).status_code == 200
    reply = {"message_type": "comment", "type": "user", "intercom_user_id": contact["id"], "body": "hello?"}
    assert api.post(f"/conversations/{conversation_id}/reply", json=reply).status_code == 200
    conversation = api.get(f"/conversations/{conversation_id}").json()
    parts = conversation["conversation_parts"]["conversation_parts"]
    assert [(p["part_type"], p["author"]["type"]) for p in parts] == [("note", "admin"), ("comment", "user")]
    assert conversation["conversation_parts"]["total_count"] == 2


def test_a_reply_is_answered_with_only_its_new_part(api):
    """Every example of reply (and of parts) in Intercom's document carries the one new part, not the history."""
    contact, conversation_id = customer_writes_in(api)
    reply = {"message_type": "comment", "type": "user", "intercom_user_id": contact["id"], "body": "hello?"}
    api.post(f"/conversations/{conversation_id}/reply", json=reply)
    note = {"message_type": "note", "type": "admin", "admin_id": defaults.ADMIN_ID, "body": "<p>internal</p>"}

    answer = api.post(f"/conversations/{conversation_id}/reply", json=note).json()
    close = {"message_type": "close", "type": "admin", "admin_id": defaults.ADMIN_ID}
    closed = api.post(f"/conversations/{conversation_id}/parts", json=close).json()

    assert answer["type"] == "conversation" and answer["id"] == conversation_id
    assert [(p["part_type"], p["body"]) for p in answer["conversation_parts"]["conversation_parts"]] == [
        ("note", "<p>internal</p>")
    ]
    assert answer["conversation_parts"]["total_count"] == 1
    assert [p["part_type"] for p in closed["conversation_parts"]["conversation_parts"]] == ["close"]
    assert len(api.get(f"/conversations/{conversation_id}").json()["conversation_parts"]["conversation_parts"]) == 3


def test_a_reply_without_message_type_is_refused_for_admins_and_contacts(api):
    contact, conversation_id = customer_writes_in(api)
    replies = [
        {"type": "user", "intercom_user_id": contact["id"], "body": "hello?"},
        {"type": "admin", "admin_id": defaults.ADMIN_ID, "body": "<p>internal</p>"},
    ]
    for reply in replies:
        response = api.post(f"/conversations/{conversation_id}/reply", json=reply)
        assert response.status_code == 400
        assert response.json()["errors"] == [{"code": "parameter_invalid", "message": "message_type is required"}]
    assert api.get(f"/conversations/{conversation_id}").json()["conversation_parts"]["conversation_parts"] == []


def test_an_intercom_version_intercom_does_not_know_is_refused(api):
    for version in ("2.99", "Unstable", "latest"):
        response = api.get("/me", headers={"Intercom-Version": version})
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "intercom_version_invalid"
    assert api.get("/me", headers={"Intercom-Version": "2.11"}).status_code == 200
    without = httpx.get(f"{api.base_url}/me", headers={"Authorization": api.headers["Authorization"]})
    assert without.status_code == 200  # no header: the app's default version


def test_a_conversation_id_that_is_not_a_number_is_not_found(api):
    _, conversation_id = customer_writes_in(api)
    note = {"message_type": "note", "type": "admin", "admin_id": defaults.ADMIN_ID, "body": "n"}
    answers = [
        api.get("/conversations/abc"),
        api.get(f"/conversations/{conversation_id}x"),
        api.post("/conversations/c_7/reply", json=note),
        api.post("/conversations/abc/tags", json={"id": "1", "admin_id": defaults.ADMIN_ID}),
    ]
    assert [(a.status_code, a.json()["errors"][0]["code"]) for a in answers] == [(404, "not_found")] * 4


def test_plan_restricted_answers_403_where_intercom_documents_it(sandbox, api):
    _, conversation_id = customer_writes_in(api)
    sandbox.knobs.update({"plan_restricted": True})
    note = {"message_type": "note", "type": "admin", "admin_id": defaults.ADMIN_ID, "body": "n"}
    restricted = [
        api.get(f"/conversations/{conversation_id}"),
        api.post(f"/conversations/{conversation_id}/reply", json=note),
    ]
    for response in restricted:
        assert response.status_code == 403
        assert response.json()["errors"] == [{"code": "api_plan_restricted", "message": "Active subscription needed."}]
    assert api.get("/me").status_code == 200  # the document gives no 403 for the rest
    sandbox.knobs.update({"plan_restricted": False})
    assert api.get(f"/conversations/{conversation_id}").status_code == 200
    assert httpx.post(f"{sandbox.url}/_sandbox/knobs", json={"plan_restricted": "yes"}).status_code == 400


def test_a_new_contact_shows_in_search_only_after_the_search_lag(sandbox, api):
    clock = [1_800_000_000]
    sandbox.state.clock = lambda: clock[0]
    sandbox.knobs.update({"search_lag": 120})
    customer_writes_in(api, email="new@example.com")
    query = {"query": {"field": "email", "operator": "=", "value": "new@example.com"}}

    early = api.post("/contacts/search", json=query).json()
    clock[0] += 119
    still_early = api.post("/contacts/search", json=query).json()
    clock[0] += 1
    found = api.post("/contacts/search", json=query).json()

    assert (early["data"], early["total_count"]) == ([], 0)
    assert still_early["data"] == []
    assert [c["email"] for c in found["data"]] == ["new@example.com"]


def test_errors_carry_a_uuid_request_id(api):
    request_id = api.get("/conversations/404404").json()["request_id"]
    assert str(uuid.UUID(request_id)) == request_id


def test_note_from_an_unknown_admin_or_without_body_is_refused(api):
    _, conversation_id = customer_writes_in(api)
    bad_admin = {"message_type": "note", "type": "admin", "admin_id": "1", "body": "x"}
    response = api.post(f"/conversations/{conversation_id}/reply", json=bad_admin)
    assert response.status_code == 404 and response.json()["errors"][0]["code"] == "admin_not_found"
    no_body = {"message_type": "note", "type": "admin", "admin_id": defaults.ADMIN_ID}
    assert api.post(f"/conversations/{conversation_id}/reply", json=no_body).status_code == 400


def test_malformed_json_is_a_400_error_list(api):
    response = api.post("/tags", content=b"{nope", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "parameter_invalid"


def test_tags_are_found_by_name_and_attached_once(api):
    _, conversation_id = customer_writes_in(api)
    tag = api.post("/tags", json={"name": "approved"}).json()
    assert api.post("/tags", json={"name": "approved"}).json()["id"] == tag["id"]
    attach = {"id": tag["id"], "admin_id": defaults.ADMIN_ID}
    api.post(f"/conversations/{conversation_id}/tags", json=attach)
    api.post(f"/conversations/{conversation_id}/tags", json=attach)
    tags = api.get(f"/conversations/{conversation_id}").json()["tags"]["tags"]
    assert [t["name"] for t in tags] == ["approved"]
    api.delete(f"/conversations/{conversation_id}/tags/{tag['id']}")
    assert api.get(f"/conversations/{conversation_id}").json()["tags"]["tags"] == []


def test_search_with_compound_query_and_pagination(api):
    contact, first = customer_writes_in(api)
    second = api.post("/conversations", json={"from": {"type": "user", "id": contact["id"]}, "body": "again"}).json()
    customer_writes_in(api, email="sam@example.com")
    query = {"operator": "AND", "value": [{"field": "contact_ids", "operator": "=", "value": contact["id"]}]}
    page1 = api.post("/conversations/search", json={"query": query, "pagination": {"per_page": 1}}).json()
    assert page1["total_count"] == 2 and len(page1["conversations"]) == 1
    assert "conversation_parts" not in page1["conversations"][0]
    cursor = page1["pages"]["next"]["starting_after"]
    page2 = api.post(
        "/conversations/search", json={"query": query, "pagination": {"per_page": 1, "starting_after": cursor}}
    ).json()
    assert {page1["conversations"][0]["id"], page2["conversations"][0]["id"]} == {first, second["conversation_id"]}
    assert "next" not in page2["pages"]

    found = api.post(
        "/contacts/search", json={"query": {"field": "email", "operator": "=", "value": "sam@example.com"}}
    )
    assert [c["email"] for c in found.json()["data"]] == ["sam@example.com"]
    bad = api.post("/contacts/search", json={"query": {"field": "email", "operator": "LIKE", "value": "x"}})
    assert bad.status_code == 400


def test_close_then_customer_reply_reopens(api):
    contact, conversation_id = customer_writes_in(api)
    close = {"message_type": "close", "type": "admin", "admin_id": defaults.ADMIN_ID}
    assert api.post(f"/conversations/{conversation_id}/parts", json=close).json()["state"] == "closed"
    reply = {"message_type": "comment", "type": "user", "intercom_user_id": contact["id"], "body": "not solved"}
    assert api.post(f"/conversations/{conversation_id}/reply", json=reply).json()["state"] == "open"


def test_forced_429_carries_rate_limit_headers(sandbox, api):
    sandbox.knobs.update({"fail_next": [429]})
    response = api.get("/me")
    assert response.status_code == 429
    assert response.json()["errors"][0]["code"] == "rate_limit_exceeded"
    assert int(response.headers["X-RateLimit-Reset"]) > 0
    assert response.headers["X-RateLimit-Remaining"].isdigit()
    assert api.get("/me").status_code == 200


def test_knobs_are_set_through_the_control_endpoint(sandbox, api):
    knobs = httpx.post(f"{sandbox.url}/_sandbox/knobs", json={"error_rate": 1, "latency": 0}).json()
    assert knobs["error_rate"] == 1.0
    response = api.get("/me")
    assert response.status_code == 500 and response.json()["type"] == "error.list"
    httpx.post(f"{sandbox.url}/_sandbox/knobs", json={"error_rate": 0})
    assert api.get("/me").status_code == 200
    bad = httpx.post(f"{sandbox.url}/_sandbox/knobs", json={"rate": -1})
    assert bad.status_code == 400
    assert httpx.post(f"{sandbox.url}/_sandbox/knobs", json={"colour": "red"}).status_code == 400


def test_rate_knob_answers_429_past_the_limit_in_a_window(sandbox, api):
    sandbox.clock = lambda: 1_700_000_001
    sandbox.knobs.update({"rate": 2})
    assert [api.get("/me").status_code for _ in range(3)] == [200, 200, 429]
    sandbox.clock = lambda: 1_700_000_011  # the next window
    assert api.get("/me").status_code == 200


def test_state_survives_a_restart_from_its_file(sandbox, api, tmp_path):
    _, conversation_id = customer_writes_in(api)
    restarted = make_app(state_path=tmp_path / "intercom.json")
    assert restarted.state.conversation(conversation_id)["source"]["body"] == "Where is my refund?"
    restarted.close()


def test_inbox_page_escapes_customer_content(sandbox, api):
    _, conversation_id = customer_writes_in(api, body="<script>alert(1)</script>")
    page = httpx.get(f"{sandbox.url}/a/inbox/{defaults.APP_ID}/inbox/conversation/{conversation_id}")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text


def test_a_search_copies_only_what_it_finds_and_its_answer_is_a_copy(sandbox, api):
    contact, conversation_id = customer_writes_in(api)
    customer_writes_in(api, email="sam@example.com")
    examined = []

    def only_dana(conversation):
        examined.append(conversation["id"])
        return conversation["id"] == conversation_id

    found = sandbox.state.conversations(only_dana)
    found[0]["title"] = "changed by the caller"

    assert [c["id"] for c in found] == [conversation_id] and len(examined) == 2
    assert api.get(f"/conversations/{conversation_id}").json()["title"] is None
    assert [c["id"] for c in sandbox.state.contacts(lambda c: c["email"] == "dana@example.com")] == [contact["id"]]
