"""An outbox item whose handler raises something nobody foresaw (a bug, a vendor answer no client
expects) must not stay RUNNING for the sweeper to re-drive on every lease, without limit: it counts
as an attempt, says why, and after MAX_ATTEMPTS ends failed where the admins see it."""

from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from reviewqueue.audit.models import AuditEvent
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.models import OutboxItem
from reviewqueue.review.outbox import MAX_ATTEMPTS, outbox_run
from reviewqueue.review.selectors import failed_outbox_items
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db


def _a_bug(request: httpx.Request) -> httpx.Response:
    raise RuntimeError("a bug nobody foresaw")


@pytest.fixture
def decide_item(broker, reviewer, multimail):
    multimail.add_email("em_1")
    draft = received_draft()
    draft_decide(draft=draft, reviewer=reviewer, action="approve", reason="", origin="web")
    return OutboxItem.objects.get(kind="decide")


@pytest.fixture
def buggy_multimail(multimail, monkeypatch):
    monkeypatch.setattr(multimail, "handle", _a_bug)  # at the HTTP boundary: the client's transport raises
    return multimail.client()


def test_an_unforeseen_error_counts_as_an_attempt_says_why_and_is_tried_again_later(
    broker, decide_item, buggy_multimail
):
    assert outbox_run(item_id=decide_item.pk, multimail=buggy_multimail) == "retry"
    decide_item.refresh_from_db()
    assert (decide_item.status, decide_item.attempts, decide_item.locked_until) == ("pending", 1, None)
    assert decide_item.last_error == "RuntimeError: a bug nobody foresaw"
    assert ("review.outbox_run", [decide_item.pk]) in broker.queued()


def test_an_item_that_keeps_failing_unforeseen_ends_failed_for_the_admins_after_the_limit(decide_item, buggy_multimail):
    OutboxItem.objects.filter(pk=decide_item.pk).update(attempts=MAX_ATTEMPTS - 1)
    assert outbox_run(item_id=decide_item.pk, multimail=buggy_multimail) == "failed"
    decide_item.refresh_from_db()
    assert decide_item.status == "failed"
    assert decide_item.last_error == f"gave up after {MAX_ATTEMPTS} attempts: RuntimeError: a bug nobody foresaw"
    assert decide_item in failed_outbox_items()
    assert AuditEvent.objects.filter(action="decide.failed", target_id=str(decide_item.draft_id)).count() == 1


def test_an_item_whose_workers_keep_dying_is_failed_for_the_admins_not_run_again_after_the_limit(
    decide_item, multimail
):
    # Every attempt so far was killed (out of memory, past the hard time limit): no error was caught,
    # the lease lapsed, and the sweeper handed the item out again.
    OutboxItem.objects.filter(pk=decide_item.pk).update(
        status="running", attempts=MAX_ATTEMPTS, locked_until=timezone.now() - timedelta(seconds=1)
    )
    assert outbox_run(item_id=decide_item.pk, multimail=multimail.client()) == "failed"
    assert multimail.calls["decide"] == 0
    decide_item.refresh_from_db()
    assert decide_item.status == "failed"
    assert decide_item.last_error.startswith(f"gave up after {MAX_ATTEMPTS} attempts:")
    assert decide_item in failed_outbox_items()
