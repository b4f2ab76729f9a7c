"""Decisions carried out by a real Celery worker against the sandboxes: killed, MultiMail down, Redis flushed.

The worker is `celery -A reviewqueue worker` on the test database and this run's own Redis
database; the test process decides through the service, exactly as a page or the API would.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.ingest import draft_fetch, draft_receive
from reviewqueue.review.models import Decision, Draft, OutboxItem
from tests.livesystem import wait_for
from tests.review.live import sandboxes_started

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandboxes(settings, broker):
    with sandboxes_started(settings) as running:
        yield running


def start_worker(sandboxes):
    return sandboxes.worker(connection.settings_dict, settings.REDIS_URL)


def a_draft_with_its_conversation(sandboxes) -> Draft:
    conversation_id = sandboxes.conversation("cleo@customer.example")
    email_id = sandboxes.agent_draft("cleo@customer.example", subject="Your refund", conversation_id=conversation_id)
    draft, _ = draft_receive(
        email_id=email_id, mailbox_id="mb_sandbox_support", source="poll", actor=Actor.system("test"), fetch=False
    )
    return draft_fetch(draft_id=draft.pk)


def approve_as_shown(draft, reviewer) -> Decision:
    """What the draft page does: approve against the conversation the reviewer was shown."""
    return draft_decide(
        draft=draft,
        reviewer=reviewer,
        action="approve",
        reason="",
        origin="web",
        shown_snapshot_id=draft.latest_snapshot_id,
    )


def outbox_done(decision: Decision) -> bool:
    return not OutboxItem.objects.filter(decision=decision).exclude(status="done").exists()


def test_a_decision_is_carried_out_by_the_worker_and_the_conversation_gets_its_note(sandboxes, reviewer):
    draft = a_draft_with_its_conversation(sandboxes)
    assert (draft.conversation_link, draft.status) == ("tag", "pending")
    start_worker(sandboxes)
    decision = approve_as_shown(draft, reviewer)
    wait_for(lambda: outbox_done(decision), timeout=30, what="the outbox carried the decision out")
    email = sandboxes.email(draft.email_id)
    assert email["status"] in ("approved", "approved_and_sent")
    assert email["tags"]["reviewed_by"] == "rita"
    assert sandboxes.decisions_taken(draft.email_id) == 1
    [note] = sandboxes.notes(draft.conversation_id)
    assert "approved by rita" in note["body"]


def test_a_worker_killed_with_the_decide_in_flight_carries_it_out_once_after_restart(sandboxes, reviewer):
    draft = a_draft_with_its_conversation(sandboxes)
    worker = start_worker(sandboxes)
    sandboxes.multimail_knobs(latency_ms=2000)  # the decide call is in flight for two seconds
    decision = approve_as_shown(draft, reviewer)
    decide = OutboxItem.objects.get(decision=decision, kind="decide")
    wait_for(
        lambda: OutboxItem.objects.filter(pk=decide.pk, status="running").exists(), timeout=20, what="decide running"
    )
    worker.processes["worker"].kill()  # SIGKILL to the whole group: no cleanup, the message stays unacked
    worker.cleanup()
    sandboxes.multimail_knobs(latency_ms=0)
    # The lease (outbox.LEASE) has to lapse before anyone may take the item again; let that time pass.
    OutboxItem.objects.filter(pk=decide.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    start_worker(sandboxes)
    from reviewqueue.review.tasks import outbox_sweep_task

    outbox_sweep_task.delay(0)  # what beat runs every 15 s
    wait_for(lambda: outbox_done(decision), timeout=40, what="the decision carried out after the restart")
    assert sandboxes.decisions_taken(draft.email_id) == 1
    assert len(sandboxes.notes(draft.conversation_id)) == 1
    decide.refresh_from_db()
    assert decide.attempts == 2
    # Whether the killed call reached MultiMail or not, the second attempt either sent it or found it
    # done (a 404, reconciled by reading the email): exactly one of the two, once.
    outcomes = AuditEvent.objects.filter(action__in=["decide.sent", "decide.reconciled"], target_id=str(draft.pk))
    assert outcomes.count() == 1


def test_multimail_down_for_a_while_then_the_decision_goes_through_when_it_returns(sandboxes, reviewer):
    draft = a_draft_with_its_conversation(sandboxes)
    start_worker(sandboxes)
    sandboxes.multimail_knobs(error_rate=1.0)  # every call answers 500
    decision = draft_decide(draft=draft, reviewer=reviewer, action="reject", reason="Wrong recipient", origin="api")
    decide = OutboxItem.objects.get(decision=decision, kind="decide")
    wait_for(
        lambda: OutboxItem.objects.get(pk=decide.pk).attempts >= 2, timeout=30, what="the worker retried with backoff"
    )
    decide.refresh_from_db()
    assert decide.status in ("pending", "running") and "unavailable" in decide.last_error
    sandboxes.multimail_knobs(error_rate=0.0)
    wait_for(lambda: outbox_done(decision), timeout=40, what="the decision carried out once MultiMail was back")
    assert sandboxes.email(draft.email_id)["status"] == "rejected"
    assert sandboxes.decisions_taken(draft.email_id) == 1
    assert "rejected by rita: Wrong recipient" in sandboxes.notes(draft.conversation_id)[0]["body"]


def test_redis_flushed_before_the_worker_ran_the_sweeper_recovers_the_work(sandboxes, reviewer, broker):
    draft = a_draft_with_its_conversation(sandboxes)
    decision = approve_as_shown(draft, reviewer)
    assert "review.outbox_run" in broker.names()
    broker.flush()  # the broker lost the message (Redis restarted without persistence)
    start_worker(sandboxes)
    from reviewqueue.review.tasks import outbox_sweep_task

    outbox_sweep_task.delay(0)
    wait_for(lambda: outbox_done(decision), timeout=40, what="the sweeper re-drove the lost work")
    assert sandboxes.decisions_taken(draft.email_id) == 1
    assert len(sandboxes.notes(draft.conversation_id)) == 1


def test_a_webhook_draft_is_fetched_with_its_conversation_by_the_worker(sandboxes):
    conversation_id = sandboxes.conversation("dora@customer.example")
    email_id = sandboxes.agent_draft("dora@customer.example", subject="Your invoice", conversation_id=conversation_id)
    start_worker(sandboxes)
    draft, created = draft_receive(
        email_id=email_id, mailbox_id="mb_sandbox_support", source="webhook", actor=Actor.system("multimail")
    )
    assert created

    def fetched():
        return Draft.objects.filter(pk=draft.pk, fetched_at__isnull=False).first()

    draft = wait_for(fetched, timeout=30, what="the worker fetched the webhook's draft")
    assert (draft.subject, draft.conversation_id, draft.conversation_link) == ("Your invoice", conversation_id, "tag")
    assert draft.snapshot_id is not None and draft.fetch_error == ""
