"""History replayed with explicit times (`at`): recorded as given, in order, never before the log's
last event nor in the future, and the chain still verifies."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from reviewqueue.audit.models import AuditEvent
from reviewqueue.audit.services import Actor, AuditTimeBeforeHead, audit_record
from reviewqueue.audit.verify import verify_chain

ACTOR = Actor.system("test")


def test_past_events_keep_their_times_in_order_and_the_chain_verifies(db):
    week_ago = datetime.now(UTC) - timedelta(days=7)
    past = [audit_record(actor=ACTOR, action="draft.decided", at=week_ago + timedelta(days=n)) for n in range(3)]
    today = audit_record(actor=ACTOR, action="draft.received")
    assert [event.created_at for event in past] == [week_ago + timedelta(days=n) for n in range(3)]
    assert today.created_at > past[-1].created_at
    stored = list(AuditEvent.objects.order_by("seq").values_list("created_at", flat=True))
    assert stored == [*(week_ago + timedelta(days=n) for n in range(3)), today.created_at]
    assert verify_chain().intact


def test_an_explicit_time_before_the_last_event_is_refused_and_nothing_is_appended(db):
    audit_record(actor=ACTOR, action="draft.received")
    with pytest.raises(AuditTimeBeforeHead), transaction.atomic():  # as a caller's change would be
        audit_record(actor=ACTOR, action="draft.decided", at=datetime.now(UTC) - timedelta(days=1))
    assert AuditEvent.objects.count() == 1


def test_an_explicit_time_in_the_future_is_refused(db):
    with pytest.raises(ValueError, match="future"):
        audit_record(actor=ACTOR, action="draft.decided", at=datetime.now(UTC) + timedelta(hours=1))
    assert not AuditEvent.objects.exists()
