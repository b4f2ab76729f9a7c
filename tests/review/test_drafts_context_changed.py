import pytest

from reviewqueue.integrations.intercom.services import snapshot_refresh
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.errors import ConversationChangedSinceOpened
from reviewqueue.review.ingest import draft_fetch, drafts_context_changed
from reviewqueue.review.models import Draft
from tests.review.conftest import received_draft
from tests.review.test_draft_fetch import WRITTEN

pytestmark = pytest.mark.django_db


@pytest.fixture
def fetched(db, multimail, intercom):
    contact = intercom.add_contact("customer@example.com")
    intercom.add_conversation("c_7", contact=contact)
    multimail.add_email("em_1", tags={"intercom_conversation_id": "c_7"})
    draft = received_draft()
    Draft.objects.filter(pk=draft.pk).update(fetched_at=None)
    return draft_fetch(draft_id=draft.pk, multimail=multimail.client(), intercom=intercom.client())


def customer_replies(intercom, text="Actually, cancel it"):
    intercom.add_part("c_7", author_type="user", body=text, created_at=WRITTEN + 120)
    return snapshot_refresh(conversation_id="c_7", client=intercom.client())


def test_a_customer_reply_after_the_draft_flags_it(fetched, intercom):
    assert not fetched.flag_customer_replied
    snapshot = customer_replies(intercom)
    assert drafts_context_changed(conversation_id="c_7", snapshot_id=snapshot.pk) == 1
    draft = Draft.objects.get(pk=fetched.pk)
    assert draft.flag_customer_replied
    assert draft.latest_snapshot_id == snapshot.pk
    assert draft.snapshot_id == fetched.snapshot_id  # the ingest snapshot is kept


def test_the_same_snapshot_again_changes_nothing(fetched, intercom):
    snapshot = customer_replies(intercom)
    drafts_context_changed(conversation_id="c_7", snapshot_id=snapshot.pk)
    assert drafts_context_changed(conversation_id="c_7", snapshot_id=snapshot.pk) == 0


def test_approving_after_the_conversation_changed_asks_for_confirmation(fetched, intercom, reviewer, broker):
    shown = fetched.latest_snapshot_id
    snapshot = customer_replies(intercom, "Actually, cancel it")
    drafts_context_changed(conversation_id="c_7", snapshot_id=snapshot.pk)
    with pytest.raises(ConversationChangedSinceOpened) as asked:
        draft_decide(
            draft=fetched, reviewer=reviewer, action="approve", reason="", origin="web", shown_snapshot_id=shown
        )
    assert any("cancel it" in change for change in asked.value.changes)
    assert asked.value.snapshot_id == snapshot.pk
    decision = draft_decide(
        draft=fetched,
        reviewer=reviewer,
        action="approve",
        reason="",
        origin="web",
        shown_snapshot_id=shown,
        confirm_changed=True,
    )
    assert decision.snapshot_id == shown


def test_rejecting_after_the_conversation_changed_needs_no_confirmation(fetched, intercom, reviewer, broker):
    shown = fetched.latest_snapshot_id
    snapshot = customer_replies(intercom)
    drafts_context_changed(conversation_id="c_7", snapshot_id=snapshot.pk)
    decision = draft_decide(
        draft=fetched,
        reviewer=reviewer,
        action="reject",
        reason="Customer cancelled",
        origin="web",
        shown_snapshot_id=shown,
    )
    assert decision.action == "reject"


def test_the_same_snapshot_again_leaves_the_draft_untouched(fetched, intercom):
    """A re-read that found the conversation unchanged (the background refresh) writes no draft: the
    queue page's poll sends rows whose updated_at moved, so every such re-read re-sent them."""
    snapshot = customer_replies(intercom)
    drafts_context_changed(conversation_id="c_7", snapshot_id=snapshot.pk)
    before = Draft.objects.get(pk=fetched.pk)

    drafts_context_changed(conversation_id="c_7", snapshot_id=snapshot.pk)

    after = Draft.objects.get(pk=fetched.pk)
    assert after.updated_at == before.updated_at
    assert (after.latest_snapshot_id, after.flag_customer_replied) == (snapshot.pk, True)
