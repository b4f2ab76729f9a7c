"""A decision goes through when the audit log moved on after the decision read the clock.

draft_decide reads `now` before it takes the audit log's lock (its decision row, outbox rows and
claim come first). A worker appending an event in between (carrying out an earlier decision, which
a bulk rejection of 100 drafts makes certain) made the decision fail with AuditTimeBeforeHead.
"""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor, audit_record
from reviewqueue.review import decisions
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.models import Decision
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db


def test_a_decision_whose_clock_reading_the_log_has_passed_is_still_recorded(broker, reviewer, monkeypatch):
    draft = received_draft()
    audit_record(actor=Actor.system("worker"), action="outbox.done", target_type="draft", target_id=draft.pk)
    read_before = timezone.now() - timedelta(milliseconds=200)  # the decision read the clock, then the worker wrote
    monkeypatch.setattr(decisions, "timezone", SimpleNamespace(now=lambda: read_before))

    decision = draft_decide(draft=draft, reviewer=reviewer, action="reject", reason="stale", origin="api")

    assert Decision.objects.get(pk=decision.pk).decided_at == read_before
    head = AuditEvent.objects.order_by("-seq").first()
    assert head.action == "draft.decided"
    previous = AuditEvent.objects.get(seq=head.seq - 1)
    assert head.created_at >= previous.created_at  # the log still moves forward in time


def test_a_replayed_decision_keeps_its_given_time(broker, reviewer):
    draft = received_draft()
    at = timezone.now()  # replays run in time order: after the draft's own events
    draft_decide(draft=draft, reviewer=reviewer, action="reject", reason="old", origin="web", at=at)
    assert AuditEvent.objects.get(action="draft.decided").created_at == at
