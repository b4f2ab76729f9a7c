"""Vendor text PostgreSQL cannot hold is made storable at the client boundary; ours is refused."""

import httpx
import pytest

from reviewqueue.integrations.intercom.client import IntercomClient
from reviewqueue.integrations.intercom.models import ConversationSnapshot
from reviewqueue.integrations.multimail.client import MultiMailClient
from reviewqueue.text import is_storable, make_storable

HOSTILE = "hello\x00world \ud800 end"


def test_is_storable_refuses_nul_and_lone_surrogates():
    assert is_storable("plain text, émoji 🎉")
    assert not is_storable("a\x00b")
    assert not is_storable("a\udc00b")


def test_make_storable_replaces_them_everywhere_in_parsed_json():
    cleaned = make_storable({"k\x00": [HOSTILE, {"n": 1, "t": None}]})
    assert cleaned == {"k\ufffd": ["hello\ufffdworld \ufffd end", {"n": 1, "t": None}]}


def _json_transport(body: str) -> httpx.MockTransport:
    return httpx.MockTransport(
        lambda request: httpx.Response(200, content=body.encode(), headers={"content-type": "application/json"})
    )


def test_a_multimail_email_with_a_nul_byte_arrives_readable():
    raw = '{"id": "em_1", "from": "a@x.test", "to": ["b@y.test"], "subject": "Hi\\u0000", "markdown": "body \\ud800"}'
    client = MultiMailClient(base_url="http://mm.test", api_key="mm_test_key", transport=_json_transport(raw))
    email = client.get_email(mailbox_id="mb_1", email_id="em_1")
    assert email.subject == "Hi\ufffd"
    assert email.markdown == "body \ufffd"


@pytest.mark.django_db
def test_an_intercom_conversation_with_a_nul_byte_can_be_snapshotted():
    from reviewqueue.integrations.intercom.services import snapshot_store

    raw = (
        '{"type": "conversation", "id": "c1", "created_at": 1700000000, "updated_at": 1700000100,'
        ' "source": {"type": "email", "body": "<p>hi\\u0000</p>", "author": {"type": "user", "id": "u1"}},'
        ' "conversation_parts": {"conversation_parts": [{"id": "p1", "part_type": "comment", "body": "x\\u0000",'
        ' "created_at": 1700000050, "author": {"type": "user", "id": "u1"}}]}}'
    )
    client = IntercomClient(base_url="http://ic.test", access_token="tok", transport=_json_transport(raw))
    conversation = client.get_conversation("c1")
    snapshot_store(conversation=conversation)
    stored = ConversationSnapshot.objects.get(conversation_id="c1")
    assert "\ufffd" in str(stored.data)


def test_the_json_fast_path_walks_only_documents_that_escape_something_unstorable():
    from reviewqueue.text import make_storable_json

    clean = {"a": "ok"}
    assert make_storable_json(b'{"a": "ok"}', clean) is clean
    assert make_storable_json(b'{"a": "x\\u0000"}', {"a": "x\x00"}) == {"a": "x\ufffd"}
    assert make_storable_json(b'{"a": "\\uDC00"}', {"a": "\udc00"}) == {"a": "\ufffd"}
    assert make_storable_json(b'{"a": "\\ud83d\\ude00"}', {"a": "\U0001f600"}) == {"a": "\U0001f600"}
