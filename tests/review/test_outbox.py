from datetime import timedelta

import pytest
from django.utils import timezone

from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.models import OutboxItem
from reviewqueue.review.outbox import MAX_ATTEMPTS, outbox_run, outbox_sweep
from reviewqueue.review.outbox_admin import outbox_retry

pytestmark = pytest.mark.django_db


def run_all(multimail, intercom):
    """Run every due item in order, as the workers would."""
    mm, ic = multimail.client(), intercom.client()
    for item in OutboxItem.objects.order_by("sequence", "pk"):
        outbox_run(item_id=item.pk, multimail=mm, intercom=ic)


def decide(draft, reviewer, action="approve", reason=""):
    reviewer.first_name, reviewer.last_name = "Rita", "Reyes"
    reviewer.save()
    return draft_decide(draft=draft, reviewer=reviewer, action=action, reason=reason, origin="web")


def test_an_approval_reaches_multimail_naming_the_reviewer_and_the_conversation_gets_a_note(
    broker, linked_draft, reviewer, multimail, intercom
):
    decision = decide(linked_draft, reviewer)
    run_all(multimail, intercom)
    email = multimail.emails["em_1"]
    assert email["status"] == "approved_and_sent"
    assert "Rita Reyes" in email["decide_reason"] and f"decision {decision.pk}" in email["decide_reason"]
    assert email["tags"] == {
        "intercom_conversation_id": "c_7",
        "reviewed_by": "rita",
        "review_decision_id": str(decision.pk),
    }
    [note] = intercom.notes("c_7")
    assert "Email «Your refund» to customer@example.com approved by Rita Reyes" in note["body"]
    assert [t["name"] for t in intercom.conversations["c_7"]["tags"]["tags"]] == ["email-approved"]
    assert set(OutboxItem.objects.values_list("status", flat=True)) == {"done"}
    assert AuditEvent.objects.filter(action="decide.sent").count() == 1
    assert AuditEvent.objects.filter(action="intercom.note_written").count() == 1


def test_a_rejection_note_gives_the_reason(broker, linked_draft, reviewer, multimail, intercom):
    decide(linked_draft, reviewer, action="reject", reason="Wrong recipient")
    run_all(multimail, intercom)
    assert multimail.emails["em_1"]["status"] == "rejected"
    [note] = intercom.notes("c_7")
    assert "rejected by Rita Reyes: Wrong recipient" in note["body"]


def test_the_note_waits_until_multimail_took_the_decision(broker, linked_draft, reviewer, multimail, intercom):
    decide(linked_draft, reviewer)
    note = OutboxItem.objects.get(kind="intercom_note")
    assert outbox_run(item_id=note.pk, intercom=intercom.client()) == "waiting"
    assert intercom.notes("c_7") == []
    note.refresh_from_db()
    assert (note.status, note.attempts) == ("pending", 0)  # not taken: no attempt spent waiting


def test_an_item_is_taken_and_read_in_two_statements(broker, linked_draft, reviewer, multimail):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reviewqueue.review import outbox

    decide(linked_draft, reviewer)
    item = OutboxItem.objects.get(kind="decide")
    seen = {}

    def handler(taken, clients):
        seen["queries"] = len(queries.captured_queries)
        seen["draft"], seen["decision"] = taken.draft, taken.decision  # loaded with the item
        seen["queries_after_use"] = len(queries.captured_queries)
        raise outbox.Permanent("stop before the vendor call")

    original = outbox._HANDLERS[item.kind]
    outbox._HANDLERS[item.kind] = handler
    try:
        with CaptureQueriesContext(connection) as queries:
            assert outbox_run(item_id=item.pk, multimail=multimail.client()) == "failed"
    finally:
        outbox._HANDLERS[item.kind] = original
    assert seen["queries"] == seen["queries_after_use"] == 2  # the guarded take, then one read with both
    assert seen["draft"].pk == linked_draft.pk and seen["decision"].draft_id == linked_draft.pk


def test_a_404_whose_decision_went_through_is_reconciled_not_retried(
    broker, linked_draft, reviewer, multimail, intercom
):
    decide(linked_draft, reviewer)
    multimail.emails["em_1"]["status"] = "approved_and_sent"  # our first call went through; its answer was lost
    run_all(multimail, intercom)
    item = OutboxItem.objects.get(kind="decide")
    assert item.status == "done"
    assert multimail.calls["decide"] == 1
    assert AuditEvent.objects.filter(action="decide.reconciled").count() == 1


def test_a_404_for_an_email_in_another_state_fails_visibly(broker, linked_draft, reviewer, multimail, intercom):
    decide(linked_draft, reviewer)
    multimail.emails["em_1"]["status"] = "cancelled"
    run_all(multimail, intercom)
    item = OutboxItem.objects.get(kind="decide")
    assert item.status == "failed"
    assert "cancelled" in item.last_error
    assert AuditEvent.objects.filter(action="decide.failed").count() == 1
    assert intercom.notes("c_7") == []  # nothing is announced for a decision MultiMail did not take


def test_multimail_down_means_retry_later_with_backoff(broker, linked_draft, reviewer, multimail, intercom):
    decide(linked_draft, reviewer)
    multimail.down = True
    item = OutboxItem.objects.get(kind="decide")
    assert outbox_run(item_id=item.pk, multimail=multimail.client()) == "retry"
    item.refresh_from_db()
    assert item.status == "pending" and item.next_attempt_at > timezone.now()
    assert "unavailable" in item.last_error
    assert ("review.outbox_run", [item.pk]) in broker.queued()
    multimail.down = False
    assert outbox_run(item_id=item.pk, multimail=multimail.client()) == "busy"  # not due yet
    OutboxItem.objects.filter(pk=item.pk).update(next_attempt_at=timezone.now())  # the backoff has passed
    assert outbox_run(item_id=item.pk, multimail=multimail.client()) == "done"


def test_retries_are_bounded_then_the_failure_is_visible_and_retryable(
    broker, linked_draft, reviewer, multimail, admin_user
):
    decide(linked_draft, reviewer)
    multimail.down = True
    item = OutboxItem.objects.get(kind="decide")
    OutboxItem.objects.filter(pk=item.pk).update(attempts=MAX_ATTEMPTS - 1)
    assert outbox_run(item_id=item.pk, multimail=multimail.client()) == "failed"
    item.refresh_from_db()
    assert item.status == "failed" and "gave up" in item.last_error
    retried = outbox_retry(item=item, actor=Actor.person(admin_user))
    assert (retried.status, retried.attempts) == ("pending", 0)
    assert AuditEvent.objects.filter(action="outbox.retried").count() == 1


def test_two_workers_never_run_the_same_item(broker, linked_draft, reviewer, multimail):
    decide(linked_draft, reviewer)
    item = OutboxItem.objects.get(kind="decide")
    OutboxItem.objects.filter(pk=item.pk).update(status="running", locked_until=timezone.now() + timedelta(seconds=60))
    assert outbox_run(item_id=item.pk, multimail=multimail.client()) == "busy"
    assert multimail.calls["decide"] == 0


def test_the_sweeper_redrives_items_whose_message_was_lost(broker, linked_draft, reviewer):
    decide(linked_draft, reviewer)
    item = OutboxItem.objects.get(kind="decide")
    OutboxItem.objects.filter(pk=item.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    broker.flush()
    assert outbox_sweep() == 1
    assert broker.queued() == [("review.outbox_run", [item.pk])]


def test_the_sweeper_leaves_items_that_may_be_waiting_in_a_busy_queue(broker, linked_draft, reviewer):
    from reviewqueue.review.tasks import draft_fetch_task

    decide(linked_draft, reviewer)
    item = OutboxItem.objects.get(kind="decide")
    OutboxItem.objects.filter(pk=item.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    broker.flush()
    broker.kept_messages_since(timezone.now() - timedelta(hours=1))  # no loss since the item was queued
    draft_fetch_task.delay(linked_draft.pk, False)  # the queue still holds work: the item may be behind it
    assert outbox_sweep() == 0
    assert broker.names() == ["review.draft_fetch"]


def test_in_a_busy_queue_a_long_lost_item_is_redriven_once_per_backlogged_grace(broker, linked_draft, reviewer):
    from reviewqueue.review.outbox import SWEEP_GRACE_BACKLOGGED
    from reviewqueue.review.tasks import draft_fetch_task

    decide(linked_draft, reviewer)
    item = OutboxItem.objects.get(kind="decide")
    long_ago = timezone.now() - SWEEP_GRACE_BACKLOGGED - timedelta(minutes=1)
    OutboxItem.objects.filter(pk=item.pk).update(next_attempt_at=long_ago)
    broker.flush()
    draft_fetch_task.delay(linked_draft.pk, False)
    assert outbox_sweep() == 1
    assert outbox_sweep() == 0  # re-driven just now: its grace starts again
    assert broker.names() == ["review.draft_fetch", "review.outbox_run"]


def test_the_sweeper_takes_back_items_of_a_dead_worker(broker, linked_draft, reviewer):
    decide(linked_draft, reviewer)
    item = OutboxItem.objects.get(kind="decide")
    OutboxItem.objects.filter(pk=item.pk).update(status="running", locked_until=timezone.now() - timedelta(seconds=1))
    assert outbox_sweep() == 1


def test_a_note_written_before_a_crash_is_not_written_twice(broker, linked_draft, reviewer, multimail, intercom):
    decision = decide(linked_draft, reviewer)
    run_all(multimail, intercom)
    note = OutboxItem.objects.get(kind="intercom_note")
    # The worker wrote the note, then died before recording it: the item comes back on a lapsed lease.
    OutboxItem.objects.filter(pk=note.pk).update(status="running", locked_until=timezone.now() - timedelta(seconds=1))
    assert outbox_run(item_id=note.pk, intercom=intercom.client()) == "done"
    assert len(intercom.notes("c_7")) == 1
    assert f"decision {decision.pk}" in intercom.notes("c_7")[0]["body"]


def test_the_sweeper_leaves_items_whose_decide_failed_until_it_is_retried(broker, linked_draft, reviewer):
    decide(linked_draft, reviewer)
    OutboxItem.objects.filter(kind="decide").update(status="failed", last_error="refused")
    OutboxItem.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    broker.flush()
    assert outbox_sweep() == 0
    assert broker.queued() == []


def test_a_tag_deleted_in_intercom_since_the_client_learnt_it_is_asked_for_again(
    broker, linked_draft, reviewer, multimail, intercom
):
    from reviewqueue.integrations.intercom.client import IntercomNotFound

    decide(linked_draft, reviewer)
    ic = intercom.client()
    stale = ic.ensure_tag(name="email-approved")
    tag_conversation, refused = ic.tag_conversation, []

    def tag_once_refused(*, conversation_id, tag_id):
        if not refused:
            refused.append(tag_id)
            raise IntercomNotFound(404, "tag not found")
        return tag_conversation(conversation_id=conversation_id, tag_id=tag_id)

    ic.tag_conversation = tag_once_refused
    mm = multimail.client()
    for item in OutboxItem.objects.order_by("sequence", "pk"):
        outbox_run(item_id=item.pk, multimail=mm, intercom=ic)
    assert refused == [stale.id]
    assert OutboxItem.objects.get(kind="intercom_tag").status == "done"
    assert [t["name"] for t in intercom.conversations["c_7"]["tags"]["tags"]] == ["email-approved"]


def test_a_decide_answered_with_a_status_longer_than_its_column_is_recorded_cut_to_it(
    broker, linked_draft, reviewer, multimail, intercom
):
    decision = decide(linked_draft, reviewer)
    long_status = "approved_and_sent_" + "after_a_rule_whose_name_runs_on_" * 3
    multimail.fail[("POST", "/v1/oversight/decide")] = (200, {"status": long_status})
    item = OutboxItem.objects.get(kind="decide")
    assert outbox_run(item_id=item.pk, multimail=multimail.client()) == "done"
    decision.refresh_from_db()
    linked_draft.refresh_from_db()
    assert decision.carried_out_status == linked_draft.email_status == long_status[:64]
