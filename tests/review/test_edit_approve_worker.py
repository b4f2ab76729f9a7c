"""Approvals with edits carried out by a real Celery worker against the sandboxes, once even if it is SIGKILLed.

The worker is `celery -A reviewqueue worker` on the test database and this run's Redis database;
the test process decides through the service, as the draft page or the API would.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.models import DraftEdit, OutboxItem
from tests.livesystem import wait_for
from tests.review.test_edit_approve import EDITED_BODY, sandbox_audit, sends_of
from tests.review.test_outbox_worker import a_draft_with_its_conversation, outbox_done, sandboxes, start_worker

pytestmark = pytest.mark.django_db(transaction=True)

__all__ = ["sandboxes"]  # the fixture, shared with the outbox's worker tests


def approve_with_edit(draft, reviewer):
    return draft_decide(
        draft=draft,
        reviewer=reviewer,
        action="approve",
        reason="",
        origin="web",
        shown_snapshot_id=draft.latest_snapshot_id,
        edit={"markdown": EDITED_BODY},
    )


def assert_once(sandboxes, draft, decision) -> DraftEdit:
    edit = DraftEdit.objects.get(decision=decision)
    assert len(sends_of(sandboxes, "Your refund", EDITED_BODY)) == 1
    assert (
        sandbox_audit(sandboxes, "email.cancelled", draft.email_id)
        + sandbox_audit(sandboxes, "oversight.rejected", draft.email_id)
        == 1
    )
    assert sandboxes.decisions_taken(edit.edited_email_id) == 1
    assert sandboxes.email(edit.edited_email_id)["status"] in ("approved", "approved_and_sent")
    return edit


def test_the_worker_carries_out_an_edited_approval_and_the_note_says_so(sandboxes, reviewer):
    draft = a_draft_with_its_conversation(sandboxes)
    start_worker(sandboxes)
    decision = approve_with_edit(draft, reviewer)
    wait_for(lambda: outbox_done(decision), timeout=30, what="the outbox carried the edited approval out")
    assert_once(sandboxes, draft, decision)
    assert sandboxes.email(draft.email_id)["status"] == "cancelled"
    [note] = sandboxes.notes(draft.conversation_id)
    assert "approved with edits by rita" in note["body"] and "body:" in note["body"]


def test_a_worker_killed_mid_edit_carries_it_out_once_after_restart(sandboxes, reviewer):
    draft = a_draft_with_its_conversation(sandboxes)
    worker = start_worker(sandboxes)
    sandboxes.multimail_knobs(latency_ms=1500)  # every step's call is in flight for a while
    decision = approve_with_edit(draft, reviewer)
    decide = OutboxItem.objects.get(decision=decision, kind="decide")
    wait_for(lambda: sends_of(sandboxes, "Your refund", EDITED_BODY), timeout=20, what="the edited version sent")
    worker.processes["worker"].kill()  # SIGKILL while a later step is in flight: nothing recorded after it
    worker.cleanup()
    sandboxes.multimail_knobs(latency_ms=0)
    OutboxItem.objects.filter(pk=decide.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    start_worker(sandboxes)
    from reviewqueue.review.tasks import outbox_sweep_task

    outbox_sweep_task.delay(0)
    wait_for(lambda: outbox_done(decision), timeout=40, what="the edited approval carried out after the restart")
    assert_once(sandboxes, draft, decision)
    decide.refresh_from_db()
    assert decide.attempts == 2
