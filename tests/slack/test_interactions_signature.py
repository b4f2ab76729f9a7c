"""POST /integrations/slack/interactions: the signature matrix, and what a verified request gets."""

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import pytest

from reviewqueue.integrations.slack.signature import sign
from tests.slack.conftest import INTERACTIONS, SECRET, click, signed_post, submission

pytestmark = pytest.mark.django_db


@pytest.fixture
def signing(settings, broker):
    settings.SLACK_SIGNING_SECRET = SECRET
    return broker


A_CLICK = {
    "type": "block_actions",
    "user": {"id": "U0MAYA"},
    "trigger_id": "t1",
    "response_url": "",
    "actions": [{"type": "button", "action_id": "approve", "value": "12:3"}],
}


def test_a_good_signature_is_answered_200_and_the_work_is_queued_for_the_worker(client, signing):
    answer = signed_post(client, A_CLICK)
    assert answer.status_code == 200
    assert answer.content == b""
    assert signing.names() == ["slack.interaction"]
    [(_, (payload, site))] = signing.queued()
    assert payload["actions"][0]["value"] == "12:3"
    assert site == "http://testserver"


@pytest.mark.parametrize(
    "case",
    ["wrong_secret", "missing_both", "missing_signature", "missing_timestamp", "old_timestamp", "future_timestamp",
     "replayed", "tampered_body", "not_a_number", "not_v0"],
)  # fmt: skip
def test_a_request_not_signed_by_slack_now_is_refused_401_and_nothing_is_queued(client, signing, case):
    body = urlencode({"payload": json.dumps(A_CLICK)}).encode()
    now = int(time.time())
    headers = sign(body, SECRET, now)
    if case == "wrong_secret":
        headers = sign(body, "another-apps-secret", now)
    elif case == "missing_both":
        headers = {}
    elif case == "missing_signature":
        headers.pop("X-Slack-Signature")
    elif case == "missing_timestamp":
        headers.pop("X-Slack-Request-Timestamp")
    elif case == "old_timestamp":
        headers = sign(body, SECRET, now - 6 * 60)
    elif case == "future_timestamp":
        headers = sign(body, SECRET, now + 6 * 60)
    elif case == "replayed":  # a request Slack really sent, captured and sent again later than 5 minutes
        headers = sign(body, SECRET, now - 301)
    elif case == "tampered_body":
        body = body.replace(b"approve", b"reject")
    elif case == "not_a_number":
        headers["X-Slack-Request-Timestamp"] = "soon"
    elif case == "not_v0":
        headers["X-Slack-Signature"] = headers["X-Slack-Signature"].replace("v0=", "v1=")
    answer = client.post(INTERACTIONS, data=body, content_type="application/x-www-form-urlencoded", headers=headers)
    assert answer.status_code == 401
    assert "X-Slack-Signature" in answer.json()["error"]
    assert signing.names() == []


def test_a_timestamp_four_minutes_old_is_still_accepted(client, signing):
    assert signed_post(client, A_CLICK, timestamp=int(time.time()) - 4 * 60).status_code == 200


def test_without_a_signing_secret_every_request_is_503(client, signing, settings):
    settings.SLACK_SIGNING_SECRET = ""
    answer = signed_post(client, A_CLICK)
    assert answer.status_code == 503
    assert "SLACK_SIGNING_SECRET" in answer.json()["error"]


@pytest.mark.parametrize(
    "raw, why",
    [
        (b"payload=not-json", "payload is not JSON"),
        (b"text=hello", "one field, payload"),
        (urlencode({"payload": "[1, 2]"}).encode(), "JSON object with a type"),
    ],
)
def test_a_signed_body_that_is_not_an_interaction_payload_is_400_saying_why(client, signing, raw, why):
    answer = signed_post(client, raw=raw)
    assert answer.status_code == 400
    assert why in answer.json()["error"]
    assert signing.names() == []


def test_a_body_that_is_not_utf8_is_refused_even_with_its_hmac_right(client, signing):
    body, now = b"payload=\xff\xfe", str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{now}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": f"v0={digest}"}
    answer = client.post(INTERACTIONS, data=body, content_type="application/x-www-form-urlencoded", headers=headers)
    assert answer.status_code == 401  # Slack signs text; the SDK would have raised on it (a 500)


def test_get_is_not_allowed(client, signing):
    assert client.get(INTERACTIONS).status_code == 405


class _Draft:
    pk, latest_snapshot_id = 12, 3


def test_a_reject_submitted_without_a_reason_is_answered_in_the_modal_and_nothing_is_queued(client, signing):
    answer = signed_post(client, submission(_Draft, "   "))
    assert answer.status_code == 200
    assert answer.json() == {"response_action": "errors", "errors": {"reason": "A rejection needs a reason."}}
    assert signing.names() == []


def test_a_reject_submitted_with_a_reason_closes_the_modal_and_queues_the_decision(client, signing):
    answer = signed_post(client, submission(_Draft, "Wrong refund amount"))
    assert (answer.status_code, answer.content) == (200, b"")
    assert signing.names() == ["slack.interaction"]


def test_a_click_with_a_value_that_is_not_ours_is_still_answered_and_left_to_the_worker(client, signing):
    payload = click(_Draft, "approve")
    payload["actions"][0]["value"] = "DROP TABLE"
    assert signed_post(client, payload).status_code == 200  # Slack wants 200; the worker ignores it as invalid
