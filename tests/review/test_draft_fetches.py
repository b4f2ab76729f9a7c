"""review.draft_fetches: several drafts' fetches from one message (intake's follow-up batches queue them so),
each draft keeping review.draft_fetch's retries."""

import json

import pytest

from reviewqueue.review import enqueue
from reviewqueue.review.models import Draft
from reviewqueue.review.tasks import draft_fetches_task
from tests.broker import QUEUE
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db


def unfetched(multimail, email_id: str) -> Draft:
    multimail.add_email(email_id)
    draft = received_draft(email_id)
    Draft.objects.filter(pk=draft.pk).update(fetched_at=None)
    return draft


def fetched(*drafts: Draft) -> list[bool]:
    return [Draft.objects.get(pk=draft.pk).fetched_at is not None for draft in drafts]


def test_one_message_fetches_each_of_its_drafts(use_fakes, multimail, broker):
    drafts = [unfetched(multimail, f"em_{n}") for n in (1, 2, 3)]
    assert draft_fetches_task.apply(args=([[draft.pk, False] for draft in drafts],)).get() == 3
    assert fetched(*drafts) == [True, True, True]
    assert broker.queued() == []


def test_a_draft_that_fails_transiently_is_queued_on_its_own_as_draft_fetchs_first_retry(use_fakes, multimail, broker):
    first, second, third = (unfetched(multimail, f"em_{n}") for n in (1, 2, 3))
    multimail.fail[("GET", "/v1/mailboxes/mbx_1/emails/em_2")] = (503, {"error": "unavailable"})
    assert draft_fetches_task.apply(args=([[first.pk, False], [second.pk, True], [third.pk, False]],)).get() == 2
    assert fetched(first, second, third) == [True, False, True]
    assert broker.queued() == [("review.draft_fetch", [second.pk, True])]
    headers = json.loads(broker.redis.lindex(QUEUE, 0))["headers"]
    assert (headers["retries"], headers["eta"] is not None) == (1, True)  # what draft_fetch_task's retry sends


def test_a_draft_that_fails_otherwise_is_left_to_the_sweeper_and_the_others_are_fetched(use_fakes, multimail, broker):
    first, gone, third = (unfetched(multimail, f"em_{n}") for n in (1, 2, 3))
    Draft.objects.filter(pk=gone.pk).delete()
    assert draft_fetches_task.apply(args=([[first.pk, False], [gone.pk, False], [third.pk, False]],)).get() == 2
    assert fetched(first, third) == [True, True]
    assert broker.queued() == []


def test_a_batch_of_fetches_is_queued_a_few_drafts_to_a_message(broker):
    drafts = [(draft_id, draft_id % 2 == 0) for draft_id in range(1, 2 * enqueue.FETCHES_PER_MESSAGE + 2)]
    enqueue.draft_fetches(drafts)
    queued = broker.queued()
    assert [name for name, _ in queued] == ["review.draft_fetches"] * 3
    assert [tuple(draft) for _, (batch,) in queued for draft in batch] == drafts
