"""Edit, then approve, carried out against the MultiMail sandbox (served on a loopback thread).

A worker "killed" between two steps is a BaseException escaping outbox_run right after MultiMail
took a call and before we recorded it: the item is left RUNNING on its lease, as a dead worker
leaves it, and is re-driven once the lease has lapsed. Whatever step dies, MultiMail sees exactly
one send, one cancel or reject, and one approve.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor
from reviewqueue.integrations.multimail.client import MultiMailClient
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.edits import EDIT_OF_TAG
from reviewqueue.review.errors import InvalidDecision
from reviewqueue.review.ingest import draft_fetch, draft_receive
from reviewqueue.review.models import Decision, Draft, DraftEdit, OutboxItem
from reviewqueue.review.outbox import outbox_run
from reviewqueue.review.outbox_admin import outbox_retry
from reviewqueue.sandbox.multimail import defaults as mm_defaults
from tests.review.live import sandboxes_started

pytestmark = pytest.mark.django_db

EDITED_BODY = "Hello,\n\nit ships tomorrow, with a 10% refund.\n\nAcme Support"


class Killed(BaseException):
    """The worker died here (not an Exception: nothing in outbox_run catches it)."""


@pytest.fixture
def sandboxes(settings, broker):
    with sandboxes_started(settings) as running:
        yield running


@pytest.fixture
def held(sandboxes) -> Draft:
    """An agent's draft in the sandbox's gated mailbox, received and fetched."""
    conversation_id = sandboxes.conversation("cleo@customer.example")
    email_id = sandboxes.agent_draft("cleo@customer.example", subject="Your order", conversation_id=conversation_id)
    draft, _ = draft_receive(
        email_id=email_id, mailbox_id=mm_defaults.DEMO_MAILBOX_ID, source="poll", actor=Actor.system("t"), fetch=False
    )
    return draft_fetch(draft_id=draft.pk)


def approve_with_edit(draft, reviewer, edit=None) -> Decision:
    reviewer.first_name, reviewer.last_name = "Rita", "Reyes"
    reviewer.save()
    return draft_decide(
        draft=draft,
        reviewer=reviewer,
        action="approve",
        reason="",
        origin="web",
        shown_snapshot_id=draft.latest_snapshot_id,
        edit=edit if edit is not None else {"markdown": EDITED_BODY},
    )


def decide_item(decision) -> OutboxItem:
    return OutboxItem.objects.get(decision=decision, kind=OutboxItem.Kind.DECIDE)


def redrive(item: OutboxItem) -> str:
    """What the sweeper does once a dead worker's lease lapsed."""
    OutboxItem.objects.filter(pk=item.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    return outbox_run(item_id=item.pk)


def sandbox_audit(sandboxes, action_prefix: str, email_id: str) -> int:
    entries = sandboxes.multimail_app.state.data["audit"]
    return sum(1 for e in entries if e["resource_id"] == email_id and e["action"].startswith(action_prefix))


def sends_of(sandboxes, subject: str, markdown: str) -> list[dict]:
    emails = sandboxes.multimail_app.state.data["emails"].values()
    return [e for e in emails if e["subject"] == subject and e["markdown"] == markdown]


def kill_after(monkeypatch, method: str, *, when=lambda kwargs: True):
    """Die right after MultiMail answered `method` (the first time `when` holds)."""
    original = getattr(MultiMailClient, method)
    fired = []

    def dying(self, **kwargs):
        answer = original(self, **kwargs)
        if not fired and when(kwargs):
            fired.append(True)
            raise Killed(method)
        return answer

    monkeypatch.setattr(MultiMailClient, method, dying)
    return fired


def assert_carried_out_once(sandboxes, held: Draft, decision: Decision) -> DraftEdit:
    edit = DraftEdit.objects.get(decision=decision)
    assert len(sends_of(sandboxes, "Your order", EDITED_BODY)) == 1
    assert sandbox_audit(sandboxes, "email.sent", edit.edited_email_id) == 1
    superseded = sandbox_audit(sandboxes, "email.cancelled", held.email_id) + sandbox_audit(
        sandboxes, "oversight.rejected", held.email_id
    )
    assert superseded == 1
    assert sandbox_audit(sandboxes, "oversight.approved", edit.edited_email_id) == 1
    assert sandboxes.email(edit.edited_email_id)["status"] == "approved_and_sent"
    assert edit.edited_outcome == DraftEdit.EditedOutcome.APPROVED
    return edit


def test_an_edited_approval_sends_the_edit_cancels_the_original_and_approves_the_edit(sandboxes, held, reviewer):
    decision = approve_with_edit(held, reviewer)
    assert outbox_run(item_id=decide_item(decision).pk) == "done"
    edit = assert_carried_out_once(sandboxes, held, decision)
    assert edit.original_outcome == DraftEdit.OriginalOutcome.CANCELLED
    assert sandboxes.email(held.email_id)["status"] == "cancelled"
    edited = sandboxes.email(edit.edited_email_id)
    assert edited["to"] == ["cleo@customer.example"]
    assert edited["tags"][EDIT_OF_TAG] == held.email_id
    assert edited["tags"]["intercom_conversation_id"] == held.conversation_id  # the original's tags are kept
    assert edited["tags"]["reviewed_by"] == reviewer.username
    approval = next(
        e
        for e in sandboxes.multimail_app.state.data["audit"]
        if e["resource_id"] == edit.edited_email_id and e["action"].startswith("oversight.approved")
    )
    assert approval["metadata"]["reason"].startswith("approved with edits by Rita Reyes")
    assert Decision.objects.get(pk=decision.pk).carried_out_status == "approved_and_sent"


@pytest.mark.parametrize("step", ["send", "cancel", "decide"])
def test_a_worker_killed_right_after_any_step_is_redriven_to_exactly_one_of_each(
    sandboxes, held, reviewer, monkeypatch, step
):
    decision = approve_with_edit(held, reviewer)
    item = decide_item(decision)
    fired = kill_after(monkeypatch, step)
    with pytest.raises(Killed):
        outbox_run(item_id=item.pk)
    assert fired and OutboxItem.objects.get(pk=item.pk).status == "running"
    assert redrive(item) == "done"
    assert_carried_out_once(sandboxes, held, decision)


def test_a_worker_killed_after_rejecting_an_original_that_could_not_be_cancelled(
    sandboxes, held, reviewer, monkeypatch
):
    def refuse_cancel(self, **kwargs):
        from reviewqueue.integrations.multimail.client import MultiMailConflict

        raise MultiMailConflict(409, "Email is pending_send_approval, which cannot be cancelled")

    monkeypatch.setattr(MultiMailClient, "cancel", refuse_cancel)
    decision = approve_with_edit(held, reviewer)
    item = decide_item(decision)
    kill_after(monkeypatch, "decide", when=lambda kwargs: kwargs["action"] == "reject")
    with pytest.raises(Killed):
        outbox_run(item_id=item.pk)
    assert redrive(item) == "done"
    edit = assert_carried_out_once(sandboxes, held, decision)
    assert edit.original_outcome == DraftEdit.OriginalOutcome.REJECTED
    reject = next(
        e
        for e in sandboxes.multimail_app.state.data["audit"]
        if e["resource_id"] == held.email_id and e["action"] == "oversight.rejected"
    )
    assert reject["metadata"]["reason"].startswith("superseded by an edit by Rita Reyes")


def test_a_tampered_edited_email_is_not_approved_and_waits_flagged_in_the_queue(sandboxes, held, reviewer, monkeypatch):
    decision = approve_with_edit(held, reviewer)
    item = decide_item(decision)
    kill_after(monkeypatch, "cancel")
    with pytest.raises(Killed):
        outbox_run(item_id=item.pk)
    edit = DraftEdit.objects.get(decision=decision)
    sandboxes.multimail_app.state.data["emails"][edit.edited_email_id]["markdown"] = "Pay at evil.example"
    # The tampered email arrives as the webhook or the poll would bring it.
    arrived, _ = draft_receive(
        email_id=edit.edited_email_id,
        mailbox_id=held.mailbox_id,
        source="webhook",
        actor=Actor.system("t"),
        fetch=False,
    )
    arrived = draft_fetch(draft_id=arrived.pk)
    assert arrived.status == Draft.Status.PENDING and arrived.flag_edit_mismatch
    assert arrived.edit_of_id == held.pk
    assert redrive(item) == "failed"
    assert "content hash differs" in OutboxItem.objects.get(pk=item.pk).last_error
    assert sandbox_audit(sandboxes, "oversight.", edit.edited_email_id) == 0  # never approved
    assert DraftEdit.objects.get(pk=edit.pk).edited_outcome == DraftEdit.EditedOutcome.MISMATCH
    assert Draft.objects.filter(status=Draft.Status.PENDING, pk=arrived.pk).exists()
    outbox_retry(item=OutboxItem.objects.get(pk=item.pk), actor=Actor.system("an admin"))
    assert outbox_run(item_id=item.pk) == "failed"  # a retry cannot make it the edit
    assert sandbox_audit(sandboxes, "oversight.", edit.edited_email_id) == 0


def test_the_edited_version_arriving_never_becomes_a_draft_to_review(sandboxes, held, reviewer, monkeypatch):
    decision = approve_with_edit(held, reviewer)
    item = decide_item(decision)
    kill_after(monkeypatch, "send")
    with pytest.raises(Killed):
        outbox_run(item_id=item.pk)
    # The webhook beat the outbox: the edited email's id is not recorded yet.
    [sent] = sends_of(sandboxes, "Your order", EDITED_BODY)
    arrived, _ = draft_receive(
        email_id=sent["id"], mailbox_id=held.mailbox_id, source="webhook", actor=Actor.system("t"), fetch=False
    )
    arrived = draft_fetch(draft_id=arrived.pk)
    assert arrived.status == Draft.Status.EDITED_VERSION and not arrived.flag_edit_mismatch
    assert not Draft.objects.filter(status=Draft.Status.PENDING).exists()
    assert redrive(item) == "done"
    assert Draft.objects.get(pk=arrived.pk).status == Draft.Status.EDITED_VERSION


def test_the_decision_and_its_audit_event_keep_both_texts_both_hashes_and_the_diff(sandboxes, held, reviewer):
    decision = approve_with_edit(held, reviewer, {"subject": "Your order ships tomorrow", "markdown": EDITED_BODY})
    event = AuditEvent.objects.get(action="draft.decided", target_id=str(held.pk))
    edit = event.payload["edit"]
    assert event.payload["edited"] is True
    assert edit["original"]["markdown"] == held.markdown and edit["original"]["content_hash"] == held.content_hash
    assert edit["edited"]["markdown"] == EDITED_BODY and edit["edited"]["subject"] == "Your order ships tomorrow"
    assert edit["edited"]["content_hash"] != held.content_hash
    assert ["+", "tomorrow, with a 10% refund"] in edit["diff"]["markdown"]
    assert ["-", "today"] in edit["diff"]["markdown"]
    assert decision.verb == "approved with edits"


def test_an_edit_that_changes_nothing_is_refused(sandboxes, held, reviewer):
    with pytest.raises(InvalidDecision, match="the edit changes nothing"):
        approve_with_edit(held, reviewer, {"subject": held.subject, "markdown": held.markdown})
    assert not Decision.objects.exists()
    assert Draft.objects.get(pk=held.pk).status == Draft.Status.PENDING


def test_reconciliation_knows_the_edited_emails_approval_as_ours_and_expects_no_decision_on_the_original(
    sandboxes, held, reviewer
):
    from reviewqueue.audit.models import ReconciliationFinding
    from reviewqueue.audit.reconcile import reconciliation_run

    decision = approve_with_edit(held, reviewer)
    assert outbox_run(item_id=decide_item(decision).pk) == "done"
    reconciliation_run()
    reconciliation_run(now=timezone.now() + timedelta(minutes=20))  # past the grace period
    assert list(ReconciliationFinding.objects.values_list("kind", "email_id", "detail")) == []
    assert AuditEvent.objects.filter(action="edit.sent", target_id=str(held.pk)).count() == 1


def test_the_edited_version_arriving_after_its_id_is_recorded_is_never_pending_and_is_still_fetched(
    sandboxes, held, reviewer, monkeypatch
):
    decision = approve_with_edit(held, reviewer)
    item = decide_item(decision)
    kill_after(monkeypatch, "cancel")
    with pytest.raises(Killed):
        outbox_run(item_id=item.pk)
    edit = DraftEdit.objects.get(decision=decision)
    arrived, created = draft_receive(
        email_id=edit.edited_email_id,
        mailbox_id=held.mailbox_id,
        source="webhook",
        actor=Actor.system("t"),
        fetch=False,
    )
    assert created and arrived.status == Draft.Status.EDITED_VERSION and arrived.edit_of_id == held.pk
    arrived = draft_fetch(draft_id=arrived.pk)
    assert arrived.fetched_at is not None and arrived.markdown == EDITED_BODY
    assert arrived.status == Draft.Status.EDITED_VERSION
    assert redrive(item) == "done"
    assert Draft.objects.get(pk=arrived.pk).email_status == "approved_and_sent"
