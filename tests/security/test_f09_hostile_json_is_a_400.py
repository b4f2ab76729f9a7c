"""Finding 9: hostile JSON is a 400 with a message at every entry point that parses JSON, never a 500.

Deep nesting raised RecursionError on intake, the decision API and both webhook receivers; a signed
MultiMail delivery carrying NaN, an infinity, \\u0000 or an unpaired surrogate reached PostgreSQL's
jsonb, which refused it. The cases come from the hostile-input corpus (tests/review/hostile_corpus.py).
"""

import json
from datetime import UTC, datetime

import pytest
from django.test import Client
from django.utils import timezone

from reviewqueue.accounts.services import api_token_issue
from reviewqueue.audit.services import Actor
from reviewqueue.integrations.inbound.models import InboundWebhook
from reviewqueue.integrations.intercom import signature as intercom_signature
from reviewqueue.integrations.multimail import signature as multimail_signature
from reviewqueue.review.models import Decision, Draft
from tests.integrations.intercom.helpers import fixture_bytes
from tests.review.hostile_corpus import NESTED_JSON, UNSTORABLE_JSON_VALUES, json_with_raw_value
from tests.routing.conftest import intake_token

MULTIMAIL_SECRET = "whsec_f09_tests"
INTERCOM_SECRET = "f09-intercom-client-secret"
NESTED = pytest.mark.parametrize("raw", NESTED_JSON.values(), ids=NESTED_JSON.keys())
UNSTORABLE = pytest.mark.parametrize("raw_value", UNSTORABLE_JSON_VALUES.values(), ids=UNSTORABLE_JSON_VALUES.keys())


@pytest.fixture(autouse=True)
def webhook_secrets(settings):
    settings.MULTIMAIL_WEBHOOK_SECRET = MULTIMAIL_SECRET
    settings.INTERCOM_CLIENT_SECRET = INTERCOM_SECRET


@pytest.fixture
def client():
    return Client(raise_request_exception=False)  # a 500 is an answer here, not a test error


def assert_refused_with_a_message(response, *words: str) -> str:
    assert response.status_code == 400, response.content[:300]
    message = response.json()["error"]
    for word in words:
        assert word in message
    return message


def post_multimail(client, raw: bytes):
    signed = {multimail_signature.HEADER: multimail_signature.sign(raw, MULTIMAIL_SECRET)}
    return client.post("/webhooks/multimail", raw, content_type="application/json", headers=signed)


def post_intercom(client, raw: bytes):
    signed = {"X-Hub-Signature": intercom_signature.sign(raw, INTERCOM_SECRET)}
    return client.post("/webhooks/intercom", raw, content_type="application/json", headers=signed)


def multimail_event() -> dict:
    return {
        "id": "evt_f09",
        "event_type": "oversight.pending",
        "mailbox_id": "mb_1",
        "message_id": "em_1",
        "timestamp": datetime.now(UTC).isoformat(),
    }


@pytest.fixture
def decision_url_and_token(reviewer):
    draft = Draft.objects.create(email_id="em_1", mailbox_id="mb_1", source="webhook", fetched_at=timezone.now())
    _, token = api_token_issue(user=reviewer, name="f09", actor=Actor.system("test"))
    return f"/api/v1/drafts/{draft.pk}/decision", token


# --- deep nesting, at all four entry points --------------------------------------------------------


@NESTED
def test_nested_json_on_intake_is_a_400(db, client, raw):
    _, token = intake_token()
    response = client.post(
        "/api/v1/drafts", raw, content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )
    assert_refused_with_a_message(response, "nested")


@NESTED
def test_nested_json_on_the_decision_api_is_a_400(client, decision_url_and_token, raw):
    url, token = decision_url_and_token
    response = client.post(url, raw, content_type="application/json", headers={"Authorization": f"Bearer {token}"})
    assert_refused_with_a_message(response, "nested")
    assert not Decision.objects.exists()


@NESTED
def test_nested_json_on_the_multimail_webhook_is_a_400(db, client, raw):
    assert_refused_with_a_message(post_multimail(client, raw), "nested")
    assert not InboundWebhook.objects.exists()


@NESTED
def test_nested_json_on_the_intercom_webhook_is_a_400(db, client, raw):
    assert_refused_with_a_message(post_intercom(client, raw), "nested")
    assert not InboundWebhook.objects.exists()


# --- what jsonb cannot store, signed -----------------------------------------------------------------


@UNSTORABLE
def test_a_signed_multimail_delivery_jsonb_cannot_store_is_a_400(db, client, raw_value):
    raw = json_with_raw_value(multimail_event(), "note", raw_value)
    assert_refused_with_a_message(post_multimail(client, raw))
    assert not InboundWebhook.objects.exists()


@UNSTORABLE
def test_a_signed_intercom_notification_jsonb_cannot_store_is_a_400(db, client, raw_value):
    raw = json_with_raw_value(json.loads(fixture_bytes()), "note", raw_value)
    assert_refused_with_a_message(post_intercom(client, raw))
    assert not InboundWebhook.objects.exists()


@pytest.mark.parametrize("raw_value", [b"NaN", b"-Infinity", b"1e999"])
def test_a_number_that_is_not_json_in_a_decision_is_a_400(client, decision_url_and_token, raw_value):
    url, token = decision_url_and_token
    raw = json_with_raw_value({"action": "approve", "reason": "fine"}, "confidence", raw_value)
    response = client.post(url, raw, content_type="application/json", headers={"Authorization": f"Bearer {token}"})
    assert_refused_with_a_message(response, "not valid JSON")
    assert not Decision.objects.exists()


# --- the parser's messages (imported in each test: the module is new, and the others run without it) ---


def test_the_message_names_where_an_unstorable_string_is():
    from reviewqueue.jsonbody import JsonBodyInvalid, json_body_parse

    raw = b'{"data": {"item": {"parts": ["fine", "bad \\u0000"]}}}'
    with pytest.raises(JsonBodyInvalid, match=r"^\$\.data\.item\.parts\[1\] must not contain NUL"):
        json_body_parse(raw, stored_whole=True)
    assert json_body_parse(raw) == {"data": {"item": {"parts": ["fine", "bad \x00"]}}}  # fields checked by the caller


def test_documents_up_to_the_depth_limit_parse():
    from reviewqueue.jsonbody import MAX_DEPTH, JsonBodyInvalid, json_body_parse

    deepest = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert json_body_parse(deepest) is not None
    with pytest.raises(JsonBodyInvalid, match="nested more than"):
        json_body_parse(b"[" + deepest + b"]")
