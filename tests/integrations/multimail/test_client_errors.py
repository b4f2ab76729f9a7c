"""The MultiMail client against httpx.MockTransport: errors, retries, rate limits, bad answers."""

import json

import httpx
import pytest

from reviewqueue.integrations.http import RetryPolicy
from reviewqueue.integrations.multimail.client import (
    MultiMailBadRequest,
    MultiMailClient,
    MultiMailConflict,
    MultiMailForbidden,
    MultiMailNotConfigured,
    MultiMailNotFound,
    MultiMailRateLimited,
    MultiMailServerError,
    MultiMailUnauthorized,
    MultiMailUnavailable,
)

PENDING = {
    "emails": [
        {
            "id": "em_1",
            "mailbox_id": "mb_1",
            "direction": "outbound",
            "from": "support@acme.multimail.dev",
            "to": ["c@example.com"],
            "subject": "Hi",
            "body_markdown": "Hello",
            "status": "pending_send_approval",
            "received_at": "2026-11-25T10:00:00Z",
            "brand_new_field": {"ignored": True},
        }
    ]
}


class Script:
    """Answers requests in order; records what was asked."""

    def __init__(self, *steps):
        self.steps = list(steps)
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def make_client(script, **keys):
    keys = {"api_key": "mm_live_over", "send_api_key": "mm_live_send", "admin_api_key": "mm_live_admin", **keys}
    sleeps = []
    client = MultiMailClient(
        base_url="https://api.multimail.test",
        transport=httpx.MockTransport(script),
        retry=RetryPolicy(max_attempts=3, backoff_base=0.01),
        sleep=sleeps.append,
        **keys,
    )
    return client, sleeps


def send_kwargs(**extra):
    return {"mailbox_id": "mb_1", "to": ["c@example.com"], "subject": "Hi", "markdown": "Hello", **extra}


def test_pending_parses_typed_emails_and_ignores_extra_fields():
    script = Script(httpx.Response(200, json=PENDING))
    client, _ = make_client(script)
    [email] = client.pending()
    assert email.id == "em_1" and email.from_address == "support@acme.multimail.dev"
    assert email.to == ["c@example.com"] and email.received_at.year == 2026
    assert script.requests[0].headers["Authorization"] == "Bearer mm_live_over"


def test_each_scope_uses_its_own_key():
    script = Script(
        httpx.Response(202, json={"id": "em_2", "status": "pending_scan", "thread_id": "th_1"}),
        httpx.Response(200, json={"entries": [], "cursor": None}),
    )
    client, _ = make_client(script)
    client.send(**send_kwargs())
    client.audit_log()
    assert [r.headers["Authorization"] for r in script.requests] == ["Bearer mm_live_send", "Bearer mm_live_admin"]


@pytest.mark.parametrize(
    ("call", "variable"),
    [
        (lambda c: c.pending(), "MULTIMAIL_API_KEY"),
        (lambda c: c.send(**send_kwargs()), "MULTIMAIL_SEND_API_KEY"),
        (lambda c: c.audit_log(), "MULTIMAIL_ADMIN_API_KEY"),
    ],
)
def test_missing_key_raises_not_configured_naming_the_variable(call, variable):
    script = Script()
    client, _ = make_client(script, api_key="", send_api_key="", admin_api_key="")
    with pytest.raises(MultiMailNotConfigured) as caught:
        call(client)
    assert variable in str(caught.value) and caught.value.variable == variable
    assert script.requests == []


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, MultiMailBadRequest),
        (401, MultiMailUnauthorized),
        (403, MultiMailForbidden),
        (404, MultiMailNotFound),
        (409, MultiMailConflict),
    ],
)
def test_error_statuses_raise_domain_errors_carrying_multimails_text(status, error):
    script = Script(httpx.Response(status, json={"error": f"vendor says {status}"}))
    client, _ = make_client(script)
    with pytest.raises(error) as caught:
        client.decide(email_id="em_1", action="approve", reason="ok by rita")
    assert caught.value.status == status and caught.value.message == f"vendor says {status}"


def test_5xx_burst_then_success_is_retried_for_a_read():
    script = Script(httpx.Response(502), httpx.Response(503), httpx.Response(200, json=PENDING))
    client, sleeps = make_client(script)
    assert len(client.pending()) == 1
    assert len(script.requests) == 3 and len(sleeps) == 2


def test_5xx_that_persists_raises_server_error():
    script = Script(*[httpx.Response(500, json={"error": "boom"}) for _ in range(3)])
    client, _ = make_client(script)
    with pytest.raises(MultiMailServerError, match="boom"):
        client.pending()


def test_timeouts_become_unavailable_after_bounded_retries():
    script = Script(*[httpx.ReadTimeout("slow") for _ in range(3)])
    client, _ = make_client(script)
    with pytest.raises(MultiMailUnavailable, match="timed out"):
        client.pending()
    assert len(script.requests) == 3


def test_429_with_retry_after_is_honoured_via_injected_sleep():
    script = Script(httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json=PENDING))
    client, sleeps = make_client(script)
    assert client.pending()[0].id == "em_1"
    assert sleeps == [2.0]


def test_429_that_persists_raises_rate_limited_with_retry_after():
    script = Script(*[httpx.Response(429, headers={"Retry-After": "1"}, json={"error": "slow down"})] * 3)
    client, _ = make_client(script)
    with pytest.raises(MultiMailRateLimited) as caught:
        client.pending()
    assert caught.value.retry_after == 1.0 and caught.value.message == "slow down"


def test_malformed_json_raises_unavailable():
    script = Script(httpx.Response(200, content=b"{not json", headers={"Content-Type": "application/json"}))
    client, _ = make_client(script)
    with pytest.raises(MultiMailUnavailable, match="malformed JSON"):
        client.pending()


def test_wrong_content_type_raises_unavailable():
    script = Script(httpx.Response(200, content=b"<html>maintenance</html>", headers={"Content-Type": "text/html"}))
    client, _ = make_client(script)
    with pytest.raises(MultiMailUnavailable, match="text/html"):
        client.pending()


def test_missing_required_field_raises_unavailable_naming_it():
    script = Script(httpx.Response(200, json={"emails": [{"mailbox_id": "mb_1"}]}))
    client, _ = make_client(script)
    with pytest.raises(MultiMailUnavailable, match="'id'"):
        client.pending()


def test_send_without_idempotency_key_is_never_retried():
    script = Script(httpx.ConnectError("reset"))
    client, _ = make_client(script)
    with pytest.raises(MultiMailUnavailable):
        client.send(**send_kwargs())
    assert len(script.requests) == 1

    script = Script(httpx.Response(503))
    client, _ = make_client(script)
    with pytest.raises(MultiMailServerError):
        client.send(**send_kwargs())
    assert len(script.requests) == 1


def test_send_with_idempotency_key_is_retried_and_reports_repeat():
    script = Script(
        httpx.ReadTimeout("slow"),
        httpx.Response(200, json={"id": "em_9", "status": "already_sent", "idempotent": True}),
    )
    client, _ = make_client(script)
    result = client.send(**send_kwargs(idempotency_key="draft-42"))
    assert result.id == "em_9" and result.idempotent and result.status == "already_sent"
    assert len(script.requests) == 2
    assert json.loads(script.requests[1].content)["idempotency_key"] == "draft-42"


def test_decide_sends_reason_and_is_not_retried():
    script = Script(httpx.Response(503))
    client, _ = make_client(script)
    with pytest.raises(MultiMailServerError):
        client.decide(email_id="em_1", action="reject", reason="wrong tone (rita)")
    assert len(script.requests) == 1
    assert json.loads(script.requests[0].content) == {
        "email_id": "em_1",
        "action": "reject",
        "reason": "wrong tone (rita)",
    }


def test_create_mailbox_handles_approval_code_round_trip():
    script = Script(
        httpx.Response(202, json={"status": "pending_approval", "message": "check the operator inbox"}),
        httpx.Response(201, json={"id": "mb_7", "address": "help@acme.multimail.dev"}),
    )
    client, _ = make_client(script)
    first = client.create_mailbox(address_local="help")
    assert first.awaiting_approval_code and first.id is None and first.message == "check the operator inbox"
    second = client.create_mailbox(address_local="help", approval_code="123456")
    assert not second.awaiting_approval_code and second.id == "mb_7"
    assert json.loads(script.requests[1].content) == {"address_local": "help", "approval_code": "123456"}


def test_create_mailbox_conflict_and_plan_limit():
    script = Script(httpx.Response(409, json={"error": "address taken"}), httpx.Response(403, json={"error": "limit"}))
    client, _ = make_client(script)
    with pytest.raises(MultiMailConflict, match="address taken"):
        client.create_mailbox(address_local="help")
    with pytest.raises(MultiMailForbidden, match="limit"):
        client.create_mailbox(address_local="help")


def test_keys_never_appear_in_logs_or_repr(caplog):
    script = Script(httpx.Response(502), httpx.Response(502), httpx.Response(502))
    client, _ = make_client(script)
    with caplog.at_level("DEBUG"), pytest.raises(MultiMailServerError):
        client.pending()
    assert caplog.records, "retries are logged"
    assert "mm_live_over" not in caplog.text and "mm_live_over" not in repr(client)
