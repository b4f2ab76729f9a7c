from datetime import UTC, datetime, timedelta

import pytest

from reviewqueue.oversight.models import DailyRollup, WeeklyRollup
from reviewqueue.oversight.rollups import rollups_rebuild, rollups_refresh
from reviewqueue.oversight.selectors import Selection, default_selection, evidence

from .factories import seed_decision

pytestmark = pytest.mark.django_db


def days_ago(n: int) -> datetime:
    return datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=n)


def test_shares_reasons_waits_and_catches_per_mailbox_and_kind(reviewer):
    for _ in range(6):
        seed_decision(reviewer, kind="refund", waited=timedelta(minutes=10))
    seed_decision(reviewer, kind="refund", action="reject", reason="Wrong recipient", waited=timedelta(hours=2))
    seed_decision(
        reviewer,
        kind="refund",
        action="reject",
        reason="Wrong recipient",
        customer_replied=True,
        waited=timedelta(hours=2),
    )
    seed_decision(reviewer, kind="refund", action="request_changes", reason="shorter please")
    seed_decision(reviewer, kind="refund", action="reject", origin="system", reason="expired: no decision within 24h")
    seed_decision(reviewer, mailbox_id="mbx_sales", confirmed_changed=True)  # no intake: kind "other"
    found = evidence(default_selection())
    cells = {(mailbox, kind): figures for mailbox, kind, figures in found.by_cell}
    refund = cells[("mbx_support", "refund")]
    assert refund.decisions == 10
    assert refund.outcomes == {"approved_unedited": 6, "approved_edited": 0, "changes_requested": 1, "rejected": 2,
                               "expired": 1}  # fmt: skip
    assert refund.shares["approved_unedited"] == pytest.approx(0.6)
    assert refund.rejection_reasons == [("Wrong recipient", 2)]  # the expiry is not a person's rejection
    assert refund.stale_catches == 1
    assert 10 * 60 * 0.94 <= refund.p50_seconds <= 10 * 60 * 1.06  # a histogram bucket's width
    assert 2 * 3600 * 0.94 <= refund.p90_seconds <= 2 * 3600 * 1.06
    other = cells[("mbx_sales", "other")]
    assert (other.decisions, other.stale_catches) == (1, 1)
    assert found.total.decisions == 11


def test_weeks_cover_the_last_twelve_with_empty_weeks_shown(reviewer):
    seed_decision(reviewer, decided_at=days_ago(0))
    seed_decision(reviewer, decided_at=days_ago(21))
    seed_decision(reviewer, decided_at=days_ago(200))  # outside the range
    rollups_rebuild()
    found = evidence(default_selection())
    assert len(found.weeks) == 12
    assert sum(figures.decisions for _, figures in found.weeks) == 2
    assert found.weeks[-1][1].decisions == 1


def test_closed_days_come_from_rollups_and_today_is_live(reviewer):
    seed_decision(reviewer, decided_at=days_ago(3))
    rollups_refresh()  # rolls up the day of the new decision
    assert DailyRollup.objects.filter(day=days_ago(3).date()).get().decisions == 1
    seed_decision(reviewer, decided_at=days_ago(0))  # not rolled up yet
    assert evidence(default_selection()).total.decisions == 2


def test_a_backfilled_decision_is_rolled_up_by_the_next_refresh(reviewer):
    rollups_refresh()
    seed_decision(reviewer, decided_at=days_ago(9))
    result = rollups_refresh()
    assert result["rows"] >= 1
    assert DailyRollup.objects.get(day=days_ago(9).date()).decisions == 1


def test_filters_by_mailbox_and_kind(reviewer):
    seed_decision(reviewer, kind="refund")
    seed_decision(reviewer, kind="shipping")
    seed_decision(reviewer, mailbox_id="mbx_sales", kind="refund")
    assert evidence(default_selection(mailbox_id="mbx_support")).total.decisions == 2
    assert evidence(default_selection(kind="refund")).total.decisions == 2
    assert evidence(default_selection(mailbox_id="mbx_sales", kind="shipping")).total.decisions == 0


def test_whole_weeks_from_weekly_rollups_and_cut_weeks_from_daily_ones_add_up_to_the_live_answer(reviewer):
    for n in range(1, 40):
        seed_decision(reviewer, decided_at=days_ago(n), kind="refund" if n % 3 else "",
                      action="reject" if n % 5 == 0 else "approve", reason="Wrong recipient",
                      waited=timedelta(minutes=n))  # fmt: skip
    today = days_ago(0).date()
    selection = Selection(since=today - timedelta(days=31), until=today - timedelta(days=3))
    live = evidence(selection)  # no refresh yet: every day computed from the decisions
    rollups_rebuild()
    assert WeeklyRollup.objects.exists()
    stored = evidence(selection)
    assert stored.total == live.total and stored.weeks == live.weeks and stored.by_cell == live.by_cell
    assert stored.total.decisions == 29


def test_an_approval_with_edits_counts_once_as_approved_with_edits(reviewer):
    from reviewqueue.review.models import DraftEdit

    original = seed_decision(reviewer, kind="refund")
    DraftEdit.objects.create(
        decision=original, original_subject="s", original_markdown="a", original_content_hash="a" * 64,
        edited_subject="s", edited_markdown="b", edited_content_hash="b" * 64, diff={}, idempotency_key="edit-1",
    )  # fmt: skip
    edited_version = seed_decision(reviewer, kind="refund")  # the outbox's approval of the edited email
    type(edited_version.draft).objects.filter(pk=edited_version.draft_id).update(edit_of=original.draft)
    seed_decision(reviewer, kind="refund")
    (cell,) = evidence(default_selection()).by_cell
    figures = cell[2]
    assert figures.decisions == 2
    assert (figures.outcomes["approved_edited"], figures.outcomes["approved_unedited"]) == (1, 1)
