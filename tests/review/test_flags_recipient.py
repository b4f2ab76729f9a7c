"""The "recipient not a contact" flag, as Intercom really sends conversations: contacts carry ids, not emails."""

from dataclasses import replace

from reviewqueue.integrations.intercom.types import ContactRef, ConversationPart
from reviewqueue.review.flags import draft_flags
from tests.review.page_helpers import AGENT, CUSTOMER, customer_part, make_conversation


def flags_for(to, conversation):
    return draft_flags(to=to, markdown="", attachments=[], spam_verdict="", written_at=None, conversation=conversation)


def id_only_contacts(conversation):
    return replace(conversation, contacts=[ContactRef(id="u1", external_id="", email="")])


def test_the_customer_who_wrote_in_is_a_contact_even_when_contacts_carry_only_ids():
    conversation = id_only_contacts(make_conversation())
    assert not flags_for(["ana@customer.example"], conversation).recipient_not_contact


def test_a_named_address_is_compared_by_its_address():
    conversation = id_only_contacts(make_conversation())
    assert not flags_for(["Ana Customer <Ana@Customer.example>"], conversation).recipient_not_contact


def test_someone_outside_the_conversation_is_flagged():
    conversation = id_only_contacts(make_conversation())
    assert flags_for(["mallory@elsewhere.example"], conversation).recipient_not_contact


def test_a_teammate_who_wrote_in_the_thread_does_not_make_their_address_a_contact():
    note = ConversationPart(id="n1", part_type="note", body="fyi", created_at=None, author=AGENT)
    conversation = id_only_contacts(make_conversation(parts=[note]))
    assert flags_for([AGENT.email], conversation).recipient_not_contact


def test_a_customer_reply_author_counts_as_a_contact():
    from datetime import UTC, datetime

    reply = customer_part("p1", "hi", at=datetime(2026, 11, 25, tzinfo=UTC))
    conversation = id_only_contacts(make_conversation(parts=[reply]))
    assert CUSTOMER.email == "ana@customer.example"
    assert not flags_for([CUSTOMER.email], conversation).recipient_not_contact
