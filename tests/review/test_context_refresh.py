"""The conversation beside a draft is read again ahead of the reviewer (review/context.py), not in the approval.

Opening a draft queues a background re-read of its conversation and the next drafts' (those whose
snapshots Intercom last confirmed more than CONTEXT_MAX_AGE/2 ago); the queue page does so for its
first rows. A re-read that finds a change stores it as the approval's re-check does, so the stale-
context guard refuses the view shown before (409 conversation_changed); one that finds none lets the
approval go through without asking Intercom. Messages are really published to this run's Redis
(tests/broker.py) and run here by calling the task, as the worker would; Intercom and MultiMail are
faked at the HTTP boundary (tests/fakes.py).
"""

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from reviewqueue.audit.services import Actor
from reviewqueue.integrations.intercom.models import ConversationSnapshot
from reviewqueue.review.context import DEDUPE_PREFIX, drafts_context_refresh
from reviewqueue.review.ingest import draft_fetch, draft_receive
from reviewqueue.review.models import Decision, Draft
from reviewqueue.review.tasks import context_refresh_task
from tests.conftest import logged_in_client
from tests.review.test_draft_fetch import WRITTEN
from tests.surfaces import vendors_patched

pytestmark = pytest.mark.django_db

REFRESH = "review.context_refresh"
CANCEL = "Actually, please cancel my order instead!"


@pytest.fixture
def vendors(monkeypatch, settings, broker):
    settings.CONTEXT_MAX_AGE = 60
    multimail, intercom = vendors_patched(monkeypatch)
    intercom.conversations.clear()
    multimail.emails.clear()
    return multimail, intercom


@pytest.fixture
def drafts(vendors) -> list[Draft]:
    """Eight drafts in queue order, each on its own conversation (c_1 waited longest), fetched as the poll does."""
    multimail, intercom = vendors
    held = []
    for n in range(1, 9):
        contact = intercom.add_contact(f"customer{n}@example.com")
        intercom.add_conversation(f"c_{n}", contact=contact, updated_at=1_764_000_000 + 60 * n)
        multimail.add_email(f"em_{n}", to=[contact["email"]], tags={"intercom_conversation_id": f"c_{n}"})
        received, _ = draft_receive(
            email_id=f"em_{n}", mailbox_id="mbx_1", source="poll", actor=Actor.system("t"), fetch=False
        )
        held.append(draft_fetch(draft_id=received.pk))
    assert [d.conversation_id for d in Draft.objects.order_by("waiting_since", "id")] == [f"c_{n}" for n in range(1, 9)]
    return held


def confirmed_ago(seconds: float) -> None:
    """Every snapshot last confirmed by Intercom `seconds` ago."""
    ConversationSnapshot.objects.update(checked_at=timezone.now() - timedelta(seconds=seconds))


def open_draft(client, draft):
    return client.get(reverse("review:draft", args=[draft.pk]))


def refreshes(broker) -> list[list[int]]:
    return [args[0] for name, args in broker.queued() if name == REFRESH]


def run_queued(broker) -> None:
    """What the worker does with the refreshes queued: the task, called with each message's arguments."""
    for draft_ids in refreshes(broker):
        context_refresh_task(draft_ids)
    broker.flush()


def approve(client, draft, shown_snapshot_id):
    return client.post(
        reverse("review:draft_decision", args=[draft.pk]), {"action": "approve", "shown_snapshot_id": shown_snapshot_id}
    )


def test_opening_a_draft_queues_a_refresh_of_it_and_of_the_drafts_next_lands_on(drafts, reviewer, broker):
    confirmed_ago(45)  # past half of CONTEXT_MAX_AGE
    response = open_draft(logged_in_client(reviewer), drafts[1])
    assert response.status_code == 200
    assert refreshes(broker) == [[d.pk for d in drafts[1:7]]]  # this one and the next five, in queue order


def test_snapshots_confirmed_lately_queue_nothing(drafts, reviewer, broker):
    confirmed_ago(10)
    assert open_draft(logged_in_client(reviewer), drafts[0]).status_code == 200
    assert broker.queued() == []


def test_only_the_drafts_whose_snapshots_are_stale_are_refreshed(drafts, reviewer, broker):
    confirmed_ago(10)
    ConversationSnapshot.objects.filter(conversation_id__in=["c_2", "c_5"]).update(
        checked_at=timezone.now() - timedelta(seconds=45)
    )
    open_draft(logged_in_client(reviewer), drafts[0])
    assert refreshes(broker) == [[drafts[1].pk, drafts[4].pk]]


def test_showing_the_queue_queues_a_refresh_of_its_first_rows(drafts, reviewer, broker):
    confirmed_ago(90)
    assert logged_in_client(reviewer).get(reverse("review:queue")).status_code == 200
    assert refreshes(broker) == [[d.pk for d in drafts[:5]]]


def test_repeated_views_queue_one_refresh_per_conversation(drafts, reviewer, broker):
    confirmed_ago(90)
    client = logged_in_client(reviewer)
    open_draft(client, drafts[0])
    open_draft(client, drafts[0])
    client.get(reverse("review:queue"))
    open_draft(client, drafts[1])  # only the one conversation not queued before: c_7
    assert refreshes(broker) == [[d.pk for d in drafts[:6]], [drafts[6].pk]]


def test_a_refresh_that_finds_a_change_stores_it_and_the_view_shown_before_is_refused(
    drafts, reviewer, vendors, broker
):
    _, intercom = vendors
    confirmed_ago(45)
    client = logged_in_client(reviewer)
    draft = drafts[0]
    shown = Draft.objects.get(pk=draft.pk).latest_snapshot_id
    assert f'name="shown_snapshot_id" value="{shown}"' in open_draft(client, draft).content.decode()
    intercom.add_part("c_1", author_type="user", body=f"<p>{CANCEL}</p>", created_at=WRITTEN + 120)  # no webhook

    run_queued(broker)

    refreshed = Draft.objects.get(pk=draft.pk)
    assert refreshed.latest_snapshot_id != shown
    assert refreshed.flag_customer_replied
    fetches = intercom.calls["get_conversation"]
    response = approve(client, draft, shown)
    assert response.status_code == 409
    assert 'id="conversation-changed"' in response.content.decode() and CANCEL in response.content.decode()
    assert intercom.calls["get_conversation"] == fetches  # the latest snapshot is fresh: not read again
    assert not Decision.objects.exists()


def test_after_a_refresh_approving_asks_intercom_nothing(drafts, reviewer, vendors, broker):
    _, intercom = vendors
    confirmed_ago(5 * 60)  # without the refresh, the approval would read the conversation itself
    client = logged_in_client(reviewer)
    draft = drafts[0]
    shown = Draft.objects.get(pk=draft.pk).latest_snapshot_id
    open_draft(client, draft)
    run_queued(broker)
    assert Draft.objects.get(pk=draft.pk).latest_snapshot_id == shown  # nothing changed: the same snapshot
    fetches = intercom.calls["get_conversation"]

    response = approve(client, draft, shown)

    assert response.status_code == 302
    assert intercom.calls["get_conversation"] == fetches
    decision = Decision.objects.get()
    assert (decision.snapshot_id, decision.context_recheck_error) == (shown, "")


def test_the_approval_still_reads_a_stale_conversation_itself_when_no_refresh_ran(drafts, reviewer, vendors, broker):
    _, intercom = vendors
    confirmed_ago(5 * 60)
    client = logged_in_client(reviewer)
    draft = drafts[0]
    shown = Draft.objects.get(pk=draft.pk).latest_snapshot_id
    open_draft(client, draft)  # queued, but no worker took it
    fetches = intercom.calls["get_conversation"]
    assert approve(client, draft, shown).status_code == 302
    assert intercom.calls["get_conversation"] == fetches + 1  # the safety net


def test_a_refresh_reads_only_what_is_still_stale_when_it_runs(drafts, vendors):
    _, intercom = vendors
    confirmed_ago(45)
    ConversationSnapshot.objects.filter(conversation_id="c_2").update(checked_at=timezone.now())  # e.g. a webhook
    fetches = intercom.calls["get_conversation"]
    assert drafts_context_refresh(draft_ids=[drafts[0].pk, drafts[1].pk, drafts[2].pk]) == 2
    assert intercom.calls["get_conversation"] == fetches + 2


def test_intercom_down_during_a_refresh_is_left_to_the_approval(drafts, vendors):
    _, intercom = vendors
    confirmed_ago(90)
    intercom.down = True
    assert drafts_context_refresh(draft_ids=[drafts[0].pk]) == 0  # logged, not raised: nothing to retry


def test_a_broker_outage_does_not_break_the_page_nor_hold_it_up(drafts, reviewer, broker, broker_down):
    confirmed_ago(90)
    client = logged_in_client(reviewer)
    client.get(reverse("review:queue"))  # the session and the first request's costs out of the timing
    started = time.monotonic()
    response = open_draft(client, drafts[5])
    assert response.status_code == 200
    assert time.monotonic() - started < 1.0
    # Not queued, so not marked as queued: the next view, once the broker is back, queues it.
    assert not broker.redis.exists(DEDUPE_PREFIX + "c_6")
    broker_down()
    open_draft(client, drafts[5])
    assert refreshes(broker) == [[d.pk for d in drafts[5:]]]


def test_with_no_context_max_age_nothing_is_queued(drafts, reviewer, broker, settings):
    settings.CONTEXT_MAX_AGE = 0  # every approval reads the conversation itself
    confirmed_ago(90)
    open_draft(logged_in_client(reviewer), drafts[0])
    assert broker.queued() == []
