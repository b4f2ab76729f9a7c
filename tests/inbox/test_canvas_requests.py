"""Contract: Intercom's requests to the Inbox app are verified before anything is read (X-Body-Signature,
the hex HMAC-SHA256 of the raw body under the app's client secret; contracts/intercom.md, Inbox apps)."""

import json

import pytest
from django.test import Client

from reviewqueue.integrations.intercom import canvas
from reviewqueue.review.models import Decision
from tests.inbox.conftest import INITIALIZE, SECRET, SUBMIT, initialize_body, post, submit_body, texts

pytestmark = pytest.mark.django_db

RAW = json.dumps(initialize_body()).encode()


@pytest.mark.parametrize("url", [INITIALIZE, SUBMIT])
@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param(canvas.sign(RAW, "another app's secret"), id="wrong-secret"),
        pytest.param(canvas.sign(RAW + b" ", SECRET), id="tampered-body"),
        pytest.param("sha256=" + canvas.sign(RAW, SECRET), id="with-a-scheme-prefix"),
        pytest.param(canvas.sign(RAW, SECRET)[:-1], id="truncated"),
    ],
)
def test_a_request_without_the_bodys_signature_is_401_and_gets_no_canvas(client, url, signature):
    answer = post(client, url, RAW, signature=signature)
    assert answer.status_code == 401
    assert "canvas" not in answer.json() and canvas.HEADER in answer.json()["error"]


def test_a_good_signature_in_upper_case_hex_is_the_same_signature(client, reviewer):
    answer = post(client, INITIALIZE, RAW, signature=canvas.sign(RAW, SECRET).upper())
    assert answer.status_code == 200 and "canvas" in answer.json()


def test_the_signature_is_of_the_raw_bytes_not_of_the_json_they_parse_to(client, reviewer):
    spaced = json.dumps(initialize_body(), indent=2).encode()  # the same document, other bytes
    assert post(client, INITIALIZE, spaced, signature=canvas.sign(RAW, SECRET)).status_code == 401
    assert post(client, INITIALIZE, spaced).status_code == 200


def test_without_a_client_secret_nothing_can_be_verified_503(client, settings):
    settings.INTERCOM_CLIENT_SECRET = ""
    answer = post(client, INITIALIZE, RAW, signature=canvas.sign(RAW, ""))
    assert answer.status_code == 503 and "INTERCOM_CLIENT_SECRET" in answer.json()["error"]


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (json.dumps({"admin": {"email": "rita@example.com"}}).encode(), "conversation.id"),
        (json.dumps({**initialize_body(), "conversation": {"id": ""}}).encode(), "conversation.id"),
        (json.dumps({**initialize_body(), "conversation": {"id": "c" * 65}}).encode(), "conversation.id"),
    ],
)
def test_a_signed_body_that_is_not_a_conversations_request_is_400_saying_why(client, raw, says):
    answer = post(client, INITIALIZE, raw)
    assert answer.status_code == 400 and says in answer.json()["error"]


@pytest.mark.parametrize("component_id", [None, "", "approve", "approve:", "approve:x", "delete:1", "approve:1:2"])
def test_a_submit_naming_no_known_button_is_400(client, reviewer, component_id):
    body = {**submit_body({"canvas": {}}, "approve:1"), "component_id": component_id}
    answer = post(client, SUBMIT, body)
    assert answer.status_code == 400 and "component_id" in answer.json()["error"]


def test_a_reason_that_is_not_text_is_400(client, reviewer):
    body = submit_body({"canvas": {}}, "reject:1", input_values={"reason:1": ["no"]})
    assert post(client, SUBMIT, body).status_code == 400


def test_only_post_is_answered(client):
    assert client.get(INITIALIZE).status_code == 405
    assert client.get(SUBMIT).status_code == 405


def test_exempt_from_csrf_only_a_signed_request_goes_through_without_a_token(reviewer):
    strict = Client(enforce_csrf_checks=True)
    assert post(strict, INITIALIZE, RAW).status_code == 200
    assert post(strict, INITIALIZE, RAW, signature=None).status_code == 401


def test_a_replayed_submit_decides_nothing_twice(client, held, reviewer):
    shown = post(client, INITIALIZE, initialize_body()).json()
    approve = json.dumps(submit_body(shown, f"approve:{held.pk}")).encode()
    assert post(client, SUBMIT, approve).status_code == 200
    again = post(client, SUBMIT, approve)  # the same signed bytes, played again
    assert again.status_code == 200
    assert Decision.objects.filter(draft=held).count() == 1
    [notice] = texts(again, "error")
    assert notice.startswith(f"«{canvas.plain(held.subject)}»: already approved by rita at")
