"""The SLA sweep on real PostgreSQL: overdue drafts escalated once, messages sent with backoff, expiry."""

import json
import threading
from datetime import timedelta

import httpx
import pytest
from django.db import connection, transaction
from django.utils import timezone

from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor
from reviewqueue.review.claims import draft_claim, draft_release
from reviewqueue.review.models import Decision, Draft, OutboxItem
from reviewqueue.sla import notify
from reviewqueue.sla.models import Escalation, EscalationDelivery
from reviewqueue.sla.policy import PolicyChanges, policy_set
from reviewqueue.sla.sweep import escalations_claim, sla_sweep
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db

SLACK_URL = "https://127.0.0.1/services/T000/B000/secretpart"


@pytest.fixture
def slack_allowed(settings):
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = True  # the test's Slack is on loopback, answered by MockTransport
    settings.SITE_URL = "https://rq.example.com"


def set_policy(**changes):
    return policy_set(mailbox_id="mbx_1", changes=PolicyChanges(**changes), actor=Actor.system("test"))


def waited(minutes: float, email_id: str = "em_1", **fields) -> Draft:
    return received_draft(email_id=email_id, waiting_since=timezone.now() - timedelta(minutes=minutes), **fields)


class Slack:
    """A Slack incoming webhook at the HTTP boundary: keeps every post, answers `status`."""

    def __init__(self, status: int = 200):
        self.status, self.posts = status, []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.posts.append(json.loads(request.content))
        return httpx.Response(self.status, text="ok" if self.status == 200 else "no_service")

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handler))


def test_an_overdue_draft_is_escalated_once_to_each_channel(
    broker, mailbox, slack_allowed, mailoutbox, django_capture_on_commit_callbacks
):
    set_policy(target=timedelta(minutes=30), slack_webhook_url=SLACK_URL, notify_emails=["lead@acme.test"])
    overdue = waited(45, subject="Refund <@channel> & more", to=["cleo@customer.example"])
    waited(10, email_id="em_fresh")
    received_draft(email_id="em_other", mailbox_id="mbx_2", waiting_since=timezone.now() - timedelta(days=3))

    with django_capture_on_commit_callbacks(execute=True):
        first, second = sla_sweep(), sla_sweep()

    assert (first.escalated, first.deliveries, second.escalated) == (1, 2, 0)
    assert list(Escalation.objects.values_list("draft_id", flat=True)) == [overdue.pk]
    assert "sla.deliveries_run" in broker.names()
    event = AuditEvent.objects.get(action="draft.escalated")
    assert event.payload["channels"] == ["slack", "email"] and event.payload["target"] == "30m"
    slack = Slack()
    ids = list(EscalationDelivery.objects.values_list("pk", flat=True))
    assert set(notify.deliveries_run(delivery_ids=ids, http=slack.client()).values()) == {"done"}
    assert notify.deliveries_run(delivery_ids=ids, http=slack.client()) == {i: "not taken" for i in ids}
    [post] = slack.posts
    text = json.dumps(post["blocks"])
    assert "mbx_1" in text and "cleo@customer.example" in text and "45 min" in text
    assert "&lt;@channel&gt; &amp; more" in text  # mrkdwn escaped: a subject cannot ping anyone
    assert post["blocks"][-1]["elements"][0]["url"] == f"https://rq.example.com/queue/drafts/{overdue.pk}/"
    [mail] = mailoutbox
    assert mail.to == ["lead@acme.test"] and "Draft overdue" in mail.subject and "cleo@customer.example" in mail.body
    assert AuditEvent.objects.filter(action="sla.escalation_sent").count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_racing_escalate_each_draft_once(broker, mailbox):
    set_policy(target=timedelta(minutes=5), notify_emails=["lead@acme.test"])
    drafts = [waited(10 + n, email_id=f"em_{n}") for n in range(20)]
    first_inserted, results = threading.Event(), {}

    def slow_sweep():
        # Claims and holds its transaction open while the other sweep runs into the same rows.
        with transaction.atomic():
            results["slow"] = escalations_claim(now=timezone.now())
            first_inserted.set()
            threading.Event().wait(1.0)
        connection.close()

    def fast_sweep():
        first_inserted.wait()
        results["fast"] = escalations_claim(now=timezone.now())  # blocks on the unique index, then inserts nothing
        connection.close()

    threads = [threading.Thread(target=slow_sweep), threading.Thread(target=fast_sweep)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {"slow": (20, 20), "fast": (0, 0)}
    assert Escalation.objects.count() == 20 == EscalationDelivery.objects.count()
    assert sorted(Escalation.objects.values_list("draft_id", flat=True)) == sorted(d.pk for d in drafts)
    assert AuditEvent.objects.filter(action="draft.escalated").count() == 20


def test_a_failing_slack_is_retried_with_backoff_then_failed_and_never_blocks_a_decision(
    broker, mailbox, slack_allowed, reviewer
):
    set_policy(target=timedelta(minutes=30), slack_webhook_url=SLACK_URL)
    draft = waited(60)
    sla_sweep()
    delivery = EscalationDelivery.objects.get()
    assert notify.delivery_run(delivery_id=delivery.pk, http=Slack(503).client()) == "retry"
    delivery.refresh_from_db()
    assert delivery.status == "pending" and "503" in delivery.last_error
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=10)
    EscalationDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert notify.delivery_run(delivery_id=delivery.pk, http=Slack(404).client()) == "failed"
    assert "no_service" in EscalationDelivery.objects.get().last_error
    assert AuditEvent.objects.filter(action="sla.escalation_failed").count() == 1
    from reviewqueue.review.decisions import draft_decide

    assert draft_decide(draft=draft, reviewer=reviewer, action="reject", reason="x", origin="web").action == "reject"


def test_a_slack_url_that_now_points_inside_is_refused_when_sending(broker, mailbox, slack_allowed, settings):
    set_policy(target=timedelta(minutes=30), slack_webhook_url=SLACK_URL)
    waited(60)
    sla_sweep()
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = False
    # The real guarded client: it resolves the host at connect time and refuses the loopback address.
    assert notify.delivery_run(delivery_id=EscalationDelivery.objects.get().pk) == "failed"
    last_error = EscalationDelivery.objects.get().last_error
    assert "outbound guard" in last_error and "loopback" in last_error


def test_a_lost_message_is_redriven_by_the_next_sweep(broker, mailbox):
    set_policy(target=timedelta(minutes=30), notify_emails=["lead@acme.test"])
    waited(60)
    sla_sweep()
    broker.flush()
    EscalationDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    assert sla_sweep().redriven == 1
    assert "sla.deliveries_run" in broker.names()


# --- expiry ---------------------------------------------------------------------------------------


def held(hours: float, email_id: str = "em_1", **fields) -> Draft:
    return received_draft(email_id=email_id, received_at=timezone.now() - timedelta(hours=hours), **fields)


def test_a_draft_past_its_expiry_is_rejected_by_the_system_through_the_outbox(
    broker, mailbox, django_capture_on_commit_callbacks
):
    set_policy(expiry=timedelta(hours=24))
    draft = held(25, conversation_id="77")
    held(2, email_id="em_young")
    from reviewqueue.sla.signals import draft_expired

    heard = []
    draft_expired.connect(lambda **kw: heard.append(kw), weak=False, dispatch_uid="test-expired")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert sla_sweep().expired == 1
    finally:
        draft_expired.disconnect(dispatch_uid="test-expired")
    assert [(h["draft_id"], h["event"]) for h in heard] == [(draft.pk, "draft.expired")]
    decision = Decision.objects.get()
    assert (decision.draft_id, decision.action, decision.origin) == (draft.pk, "reject", "system")
    assert decision.reason == "expired: no decision within 24h"
    assert decision.reviewer.username == "reviewqueue-system" and not decision.reviewer.is_active
    kinds = set(OutboxItem.objects.filter(decision=decision).values_list("kind", flat=True))
    assert {"decide", "intercom_note"} <= kinds
    assert "expired: no decision within 24h" in OutboxItem.objects.get(kind="decide").payload["reason"]
    assert "review.outbox_run" in broker.names()
    expired = AuditEvent.objects.get(action="draft.expired")
    assert (expired.actor_type, expired.payload["decision_id"]) == ("system", decision.pk)
    assert sla_sweep().expired == 0


def test_a_claimed_draft_expires_only_when_the_claim_ends(broker, mailbox, reviewer):
    set_policy(expiry=timedelta(hours=1))
    draft = held(3)
    draft_claim(draft=draft, reviewer=reviewer)
    assert sla_sweep().expired == 0
    draft_release(draft=draft, reviewer=reviewer)
    assert sla_sweep().expired == 1
    assert Decision.objects.get().draft_id == draft.pk


def test_a_draft_whose_content_never_came_in_is_not_expired(broker, mailbox):
    set_policy(expiry=timedelta(hours=1))
    held(3, fetched_at=None)
    assert sla_sweep().expired == 0 and not Decision.objects.exists()


def test_a_message_for_a_draft_decided_meanwhile_is_not_sent(broker, mailbox, slack_allowed, reviewer):
    from reviewqueue.review.decisions import draft_decide

    set_policy(target=timedelta(minutes=30), slack_webhook_url=SLACK_URL)
    draft = waited(60)
    sla_sweep()
    draft_decide(draft=draft, reviewer=reviewer, action="reject", reason="Wrong tone", origin="web")
    slack = Slack()
    assert notify.delivery_run(delivery_id=EscalationDelivery.objects.get().pk, http=slack.client()) == "skipped"
    assert slack.posts == [] and EscalationDelivery.objects.get().status == "done"
    assert AuditEvent.objects.filter(action="sla.escalation_skipped").count() == 1


def test_beat_runs_the_sweep_every_minute_and_the_worker_knows_its_tasks(settings):
    from reviewqueue.celery import app

    assert settings.CELERY_BEAT_SCHEDULE["sla-sweep"] == {"task": "sla.sweep", "schedule": 60.0}
    app.loader.import_default_modules()  # what a worker does at start: autodiscover every app's tasks
    assert {"sla.sweep", "sla.deliveries_run"} <= set(app.tasks)
