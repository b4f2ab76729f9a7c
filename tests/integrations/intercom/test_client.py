"""The Intercom client at the HTTP boundary (httpx.MockTransport): headers, errors, retries, 429s."""

import logging

import httpx
import pytest

from reviewqueue.integrations.intercom.client import (
    IntercomBadRequest,
    IntercomClient,
    IntercomNotConfigured,
    IntercomNotFound,
    IntercomPlanRestricted,
    IntercomRateLimited,
    IntercomServerError,
    IntercomUnauthorized,
    IntercomUnavailable,
    get_intercom_client,
)

TOKEN = "dG9rOmFiY2RlZl9zZWNyZXRfdG9rZW4="
ME = {"type": "admin", "id": "814", "email": "ops@example.com", "name": "Ops", "app": {"id_code": "abc123"}}
CONVERSATION = {
    "type": "conversation",
    "id": "123",
    "title": None,
    "created_at": 1700000000,
    "updated_at": 1700000500,
    "waiting_since": None,
    "open": False,
    "state": "closed",
    "priority": "priority",
    "admin_assignee_id": 814,
    "team_assignee_id": None,
    "source": {"type": "email", "subject": "Refund", "body": "<p>Hi</p>", "author": {"type": "lead", "id": "c1"}},
    "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": "c1", "external_id": None}]},
    "tags": {"type": "tag.list", "tags": [{"type": "tag", "id": "7", "name": "vip"}]},
    "conversation_parts": {
        "type": "conversation_part.list",
        "conversation_parts": [
            {"id": "p1", "part_type": "close", "body": None, "created_at": 1700000500, "author": {"type": "admin"}}
        ],
        "total_count": 1,
    },
}

# What POST /conversations/{id}/reply answers beside the conversation: only the new part (the spec's examples).
NOTE_ANSWER_PARTS = {
    "type": "conversation_part.list",
    "conversation_parts": [{"id": "n9", "part_type": "note", "body": "<p>Approved</p>", "author": {"type": "admin"}}],
    "total_count": 1,
}


def error_list(code: str, message: str) -> dict:
    return {"type": "error.list", "request_id": "req-1", "errors": [{"code": code, "message": message}]}


def scripted(*responses, base_url="https://api.eu.intercom.io", **options):
    """A client whose transport answers /me with ME and every other call with the next response."""
    calls, sleeps = [], []
    remaining = list(responses)

    def handler(request):
        if request.url.path == "/me":
            return httpx.Response(200, json=ME)
        calls.append(request)
        step = remaining.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    client = IntercomClient(
        base_url=base_url,
        access_token=TOKEN,
        api_version="2.14",
        transport=httpx.MockTransport(handler),
        sleep=sleeps.append,
        **options,
    )
    return client, calls, sleeps


def test_calls_carry_bearer_token_pinned_version_and_json_accept():
    client, calls, _ = scripted(httpx.Response(200, json=CONVERSATION))
    client.get_conversation("123")
    request = calls[0]
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Intercom-Version"] == "2.14"
    assert request.headers["Accept"] == "application/json"
    assert str(request.url) == "https://api.eu.intercom.io/conversations/123"


def test_conversation_is_parsed_into_types_and_links_to_the_regional_inbox():
    client, _, _ = scripted(httpx.Response(200, json=CONVERSATION))
    conversation = client.get_conversation("123")
    assert conversation.state == "closed" and conversation.open is False
    assert conversation.admin_assignee_id == "814" and conversation.team_assignee_id == ""
    assert conversation.updated_at.timestamp() == 1700000500
    assert conversation.source.subject == "Refund"
    assert [t.name for t in conversation.tags] == ["vip"]
    assert conversation.parts[0].part_type == "close" and conversation.parts[0].body == ""
    assert conversation.url == "https://app.eu.intercom.com/a/inbox/abc123/inbox/conversation/123"


def test_snapshot_data_round_trips_to_the_same_conversation():
    from reviewqueue.integrations.intercom.types import Conversation

    client, _, _ = scripted(httpx.Response(200, json=CONVERSATION))
    conversation = client.get_conversation("123")
    assert Conversation.from_data(conversation.to_data()) == conversation


@pytest.mark.parametrize(
    ("status", "code", "error_type"),
    [
        (400, "parameter_invalid", IntercomBadRequest),
        (401, "unauthorized", IntercomUnauthorized),
        (403, "api_plan_restricted", IntercomPlanRestricted),
        (404, "not_found", IntercomNotFound),
        (422, "parameter_invalid", IntercomBadRequest),
        (500, "server_error", IntercomServerError),
    ],
)
def test_error_list_is_parsed_into_a_domain_error(status, code, error_type):
    client, _, _ = scripted(*[httpx.Response(status, json=error_list(code, "It went wrong"))] * 4)
    with pytest.raises(error_type) as caught:
        client.get_conversation("123")
    assert caught.value.status == status
    assert caught.value.code == code
    assert caught.value.message == "It went wrong"
    assert caught.value.request_id == "req-1"


def test_several_errors_are_all_in_the_message():
    body = {"type": "error.list", "errors": [{"code": "a", "message": "first"}, {"code": "b", "message": "second"}]}
    client, _, _ = scripted(httpx.Response(400, json=body))
    with pytest.raises(IntercomBadRequest, match="first; second"):
        client.ensure_tag(name="x")


def test_error_without_json_body_still_maps_by_status():
    client, _, _ = scripted(httpx.Response(404, text="<html>nope</html>"))
    with pytest.raises(IntercomNotFound):
        client.get_conversation("123")


def test_429_waits_until_the_reset_time_then_retries():
    client, calls, sleeps = scripted(
        httpx.Response(
            429, headers={"X-RateLimit-Reset": "1700000007"}, json=error_list("rate_limit_exceeded", "slow")
        ),
        httpx.Response(200, json=CONVERSATION),
        clock=lambda: 1700000003.0,
    )
    assert client.get_conversation("123").id == "123"
    assert sleeps == [4.0]
    assert len(calls) == 2


def test_429_with_a_reset_too_far_away_raises_rate_limited_with_the_reset_time():
    client, calls, sleeps = scripted(
        httpx.Response(429, headers={"X-RateLimit-Reset": "1700003600"}, json=error_list("rate_limit_exceeded", "x")),
        clock=lambda: 1700000000.0,
    )
    with pytest.raises(IntercomRateLimited) as caught:
        client.get_conversation("123")
    assert sleeps == [] and len(calls) == 1
    assert caught.value.reset_at == 1700003600
    assert caught.value.wait_seconds(now=lambda: 1700000000.0) == 3600


def test_a_rate_limited_note_is_sent_again_after_the_wait_because_it_was_not_carried_out():
    client, calls, sleeps = scripted(
        httpx.Response(429, headers={"X-RateLimit-Reset": "1700000002"}),
        httpx.Response(200, json=CONVERSATION | {"conversation_parts": NOTE_ANSWER_PARTS}),
        clock=lambda: 1700000000.0,
    )
    assert client.add_note(conversation_id="123", body_html="<p>ok</p>") == "n9"
    assert sleeps == [2.0] and len(calls) == 2


def test_get_is_retried_with_backoff_after_server_errors_and_timeouts():
    client, calls, sleeps = scripted(
        httpx.Response(502), httpx.ReadTimeout("slow"), httpx.Response(200, json=CONVERSATION)
    )
    assert client.get_conversation("123").id == "123"
    assert len(calls) == 3 and len(sleeps) == 2


def test_note_is_not_retried_after_a_server_error_or_timeout():
    client, calls, _ = scripted(httpx.Response(500, json=error_list("server_error", "boom")))
    with pytest.raises(IntercomServerError):
        client.add_note(conversation_id="123", body_html="<p>x</p>")
    assert len(calls) == 1

    client, calls, _ = scripted(httpx.ReadTimeout("slow"))
    with pytest.raises(IntercomUnavailable):
        client.add_note(conversation_id="123", body_html="<p>x</p>")
    assert len(calls) == 1


def test_note_is_an_admin_note_from_our_admin_and_its_id_is_the_answers_one_part():
    client, calls, _ = scripted(httpx.Response(200, json=CONVERSATION | {"conversation_parts": NOTE_ANSWER_PARTS}))
    assert client.add_note(conversation_id="123", body_html="<p>Approved</p>") == "n9"
    import json

    assert json.loads(calls[0].content) == {
        "message_type": "note",
        "type": "admin",
        "admin_id": "814",
        "body": "<p>Approved</p>",
    }


def test_a_note_answer_without_the_new_note_is_malformed():
    """Intercom answers a reply with the new part only; the history (here, a close) is not where the note is."""
    client, _, _ = scripted(httpx.Response(200, json=CONVERSATION))
    with pytest.raises(IntercomUnavailable, match="without the new note"):
        client.add_note(conversation_id="123", body_html="<p>Approved</p>")


def test_retries_are_bounded_and_end_in_unavailable():
    client, calls, _ = scripted(*[httpx.ConnectError("refused")] * 4)
    with pytest.raises(IntercomUnavailable):
        client.get_conversation("123")
    assert len(calls) == 4


def test_malformed_success_response_is_unavailable_not_a_crash():
    client, _, _ = scripted(httpx.Response(200, text="not json"))
    with pytest.raises(IntercomUnavailable):
        client.get_conversation("123")
    client, _, _ = scripted(httpx.Response(200, json={"type": "conversation", "contacts": {"contacts": "x"}}))
    with pytest.raises(IntercomUnavailable):
        client.get_conversation("123")


def test_search_sends_intercoms_query_language():
    import json

    client, calls, _ = scripted(
        httpx.Response(200, json={"type": "conversation.list", "conversations": [], "total_count": 0})
    )
    assert client.search_conversations(contact_id="c1") == []
    assert json.loads(calls[0].content)["query"] == {
        "operator": "AND",
        "value": [
            {"field": "contact_ids", "operator": "=", "value": "c1"},
            {"field": "open", "operator": "=", "value": True},
        ],
    }


def test_the_token_never_reaches_the_logs_or_the_repr(caplog):
    caplog.set_level(logging.DEBUG)
    client, _, _ = scripted(httpx.Response(500), httpx.Response(500), httpx.Response(500), httpx.Response(500))
    with pytest.raises(IntercomServerError) as caught:
        client.get_conversation("123")
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(client)
    assert TOKEN not in str(caught.value)


def test_missing_token_names_the_variable(settings):
    settings.INTERCOM_ACCESS_TOKEN = ""
    with pytest.raises(IntercomNotConfigured, match="INTERCOM_ACCESS_TOKEN"):
        get_intercom_client()


def test_a_tag_is_asked_for_once_per_name_until_forgotten():
    tag = {"type": "tag", "id": "17", "name": "email-approved"}
    client, calls, _ = scripted(httpx.Response(200, json=tag), httpx.Response(200, json={**tag, "id": "18"}))
    assert client.ensure_tag(name="email-approved").id == "17"
    assert client.ensure_tag(name="email-approved").id == "17"
    assert len(calls) == 1
    client.forget_tag("email-approved")
    assert client.ensure_tag(name="email-approved").id == "18"
    assert len(calls) == 2
