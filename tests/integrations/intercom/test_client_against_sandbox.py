"""The client against the sandbox served on loopback: the same REST shapes as Intercom's."""

import uuid

import pytest

from reviewqueue.integrations.intercom.client import (
    IntercomClient,
    IntercomNotFound,
    IntercomRateLimited,
    IntercomUnauthorized,
)
from reviewqueue.sandbox.intercom import defaults


def test_me_names_the_sandbox_admin_and_app(sandbox_client):
    admin = sandbox_client.me()
    assert admin.id == defaults.ADMIN_ID
    assert admin.app_id == defaults.APP_ID
    assert sandbox_client.admin_id() == defaults.ADMIN_ID


def test_configured_admin_id_wins_over_me(sandbox):
    client = IntercomClient(base_url=sandbox.url, access_token=defaults.ACCESS_TOKEN, admin_id="992")
    assert client.admin_id() == "992"


def test_conversation_fetch_is_typed_with_parts_contacts_and_a_link(sandbox, sandbox_client, customer_conversation):
    contact, created = customer_conversation
    sandbox.state.reply(
        created["id"],
        {"message_type": "comment", "type": "user", "intercom_user_id": contact["id"], "body": "Any news?"},
    )

    conversation = sandbox_client.get_conversation(created["id"])

    assert conversation.id == created["id"]
    assert conversation.open is True and conversation.state == "open"
    assert conversation.source.body == "<p>My order arrived damaged.</p>"
    assert conversation.source.author.email == "dana@example.com"
    assert [c.id for c in conversation.contacts] == [contact["id"]]
    assert [(p.part_type, p.body, p.author.type) for p in conversation.parts] == [("comment", "Any news?", "user")]
    assert conversation.waiting_since is not None
    assert conversation.url == f"{sandbox.url}/a/inbox/{defaults.APP_ID}/inbox/conversation/{created['id']}"


def test_note_round_trip_is_an_admin_note_on_the_conversation(sandbox, sandbox_client, customer_conversation):
    _, created = customer_conversation

    part_id = sandbox_client.add_note(conversation_id=created["id"], body_html="<p>Approved by Rita.</p>")

    conversation = sandbox_client.get_conversation(created["id"])
    note = conversation.parts[-1]
    assert note.id == part_id
    assert note.part_type == "note"
    assert note.body == "<p>Approved by Rita.</p>"
    assert (note.author.type, note.author.id) == ("admin", defaults.ADMIN_ID)


def test_tag_is_created_once_and_attached(sandbox, sandbox_client, customer_conversation):
    _, created = customer_conversation
    tag = sandbox_client.ensure_tag(name="reviewqueue: approved")
    assert sandbox_client.ensure_tag(name="reviewqueue: approved") == tag

    sandbox_client.tag_conversation(conversation_id=created["id"], tag_id=tag.id)
    sandbox_client.tag_conversation(conversation_id=created["id"], tag_id=tag.id)

    assert sandbox_client.get_conversation(created["id"]).tags == [tag]


def test_search_finds_the_recipients_most_recent_open_conversation(sandbox, sandbox_client, customer_conversation):
    contact, first = customer_conversation
    clock = [2_000_000_000]
    sandbox.state.clock = lambda: clock[0]
    clock[0] += 10
    second, _ = sandbox.state.conversation_create(contact_id=contact["id"], body="Another question")
    clock[0] += 10
    closed, _ = sandbox.state.conversation_create(contact_id=contact["id"], body="Solved already")
    sandbox.state.manage(closed["id"], {"message_type": "close", "admin_id": defaults.ADMIN_ID})
    other = sandbox.state.contact_create(email="sam@example.com")
    sandbox.state.conversation_create(contact_id=other["id"], body="Not Dana")

    contacts = sandbox_client.search_contacts(email="dana@example.com")
    assert [c.id for c in contacts] == [contact["id"]]
    found = sandbox_client.search_conversations(contact_id=contact["id"])
    assert [c.id for c in found] == [second["id"], first["id"]]
    assert all(c.open for c in found)
    assert sandbox_client.find_open_conversation(email="dana@example.com").id == second["id"]
    assert sandbox_client.find_open_conversation(email="nobody@example.com") is None
    one_per_page = sandbox_client.search_conversations(contact_id=contact["id"], page_size=1)
    assert [c.id for c in one_per_page] == [second["id"], first["id"]]


def test_unknown_conversation_is_not_found_with_intercoms_code(sandbox_client):
    with pytest.raises(IntercomNotFound) as caught:
        sandbox_client.get_conversation("404404")
    assert caught.value.code == "not_found"
    assert str(uuid.UUID(caught.value.request_id)) == caught.value.request_id  # Intercom's request ids are uuids


def test_wrong_token_is_unauthorized(sandbox):
    client = IntercomClient(base_url=sandbox.url, access_token="wrong")
    with pytest.raises(IntercomUnauthorized):
        client.me()


def test_sandbox_429_on_demand_is_waited_out_then_the_call_succeeds(sandbox, customer_conversation):
    _, created = customer_conversation
    sandbox.knobs.update({"fail_next": [429, 429]})
    slept = []
    client = IntercomClient(base_url=sandbox.url, access_token=defaults.ACCESS_TOKEN, sleep=slept.append)
    assert client.get_conversation(created["id"]).id == created["id"]
    assert len(slept) == 2 and all(0 <= s <= 10 for s in slept)


def test_sandbox_rate_knob_limits_calls_per_window(sandbox, customer_conversation):
    _, created = customer_conversation
    sandbox.clock = lambda: 1_700_000_003  # mid-window: the reset is 7 s away
    sandbox.knobs.update({"rate": 2})
    client = IntercomClient(
        base_url=sandbox.url, access_token=defaults.ACCESS_TOKEN, sleep=lambda s: None, clock=lambda: 1_700_000_003
    )
    client.me()  # call 1 (then cached)
    client.get_conversation(created["id"])  # call 2
    with pytest.raises(IntercomRateLimited) as caught:  # every retry lands in the same frozen window
        client.get_conversation(created["id"])
    assert caught.value.reset_at == 1_700_000_010
    assert caught.value.wait_seconds(now=lambda: 1_700_000_003) == 7
