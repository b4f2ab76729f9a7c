import pytest

from reviewqueue.audit.models import AuditEvent
from reviewqueue.integrations.intercom.models import ConversationSnapshot
from reviewqueue.integrations.intercom.services import content_hash
from reviewqueue.review.ingest import draft_fetch
from reviewqueue.review.models import Draft
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db

WRITTEN = 1_795_600_800  # 2026-11-25T10:00:00Z, the fake email's received_at


def fetch(draft, multimail, intercom, refresh=False):
    return draft_fetch(draft_id=draft.pk, refresh=refresh, multimail=multimail.client(), intercom=intercom.client())


@pytest.fixture
def unfetched(db):
    draft = received_draft()
    Draft.objects.filter(pk=draft.pk).update(fetched_at=None)
    return Draft.objects.get(pk=draft.pk)


def test_fetching_fills_the_draft_from_the_full_email(unfetched, multimail, intercom):
    multimail.add_email(
        "em_1", cc=["boss@example.com"], attachments=[{"name": "a.pdf", "content_type": "application/pdf", "size": 9}]
    )
    draft = fetch(unfetched, multimail, intercom)
    assert draft.cc == ["boss@example.com"]
    assert draft.subject == "Re: order em_1"
    assert draft.flag_attachments
    assert draft.attachments == [{"name": "a.pdf", "content_type": "application/pdf", "size": 9}]
    assert len(draft.content_hash) == 64
    assert draft.fetched_at is not None


def test_the_conversation_tag_links_the_conversation_and_takes_a_snapshot(unfetched, multimail, intercom):
    contact = intercom.add_contact("customer@example.com")
    intercom.add_conversation("c_7", contact=contact)
    multimail.add_email("em_1", tags={"intercom_conversation_id": "c_7"})
    draft = fetch(unfetched, multimail, intercom)
    assert (draft.conversation_id, draft.conversation_link) == ("c_7", "tag")
    assert draft.snapshot_id is not None and draft.snapshot_id == draft.latest_snapshot_id
    assert draft.waiting_since.timestamp() == 1_764_000_000 - 1800
    assert not draft.flag_recipient_not_contact
    assert intercom.calls["search_contacts"] == 0


def test_the_snapshot_stores_the_conversation_under_its_content_hash_and_a_refetch_keeps_it(
    unfetched, multimail, intercom
):
    contact = intercom.add_contact("customer@example.com")
    intercom.add_conversation("c_7", contact=contact)
    multimail.add_email("em_1", tags={"intercom_conversation_id": "c_7"})
    draft = fetch(unfetched, multimail, intercom)
    stored = ConversationSnapshot.objects.get(pk=draft.snapshot_id)
    assert stored.data == intercom.client().get_conversation("c_7").to_data()
    assert stored.content_hash == content_hash(stored.data)
    again = fetch(draft, multimail, intercom, refresh=True)
    assert again.latest_snapshot_id == stored.pk
    assert ConversationSnapshot.objects.count() == 1


def test_without_a_tag_the_recipients_open_conversation_is_linked_as_a_guess(unfetched, multimail, intercom):
    contact = intercom.add_contact("customer@example.com")
    intercom.add_conversation("c_old", contact=contact, updated_at=1_700_000_000)
    intercom.add_conversation("c_new", contact=contact, updated_at=1_764_000_000)
    multimail.add_email("em_1")
    draft = fetch(unfetched, multimail, intercom)
    assert (draft.conversation_id, draft.conversation_link) == ("c_new", "guess")


def test_a_customer_reply_after_the_draft_was_written_is_flagged(unfetched, multimail, intercom):
    contact = intercom.add_contact("customer@example.com")
    intercom.add_conversation("c_7", contact=contact)
    intercom.add_part("c_7", author_type="user", body="Never mind, found it", created_at=WRITTEN + 60)
    multimail.add_email("em_1", tags={"intercom_conversation_id": "c_7"})
    assert fetch(unfetched, multimail, intercom).flag_customer_replied


def test_a_reply_before_the_draft_was_written_is_not_flagged(unfetched, multimail, intercom):
    contact = intercom.add_contact("customer@example.com")
    intercom.add_conversation("c_7", contact=contact)
    intercom.add_part("c_7", author_type="user", body="Any news?", created_at=WRITTEN - 60)
    multimail.add_email("em_1", tags={"intercom_conversation_id": "c_7"})
    assert not fetch(unfetched, multimail, intercom).flag_customer_replied


def test_a_recipient_who_is_not_a_contact_of_the_conversation_is_flagged(unfetched, multimail, intercom):
    contact = intercom.add_contact("customer@example.com")
    intercom.add_conversation("c_7", contact=contact)
    multimail.add_email("em_1", to=["stranger@elsewhere.test"], tags={"intercom_conversation_id": "c_7"})
    assert fetch(unfetched, multimail, intercom).flag_recipient_not_contact


def test_spam_and_links_to_unseen_domains_are_flagged(unfetched, multimail, intercom):
    contact = intercom.add_contact("customer@example.com")
    intercom.add_conversation("c_7", contact=contact)
    markdown = "Track it at https://shop.acme.test/orders/1 or [here](https://evil-tracker.test/x)"
    multimail.add_email("em_1", markdown=markdown, spam_verdict="suspicious", tags={"intercom_conversation_id": "c_7"})
    draft = fetch(unfetched, multimail, intercom)
    assert draft.flag_spam
    assert draft.flag_unknown_links
    assert draft.unknown_link_domains == ["evil-tracker.test"]


def test_a_clean_draft_has_no_flags(unfetched, multimail, intercom):
    contact = intercom.add_contact("customer@example.com")
    intercom.add_conversation("c_7", contact=contact)
    multimail.add_email("em_1", tags={"intercom_conversation_id": "c_7"})
    assert fetch(unfetched, multimail, intercom).flags == []


def test_an_email_no_longer_pending_is_shown_as_decided_elsewhere(unfetched, multimail, intercom):
    multimail.add_email("em_1", status="rejected")
    draft = fetch(unfetched, multimail, intercom)
    assert draft.status == Draft.Status.DECIDED_ELSEWHERE
    assert "rejected" in draft.status_detail
    assert AuditEvent.objects.filter(action="draft.decided_elsewhere", target_id=str(draft.pk)).exists()


def test_a_status_longer_than_its_column_is_stored_cut_to_it_and_kept_whole_in_the_detail(
    unfetched, multimail, intercom
):
    long_status = "rejected_" + "by_a_rule_whose_name_runs_on_" * 4
    multimail.add_email("em_1", status=long_status)
    draft = fetch(unfetched, multimail, intercom)
    assert draft.status == Draft.Status.DECIDED_ELSEWHERE
    assert Draft.objects.get(pk=draft.pk).email_status == long_status[:64]
    assert long_status in draft.status_detail


def test_an_email_multimail_does_not_know_is_marked_failed_with_the_reason(unfetched, multimail, intercom):
    draft = fetch(unfetched, multimail, intercom)
    assert draft.status == Draft.Status.FAILED
    assert "404" in draft.fetch_error


def test_intercom_down_leaves_the_draft_reviewable_and_says_why(unfetched, multimail, intercom):
    multimail.add_email("em_1", tags={"intercom_conversation_id": "c_7"})
    intercom.down = True
    draft = fetch(unfetched, multimail, intercom)
    assert draft.status == Draft.Status.PENDING
    assert draft.conversation_id == "c_7"
    assert "could not be loaded" in draft.fetch_error


def test_the_mailbox_address_and_name_come_from_the_mailbox_mirror(unfetched, multimail, intercom):
    from reviewqueue.routing.models import Mailbox

    Mailbox.objects.create(mailbox_id="mbx_1", address="help@acme.test", display_name="Acme Help")
    multimail.add_email("em_1")
    draft = fetch(unfetched, multimail, intercom)
    assert (draft.mailbox_address, draft.mailbox_display_name) == ("help@acme.test", "Acme Help")
    assert draft.from_address == "support@acme.test"  # the sender identity the recipient sees
