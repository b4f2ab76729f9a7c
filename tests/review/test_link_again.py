"""A draft linked by recipient is linked again later when Intercom's search has not caught up yet.

Intercom's search finds a new contact only after a lag (contracts/intercom.md); the Intercom
sandbox plays it with its search_lag knob, served in-process through the contract checker.
"""

import time
from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from reviewqueue.audit.services import Actor
from reviewqueue.integrations.intercom.client import IntercomClient
from reviewqueue.review.ingest import draft_receive
from reviewqueue.review.linking import drafts_to_link_again
from reviewqueue.review.models import Draft
from reviewqueue.review.tasks import draft_fetch_task, outbox_sweep_task
from reviewqueue.sandbox.intercom import defaults
from reviewqueue.sandbox.intercom.app import Knobs, make_app
from tests.integrations.intercom.contract import ValidatingTransport
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db

CUSTOMER = "new.customer@example.com"


@pytest.fixture
def clock():
    return [time.time()]


@pytest.fixture
def lagging_intercom(clock):
    """The Intercom sandbox with a two-minute search lag, on a clock the test moves."""
    sandbox = make_app(knobs=Knobs(search_lag=120), clock=lambda: clock[0])
    yield sandbox
    sandbox.close()


@pytest.fixture
def clients(lagging_intercom, multimail, monkeypatch):
    """Tasks build their clients through these factories: the sandbox's and the MultiMail fake's."""
    intercom = IntercomClient(
        base_url="http://intercom-lag.test",
        access_token=defaults.ACCESS_TOKEN,
        admin_id=defaults.ADMIN_ID,
        transport=ValidatingTransport(lagging_intercom),
        sleep=lambda s: None,
    )
    mm = multimail.client()
    monkeypatch.setattr("reviewqueue.integrations.multimail.client.get_multimail_client", lambda: mm)
    monkeypatch.setattr("reviewqueue.integrations.intercom.client.get_intercom_client", lambda **_: intercom)
    yield
    intercom.close()


def _fetches_queued(broker, draft_id: int) -> int:
    return broker.queued().count(("review.draft_fetch", [draft_id, True]))


def test_a_draft_whose_search_first_finds_nothing_is_linked_once_the_lag_passes(
    broker, lagging_intercom, multimail, clients, clock
):
    contact = lagging_intercom.state.contact_create(email=CUSTOMER, name="New Customer")
    conversation, _ = lagging_intercom.state.conversation_create(contact_id=contact["id"], body="<p>Where is it?</p>")
    multimail.add_email("em_1", to=[CUSTOMER])  # no intercom_conversation_id tag: linked by recipient
    draft, _ = draft_receive(
        email_id="em_1", mailbox_id="mbx_1", source="webhook", actor=Actor.system("t"), fetch=False
    )

    draft_fetch_task.apply(args=(draft.pk,))
    draft.refresh_from_db()
    assert (draft.conversation_id, draft.fetched_at is not None) == ("", True)  # Intercom's search: nobody yet

    broker.flush()
    outbox_sweep_task.apply()
    assert _fetches_queued(broker, draft.pk) == 0  # too soon to ask again

    # A minute on: the draft was received and fetched a minute ago, and Intercom's index caught up.
    minute = timedelta(minutes=1)
    Draft.objects.filter(pk=draft.pk).update(created_at=F("created_at") - minute, fetched_at=F("fetched_at") - minute)
    clock[0] += 120
    broker.flush()
    outbox_sweep_task.apply()
    assert _fetches_queued(broker, draft.pk) == 1

    draft_fetch_task.apply(args=(draft.pk, True))  # the queued task, run here
    draft.refresh_from_db()
    assert (draft.conversation_id, draft.conversation_link) == (conversation["id"], Draft.ConversationLink.GUESS)
    assert draft.snapshot_id is not None

    broker.flush()
    outbox_sweep_task.apply()
    assert _fetches_queued(broker, draft.pk) == 0  # linked: never again


@pytest.mark.parametrize(
    ("created_ago", "fetched_ago", "due"),
    [
        (10, 10, False),  # the first gap (30 s) has not passed
        (40, 40, True),  # fetched on arrival, 40 s ago
        (240, 60, False),  # four minutes old at 3 minutes: wait as long again
        (400, 210, True),  # 190 s old at its last fetch, 210 s ago
        (16 * 60, 8 * 60, False),  # older than the window: given up on
    ],
)
def test_the_gaps_double_and_stop_after_the_window(created_ago, fetched_ago, due):
    now = timezone.now()
    draft = received_draft(
        conversation_id="",
        created_at=now - timedelta(seconds=created_ago),
        fetched_at=now - timedelta(seconds=fetched_ago),
    )
    assert (draft.pk in drafts_to_link_again(now)) is due


def test_only_pending_drafts_with_a_recipient_and_no_conversation_are_linked_again():
    now, long_ago = timezone.now(), timezone.now() - timedelta(minutes=2)
    unlinked = received_draft("em_1", created_at=long_ago, fetched_at=long_ago)
    received_draft("em_2", created_at=long_ago, fetched_at=long_ago, conversation_id="1001", conversation_link="guess")
    received_draft("em_3", created_at=long_ago, fetched_at=long_ago, to=[])
    received_draft("em_4", created_at=long_ago, fetched_at=long_ago, status=Draft.Status.DECIDED_ELSEWHERE)
    received_draft("em_5", created_at=long_ago, fetched_at=None)  # never fetched: the sweeper's other half
    assert drafts_to_link_again(now) == [unlinked.pk]
