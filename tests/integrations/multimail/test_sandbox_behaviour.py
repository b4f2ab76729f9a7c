"""The MultiMail sandbox behaves like the published MultiMail for the calls reviewqueue makes."""

import base64
import json

import httpx
import pytest

from reviewqueue.integrations.multimail.client import (
    MultiMailBadRequest,
    MultiMailConflict,
    MultiMailForbidden,
    MultiMailNotConfigured,
    MultiMailNotFound,
    MultiMailRateLimited,
    MultiMailUnauthorized,
)
from reviewqueue.sandbox.multimail import defaults
from reviewqueue.sandbox.multimail.app import Knobs, make_app

from .conftest import ValidatingTransport, client_for


def send(mm, mailbox_id, **extra):
    return mm.send(
        mailbox_id=mailbox_id, to=extra.pop("to", ["c@example.com"]), subject="Hi", markdown="Hello", **extra
    )


def raw(transport, method, path, key=defaults.ADMIN_KEY, **kwargs):
    with httpx.Client(transport=transport, base_url="http://sandbox.test") as http:
        return http.request(method, path, headers={"Authorization": f"Bearer {key}"}, **kwargs)


def test_autonomous_mailbox_sends_straight_out_without_approval(sandbox, mm, mailbox):
    # Only the operator's upgrade flow loosens oversight; the sandbox's state stands in for it.
    sandbox.state.data["mailboxes"][mailbox.id]["oversight_mode"] = "autonomous"
    sent = send(mm, mailbox.id)
    assert mm.pending() == []
    assert mm.get_email(mailbox_id=mailbox.id, email_id=sent.id).status == "approved_and_sent"


def test_oversight_can_be_made_stricter_but_not_looser(mm, mailbox):
    mm.update_mailbox(mailbox_id=mailbox.id, oversight_mode="gated_all")
    with pytest.raises(MultiMailBadRequest, match="upgrade"):
        mm.update_mailbox(mailbox_id=mailbox.id, oversight_mode="autonomous")
    with pytest.raises(MultiMailBadRequest, match="upgrade"):
        mm.update_mailbox(mailbox_id=mailbox.id, oversight_mode="gated_send")
    assert mm.list_mailboxes()[0].oversight_mode == "gated_all"


def test_read_only_mailbox_refuses_sends(mm, mailbox):
    # read_only is the most oversight there is: a downgrade any admin may make.
    mm.update_mailbox(mailbox_id=mailbox.id, oversight_mode="read_only")
    with pytest.raises(MultiMailForbidden, match="read_only"):
        send(mm, mailbox.id)


def test_repeated_idempotency_key_returns_the_original_email(mm, mailbox):
    first = send(mm, mailbox.id, idempotency_key="draft-1")
    again = send(mm, mailbox.id, idempotency_key="draft-1")
    assert not first.idempotent and again.idempotent and again.status == "already_sent" and again.id == first.id
    assert len(mm.pending()) == 1


def test_idempotency_keys_expire_after_24_hours(sandbox, mm, mailbox):
    first = send(mm, mailbox.id, idempotency_key="draft-2")
    real_clock = sandbox.state.clock
    sandbox.state.clock = lambda: real_clock() + 24 * 3600 + 1
    assert send(mm, mailbox.id, idempotency_key="draft-2").id != first.id
    # The expired key is dropped from the stored state; the new send's key is kept.
    assert list(sandbox.state.data["idempotency"].values()) == [
        {"email_id": mm.pending()[-1].id, "expires": pytest.approx(real_clock() + 2 * 24 * 3600 + 1, abs=5)}
    ]


def test_bounce_addresses_bounce_after_approval(mm, mailbox):
    sent = send(mm, mailbox.id, to=["bounce@example.com"])
    mm.decide(email_id=sent.id, action="approve", reason="ok")
    email = mm.get_email(mailbox_id=mailbox.id, email_id=sent.id)
    assert email.bounced_at is not None and email.bounce_type == "HardBounce" and email.delivered_at is None


def test_delivery_happens_after_the_delivery_delay(sandbox, mm, mailbox):
    sandbox.knobs.update({"delivery_ms": 60_000})
    sandbox.apply_knobs()
    sent = send(mm, mailbox.id)
    mm.decide(email_id=sent.id, action="approve", reason="ok")
    assert mm.get_email(mailbox_id=mailbox.id, email_id=sent.id).delivered_at is None
    real_clock = sandbox.state.clock
    sandbox.state.clock = lambda: real_clock() + 61
    assert mm.get_email(mailbox_id=mailbox.id, email_id=sent.id).delivered_at is not None


def test_send_stays_in_pending_scan_until_scanned(sandbox, mm, mailbox):
    sandbox.knobs.update({"scan_ms": 60_000})
    sandbox.apply_knobs()
    sent = send(mm, mailbox.id)
    assert mm.pending() == []
    real_clock = sandbox.state.clock
    sandbox.state.clock = lambda: real_clock() + 61
    assert [p.id for p in mm.pending()] == [sent.id]


def test_cancel_pending_email_then_cancelling_again_is_idempotent_and_sent_mail_is_409(mm, mailbox):
    held = send(mm, mailbox.id)
    assert mm.cancel(mailbox_id=mailbox.id, email_id=held.id).status == "cancelled"
    assert mm.cancel(mailbox_id=mailbox.id, email_id=held.id).status == "cancelled"
    assert mm.pending() == []
    gone = send(mm, mailbox.id)
    mm.decide(email_id=gone.id, action="approve", reason="ok")
    with pytest.raises(MultiMailConflict):
        mm.cancel(mailbox_id=mailbox.id, email_id=gone.id)


def test_tags_replace_all_and_show_on_the_email(mm, mailbox):
    sent = send(mm, mailbox.id)
    mm.set_tags(mailbox_id=mailbox.id, email_id=sent.id, tags={"reviewer": "rita", "draft": "12"})
    assert mm.set_tags(mailbox_id=mailbox.id, email_id=sent.id, tags={"reviewer": "ada"}) == {"reviewer": "ada"}
    assert mm.get_email(mailbox_id=mailbox.id, email_id=sent.id).tags == {"reviewer": "ada"}


def test_thread_lists_its_messages(sandbox, mm, mailbox):
    sent = send(mm, mailbox.id)
    sandbox.state.inbound(mailbox_id=mailbox.id, body={"from": "c@example.com", "thread_id": sent.thread_id})
    thread = mm.get_thread(mailbox_id=mailbox.id, thread_id=sent.thread_id)
    assert thread.message_count == 2 and thread.has_unanswered_inbound
    assert "c@example.com" in thread.participants
    with pytest.raises(MultiMailNotFound):
        mm.get_thread(mailbox_id=mailbox.id, thread_id="th_missing")


def test_attachments_are_listed_with_their_size(mm, mailbox):
    content = base64.b64encode(b"%PDF-1.4 hello").decode()
    sent = send(
        mm, mailbox.id, attachments=[{"name": "a.pdf", "content_base64": content, "content_type": "application/pdf"}]
    )
    [attachment] = mm.get_email(mailbox_id=mailbox.id, email_id=sent.id).attachments
    assert (attachment.name, attachment.content_type, attachment.size) == ("a.pdf", "application/pdf", 14)
    with pytest.raises(MultiMailBadRequest, match="base64"):
        send(mm, mailbox.id, attachments=[{"name": "b", "content_base64": "!!", "content_type": "text/plain"}])


def test_list_emails_pages_with_a_cursor_and_filters_by_status(mm, mailbox):
    ids = [send(mm, mailbox.id).id for _ in range(5)]
    mm.decide(email_id=ids[0], action="reject", reason="no")
    first = mm.list_emails(mailbox_id=mailbox.id, limit=2)
    second = mm.list_emails(mailbox_id=mailbox.id, limit=2, cursor=first.cursor)
    third = mm.list_emails(mailbox_id=mailbox.id, limit=2, cursor=second.cursor)
    assert [e.id for e in first.emails + second.emails + third.emails] == list(reversed(ids))
    assert third.cursor is None
    assert [e.id for e in mm.list_emails(mailbox_id=mailbox.id, status="rejected").emails] == [ids[0]]
    with pytest.raises(MultiMailBadRequest, match="limit"):
        mm.list_emails(mailbox_id=mailbox.id, limit=101)


def test_send_validation_errors_are_400_with_a_message(mm, mailbox):
    with pytest.raises(MultiMailBadRequest, match="to"):
        mm.send(mailbox_id=mailbox.id, to=["not-an-address"], subject="Hi", markdown="x")
    with pytest.raises(MultiMailBadRequest, match="subject"):
        mm.send(mailbox_id=mailbox.id, to=["c@example.com"], subject="x" * 999, markdown="x")
    with pytest.raises(MultiMailBadRequest, match="at most 50"):
        mm.send(mailbox_id=mailbox.id, to=[f"c{i}@example.com" for i in range(51)], subject="Hi", markdown="x")


def test_mailbox_address_taken_is_409_and_plan_limit_403(sandbox, mm, mailbox):
    with pytest.raises(MultiMailConflict):
        mm.create_mailbox(address_local="help")
    sandbox.knobs.update({"mailbox_limit": 1})
    sandbox.apply_knobs()
    with pytest.raises(MultiMailForbidden, match="limit"):
        mm.create_mailbox(address_local="other")


def test_mailbox_creation_with_emailed_approval_code(sandbox, mm, transport):
    sandbox.knobs.update({"require_mailbox_approval": True})
    sandbox.apply_knobs()
    first = mm.create_mailbox(address_local="sales")
    assert first.awaiting_approval_code and first.id is None
    code = raw(transport, "GET", "/_sandbox/approval-codes").json()["sales@sandbox.multimail.dev"]
    with pytest.raises(MultiMailForbidden):
        mm.create_mailbox(address_local="sales", approval_code="000000" if code != "000000" else "111111")
    second = mm.create_mailbox(address_local="sales", approval_code=code)
    assert second.id and second.address == "sales@sandbox.multimail.dev"


def test_each_scope_is_enforced_per_key(transport, mailbox):
    send_only = client_for(transport, api_key=defaults.SEND_KEY, admin_api_key=defaults.SEND_KEY)
    with pytest.raises(MultiMailForbidden, match="oversight"):
        send_only.pending()
    with pytest.raises(MultiMailForbidden, match="admin"):
        send_only.audit_log()
    read_only = client_for(transport, send_api_key=defaults.READ_KEY)
    with pytest.raises(MultiMailForbidden, match="send"):
        send(read_only, mailbox.id)
    with pytest.raises(MultiMailUnauthorized):
        client_for(transport, api_key="mm_live_unknown").pending()


def test_a_key_holding_send_and_oversight_is_refused_at_creation(transport, mailbox):
    refused = raw(transport, "POST", "/v1/api-keys", json={"name": "agent", "scopes": ["send", "oversight"]})
    assert refused.status_code == 400 and "send and oversight" in refused.json()["error"]
    created = raw(transport, "POST", "/v1/api-keys", json={"name": "agent", "scopes": ["send", "read"]})
    assert created.status_code == 201 and created.json()["api_key"].startswith("mm_live_")
    agent = client_for(transport, send_api_key=created.json()["api_key"])
    assert send(agent, mailbox.id).status == "pending_scan"
    listed = raw(transport, "GET", "/v1/api-keys").json()["api_keys"]
    assert any(k["id"] == created.json()["id"] and k["scopes"] == ["read", "send"] for k in listed)


def test_missing_key_in_the_client_names_the_variable_before_any_request(transport):
    with pytest.raises(MultiMailNotConfigured, match="MULTIMAIL_ADMIN_API_KEY"):
        client_for(transport, admin_api_key="").list_webhooks()
    assert transport.checked == []


def test_rate_limit_knob_answers_429_with_retry_after(sandbox, transport):
    sandbox.knobs.update({"rate_limit_rate": 1.0, "retry_after": 3})
    sleeps = []
    mm = client_for(transport)
    mm._sleep = sleeps.append
    with pytest.raises(MultiMailRateLimited) as caught:
        mm.pending()
    assert caught.value.retry_after == 3.0 and sleeps == [3.0, 3.0]


def test_error_rate_knob_answers_500(sandbox, mm):
    sandbox.knobs.update({"error_rate": 1.0})
    with pytest.raises(Exception, match="500"):
        mm.pending()


def test_knobs_are_settable_through_the_control_endpoint_and_refuse_bad_values(sandbox, transport):
    assert raw(transport, "POST", "/_sandbox/knobs", json={"latency_ms": 5}).json()["latency_ms"] == 5
    assert sandbox.knobs.latency_ms == 5
    bad = raw(transport, "POST", "/_sandbox/knobs", json={"error_rate": 2})
    assert bad.status_code == 400 and "fraction" in bad.json()["error"]
    assert raw(transport, "POST", "/_sandbox/knobs", json={"nope": 1}).status_code == 400


def test_knobs_are_read_from_the_environment():
    knobs = Knobs.from_env({"MULTIMAIL_SANDBOX_LATENCY_MS": "12", "MULTIMAIL_SANDBOX_RATE_LIMIT_RATE": "0.5"})
    assert knobs.latency_ms == 12 and knobs.rate_limit_rate == 0.5


def test_state_survives_a_restart(tmp_path):
    path = tmp_path / "multimail.json"
    first = make_app(path, Knobs(delivery_ms=0), start_sender=False)
    mm = client_for(ValidatingTransport(first))
    created = mm.create_mailbox(address_local="persist")
    sent = send(mm, created.id, idempotency_key="k1")
    first.stop()

    second = make_app(path, Knobs(delivery_ms=0), start_sender=False)
    mm = client_for(ValidatingTransport(second))
    assert [p.id for p in mm.pending()] == [sent.id]
    assert send(mm, created.id, idempotency_key="k1").idempotent
    assert json.loads(path.read_text())["mailboxes"][created.id]["address"] == "persist@sandbox.multimail.dev"
    second.stop()


def test_demo_seed_adds_the_gated_mailbox_and_a_signed_subscription_once(tmp_path):
    path = tmp_path / "seeded.json"
    url = "http://127.0.0.1:8000/webhooks/multimail"
    for _ in range(2):
        app = make_app(path, Knobs(), webhook_url=url, seed_demo=True, start_sender=False)
        app.stop()
    mm = client_for(ValidatingTransport(app))
    [mailbox] = mm.list_mailboxes()
    assert mailbox.id == defaults.DEMO_MAILBOX_ID and mailbox.oversight_mode == "gated_send"
    [webhook] = mm.list_webhooks()
    assert webhook.url == url and "oversight.pending" in webhook.events
    assert mm.get_webhook(webhook_id=webhook.id).signing_secret == defaults.WEBHOOK_SECRET


def test_unknown_paths_and_methods_answer_json_errors(transport):
    assert raw(transport, "GET", "/v1/nothing").json() == {"error": "Not found"}
    response = raw(transport, "PUT", "/v1/oversight/pending")
    assert response.status_code == 405 and response.headers["content-type"] == "application/json"
    bad = raw(transport, "POST", "/v1/oversight/decide", key=defaults.OVERSIGHT_KEY, content=b"{oops")
    assert bad.status_code == 400 and "JSON" in bad.json()["error"]


def test_scheduled_send_waits_for_its_time_after_approval(sandbox, mm, mailbox):
    sent = send(mm, mailbox.id, send_at="2030-01-01T09:00:00Z")
    assert mm.decide(email_id=sent.id, action="approve", reason="ok").status == "approved"
    email = mm.get_email(mailbox_id=mailbox.id, email_id=sent.id)
    assert email.status == "scheduled" and email.delivered_at is None
    sandbox.state.clock = lambda: 1893488400.0 + 1  # just after 2030-01-01T09:00:00Z
    assert mm.get_email(mailbox_id=mailbox.id, email_id=sent.id).delivered_at is not None


def test_the_audit_log_pages_newest_first_to_its_oldest_entry(sandbox, mm, mailbox):
    sent = [send(mm, mailbox.id).id for _ in range(5)]
    stored = [e["id"] for e in sandbox.state.data["audit"]]  # oldest first, as kept
    listed, cursor = [], None
    while True:
        page = mm.audit_log(limit=2, cursor=cursor)
        assert len(page.entries) <= 2
        listed += [e.id for e in page.entries]
        if page.cursor is None:
            break
        cursor = page.cursor
    assert listed == stored[::-1]
    assert [e.resource_id for e in mm.audit_log(limit=5).entries] == sent[::-1]
