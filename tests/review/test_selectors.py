from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reviewqueue.review.claims import draft_claim
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.selectors import (
    QueueFilters,
    QueueState,
    draft_detail,
    queue_neighbour_id,
    queue_neighbours,
    queue_page,
    queue_state,
)
from tests.conftest import make_user
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db


def drafts(count, prefix="em", **fields):
    now = timezone.now()
    return [
        received_draft(f"{prefix}_{n}", waiting_since=now - timedelta(minutes=count - n), **fields)
        for n in range(count)
    ]


def queries(function):
    with CaptureQueriesContext(connection) as captured:
        function()
    return len(captured.captured_queries)


def test_the_queue_costs_the_same_queries_for_three_drafts_or_thirty(reviewer, django_user_model):
    few = drafts(3)
    draft_claim(draft=few[0], reviewer=reviewer)
    small = queries(lambda: queue_page(user=reviewer))
    many = drafts(27, prefix="more")
    for draft in many[:10]:
        draft_claim(draft=draft, reviewer=django_user_model.objects.create(username=f"u{draft.pk}"))
    assert queries(lambda: [d.claim_holder for d in queue_page(user=reviewer).drafts]) == small == 2


def test_the_queue_puts_the_longest_waiting_customer_first_and_pages(reviewer):
    made = drafts(5)
    page = queue_page(user=reviewer, per_page=2)
    assert [d.pk for d in page.drafts] == [made[0].pk, made[1].pk]
    assert (page.total, page.has_next, page.pages) == (5, True, 3)
    assert [d.pk for d in queue_page(user=reviewer, page=3, per_page=2).drafts] == [made[4].pk]


def test_filters_by_mailbox_flag_and_claimed_by_me(reviewer, django_user_model):
    mine, other_box, flagged, theirs = drafts(4)
    type(mine).objects.filter(pk=other_box.pk).update(mailbox_id="mbx_2")
    type(mine).objects.filter(pk=flagged.pk).update(flag_spam=True)
    draft_claim(draft=mine, reviewer=reviewer)
    draft_claim(draft=theirs, reviewer=make_user(django_user_model, "sam", "reviewer"))
    ids = lambda **f: [d.pk for d in queue_page(user=reviewer, filters=QueueFilters(**f)).drafts]  # noqa: E731
    assert ids(mailbox_id="mbx_2") == [other_box.pk]
    assert ids(flag="spam") == [flagged.pk]
    assert ids(claimed_by_me=True) == [mine.pk]
    with pytest.raises(ValueError, match="unknown flag"):
        QueueFilters(flag="purple")


def test_decided_drafts_leave_the_queue_and_the_next_one_opens(reviewer, broker):
    first, second, third = drafts(3)
    draft_decide(draft=first, reviewer=reviewer, action="approve", reason="", origin="web")
    assert [d.pk for d in queue_page(user=reviewer).drafts] == [second.pk, third.pk]
    assert queue_neighbour_id(user=reviewer, draft=first) == second.pk
    assert queue_neighbour_id(user=reviewer, draft=second) == third.pk
    assert queue_neighbour_id(user=reviewer, draft=third, previous=True) == second.pk


def test_the_draft_page_reads_in_three_queries(reviewer, broker):
    draft = drafts(1)[0]
    draft_decide(draft=draft, reviewer=reviewer, action="approve", reason="", origin="web")
    assert queries(lambda: draft_detail(draft_id=draft.pk)) <= 3
    detail = draft_detail(draft_id=draft.pk)
    assert detail.decision.reviewer_username == "rita"
    assert detail.outbox_items[0].kind == "decide"
    assert draft_detail(draft_id=999_999) is None


def test_neighbours_follow_queue_order_ties_broken_by_id_and_next_wraps(reviewer, broker):
    first, tied_a, tied_b, last = drafts(4)
    type(first).objects.filter(pk=tied_b.pk).update(waiting_since=tied_a.waiting_since)
    for draft in (first, tied_a, tied_b, last):
        draft.refresh_from_db()
    assert queue_neighbours(draft=first) == (tied_a.pk, None)
    assert queue_neighbours(draft=tied_a) == (tied_b.pk, first.pk)
    assert queue_neighbours(draft=tied_b) == (last.pk, tied_a.pk)
    assert queue_neighbours(draft=last) == (first.pk, tied_b.pk)  # next wraps to the first
    draft_decide(draft=tied_a, reviewer=reviewer, action="approve", reason="", origin="web")
    assert queue_neighbours(draft=tied_a) == (tied_b.pk, first.pk)  # a decided draft keeps its place
    assert queue_neighbours(draft=first) == (tied_b.pk, None)
    for draft in (first, tied_b, last):
        assert queue_neighbours(draft=draft)[0] == queue_neighbour_id(user=reviewer, draft=draft)
        assert queue_neighbours(draft=draft)[1] == queue_neighbour_id(user=reviewer, draft=draft, previous=True)


def test_the_queue_state_is_what_the_page_shows_with_live_claims_only(reviewer, django_user_model):
    from reviewqueue.review.models import Claim

    made = drafts(5)
    sam = make_user(django_user_model, "sam", "reviewer")
    draft_claim(draft=made[1], reviewer=sam)
    draft_claim(draft=made[3], reviewer=reviewer)
    Claim.objects.filter(draft=made[3]).update(expires_at=timezone.now() - timedelta(seconds=1))
    for number in (1, 2, 9):
        page = queue_page(user=reviewer, page=number, per_page=2)
        state = queue_state(user=reviewer, page=number, per_page=2)
        assert state == QueueState.of(page)
    rows = queue_state(user=reviewer).rows
    assert [row[2] for row in rows] == [None, sam.pk, None, None, None]  # the expired claim shows nobody
    assert queries(lambda: queue_state(user=reviewer)) == 2
