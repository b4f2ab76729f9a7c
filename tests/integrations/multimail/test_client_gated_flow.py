"""The client runs MultiMail's gated flow end to end against the sandbox (every answer checked
against the OpenAPI document by the transport)."""

import pytest

from reviewqueue.integrations.multimail.client import MultiMailNotFound


def test_create_mailbox_send_pending_decide_then_status_and_audit_log_show_it(mm, transport):
    created = mm.create_mailbox(address_local="billing", display_name="Billing")
    assert not created.awaiting_approval_code and created.address == "billing@sandbox.multimail.dev"

    sent = mm.send(mailbox_id=created.id, to=["customer@example.com"], subject="Your refund", markdown="Done.")
    assert sent.status == "pending_scan" and sent.thread_id

    [pending] = mm.pending()
    assert (pending.id, pending.mailbox_id, pending.status) == (sent.id, created.id, "pending_send_approval")
    assert pending.subject == "Your refund" and pending.body_markdown == "Done."

    decided = mm.decide(email_id=sent.id, action="approve", reason="approved by rita")
    assert decided.status == "approved_and_sent"
    assert mm.pending() == []

    email = mm.get_email(mailbox_id=created.id, email_id=sent.id)
    assert email.status == "approved_and_sent"
    assert email.approved_by == "key_sandbox_oversight" and email.approved_at is not None
    assert email.delivered_at is not None  # delivery simulated (delivery_ms=0 in these tests)

    entries = mm.audit_log().entries
    decision = next(e for e in entries if e.resource_id == sent.id and e.action.startswith("oversight."))
    assert decision.actor_key_id == "key_sandbox_oversight"
    assert decision.metadata == {"action": "approve", "reason": "approved by rita"}
    sending = next(e for e in entries if e.resource_id == sent.id and e.action == "email.sent")
    assert sending.actor_key_id == "key_sandbox_send"
    assert len(transport.checked) >= 7


def test_reject_then_a_second_decide_is_not_found(mm, mailbox):
    sent = mm.send(mailbox_id=mailbox.id, to=["c@example.com"], subject="Hi", markdown="Hello")
    assert mm.decide(email_id=sent.id, action="reject", reason="wrong tone").status == "rejected"
    with pytest.raises(MultiMailNotFound):
        mm.decide(email_id=sent.id, action="approve", reason="changed my mind")
    email = mm.get_email(mailbox_id=mailbox.id, email_id=sent.id)
    assert email.status == "rejected" and email.delivered_at is None
