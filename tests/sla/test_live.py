"""The SLA flows on real PostgreSQL, Redis and Celery workers, against the sandboxes.

- expiry: the sweep (run by the worker, as beat does) rejects an expired draft as the system, and the
  outbox carries it to MultiMail once, even with the worker SIGKILLed while the decide is in flight;
- four-eyes: concurrent second approvers make one decision and MultiMail gets one decide call, whose
  reason, like the Intercom note, names both approvers;
- escalation: two `manage.py sla_sweep` processes started together, and a worker sending the Slack
  messages to a local receiver: one message per overdue draft (tests/sla/test_sweep.py holds two sweeps
  in the same statement on purpose).
"""

import http.server
import json
import os
import re
import subprocess
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.models import Decision, Draft, OutboxItem
from reviewqueue.sandbox.multimail import defaults as mm_defaults
from reviewqueue.sla.errors import AwaitingSecondApproval
from reviewqueue.sla.models import Escalation, EscalationDelivery
from reviewqueue.sla.policy import PolicyChanges, policy_set
from tests.conftest import make_user
from tests.livesystem import BASE_DIR, PYTHON, database_url, wait_for
from tests.review.test_outbox_worker import a_draft_with_its_conversation, outbox_done, sandboxes, start_worker

pytestmark = pytest.mark.django_db(transaction=True)
MAILBOX = mm_defaults.DEMO_MAILBOX_ID
__all__ = ["sandboxes"]  # the fixture, imported for this module's tests


def approve(draft, reviewer, origin="web"):
    """As the draft page does: against the conversation the reviewer was shown."""
    return draft_decide(
        draft=draft, reviewer=reviewer, action="approve", reason="", origin=origin,
        shown_snapshot_id=draft.latest_snapshot_id,
    )  # fmt: skip


def multimail_reasons(sandboxes, email_id: str) -> list[str]:
    """The reason of every decision MultiMail took on the email, from its own audit log."""
    page = sandboxes._ok(sandboxes.mm.get("/v1/audit-log", params={"limit": 100}, headers=sandboxes.admin_headers))
    return [
        entry["metadata"].get("reason", "")
        for entry in page.json()["entries"]
        if entry["resource_id"] == email_id
        and entry["action"] in ("oversight.approved", "oversight.approved_and_sent", "oversight.rejected")
    ]


def test_an_expired_draft_is_rejected_through_the_outbox_even_with_its_worker_killed(sandboxes):
    from reviewqueue.review.tasks import outbox_sweep_task
    from reviewqueue.sla.tasks import sla_sweep_task

    draft = a_draft_with_its_conversation(sandboxes)
    policy_set(mailbox_id=MAILBOX, changes=PolicyChanges(expiry=timedelta(hours=1)), actor=Actor.system("test"))
    Draft.objects.filter(pk=draft.pk).update(received_at=timezone.now() - timedelta(hours=2))
    worker = start_worker(sandboxes)
    sandboxes.multimail_knobs(latency_ms=2000)  # the decide call is in flight for two seconds
    sla_sweep_task.delay()  # what beat sends every minute
    decision = wait_for(lambda: Decision.objects.filter(draft=draft).first(), timeout=30, what="the sweep expired it")
    assert (decision.action, decision.origin, decision.reason) == ("reject", "system", "expired: no decision within 1h")
    decide = OutboxItem.objects.get(decision=decision, kind="decide")
    wait_for(
        lambda: OutboxItem.objects.filter(pk=decide.pk, status="running").exists(), timeout=20, what="decide running"
    )
    worker.processes["worker"].kill()  # SIGKILL to the whole group, mid-call
    worker.cleanup()
    sandboxes.multimail_knobs(latency_ms=0)
    OutboxItem.objects.filter(pk=decide.pk).update(locked_until=timezone.now() - timedelta(seconds=1))  # lease lapsed
    start_worker(sandboxes)
    outbox_sweep_task.delay(0)  # what beat runs every 15 s
    wait_for(lambda: outbox_done(decision), timeout=40, what="the expiry carried out after the restart")
    assert sandboxes.email(draft.email_id)["status"] == "rejected"
    assert sandboxes.decisions_taken(draft.email_id) == 1
    assert any("expired: no decision within 1h" in r for r in multimail_reasons(sandboxes, draft.email_id))
    [note] = sandboxes.notes(draft.conversation_id)
    assert "expired: no decision within 1h" in note["body"]
    assert AuditEvent.objects.filter(action="draft.expired", target_id=str(draft.pk)).count() == 1
    sla_sweep_task.delay()
    assert Decision.objects.filter(draft=draft).count() == 1


def test_two_concurrent_second_approvers_make_one_decide_call_naming_both(sandboxes, django_user_model):
    draft = a_draft_with_its_conversation(sandboxes)
    policy_set(mailbox_id=MAILBOX, changes=PolicyChanges(approvals_required=2), actor=Actor.system("test"))
    first = make_user(django_user_model, "fiona", "reviewer")
    seconds = [make_user(django_user_model, name, "reviewer") for name in ("gus", "hana")]
    start_worker(sandboxes)
    with pytest.raises(AwaitingSecondApproval):
        approve(draft, first)
    start, outcomes = threading.Barrier(2), []

    def second_approval(reviewer):
        start.wait()
        try:
            outcomes.append(approve(draft, reviewer, origin="api").reviewer_username)
        except Exception as error:
            outcomes.append(type(error).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=second_approval, args=(r,)) for r in seconds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes)[0] == "DraftAlreadyDecided" and sorted(outcomes)[1] in ("gus", "hana")
    decision = Decision.objects.get(draft=draft)
    wait_for(lambda: outbox_done(decision), timeout=40, what="the outbox carried the second approval out")
    assert sandboxes.decisions_taken(draft.email_id) == 1
    [reason] = multimail_reasons(sandboxes, draft.email_id)
    assert f"approved by {decision.reviewer_username}" in reason and "first approval by fiona" in reason
    [note] = sandboxes.notes(draft.conversation_id)
    assert f"approved by {decision.reviewer_username}" in note["body"] and "first approval by fiona" in note["body"]


class _SlackReceiver(http.server.BaseHTTPRequestHandler):
    posts: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.posts.append(json.loads(body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def test_two_sweep_processes_racing_escalate_each_overdue_draft_once(sandboxes, settings, monkeypatch):
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlackReceiver)
    _SlackReceiver.posts = []
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = True
    monkeypatch.setenv("CALLBACK_ALLOW_PRIVATE_NETWORKS", "1")  # the worker's Slack is this loopback receiver
    url = f"http://127.0.0.1:{receiver.server_port}/services/T0/B0/x"
    policy_set(
        mailbox_id="mbx_race",
        changes=PolicyChanges(target=timedelta(minutes=30), slack_webhook_url=url),
        actor=Actor.system("test"),
    )
    now = timezone.now()
    Draft.objects.bulk_create(
        Draft(email_id=f"em_race_{n}", mailbox_id="mbx_race", source="poll", subject=f"Order {n}",
              waiting_since=now - timedelta(minutes=31 + n))
        for n in range(100)
    )  # fmt: skip
    start_worker(sandboxes)
    env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict), "REDIS_URL": settings.REDIS_URL}
    sweeps = [
        subprocess.Popen([PYTHON, "manage.py", "sla_sweep"], cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [sweep.communicate(timeout=120)[0] for sweep in sweeps]
    escalated = [int(re.search(r"^escalated (\d+)", out, re.M).group(1)) for out in outputs]  # logs share stdout
    assert sum(escalated) == 100, outputs
    wait_for(lambda: len(_SlackReceiver.posts) >= 100, timeout=60, what="the worker sent every Slack message")
    wait_for(lambda: not EscalationDelivery.objects.exclude(status="done").exists(), timeout=30, what="deliveries done")
    receiver.shutdown()
    subjects = [post["blocks"][1]["fields"][2]["text"] for post in _SlackReceiver.posts]
    assert len(subjects) == 100 == len(set(subjects)), subjects[:3]  # one message per draft, none twice
    assert Escalation.objects.count() == 100
    assert AuditEvent.objects.filter(action="draft.escalated").count() == 100
