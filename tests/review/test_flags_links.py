"""The unknown-links flag: a draft's link is "seen" only when the conversation (or our own domains)
named a host of the same registrable domain, by the Public Suffix List."""

from datetime import UTC, datetime

import pytest

from reviewqueue.review.domains import registrable_domain
from reviewqueue.review.flags import draft_flags
from tests.review.page_helpers import customer_part, make_conversation


def unknown_links(draft_markdown: str, *thread: str, own_domains=frozenset()) -> list[str]:
    at = datetime(2026, 11, 25, 9, 5, tzinfo=UTC)
    parts = [customer_part(f"p{n}", body, at=at) for n, body in enumerate(thread)]
    flags = draft_flags(
        to=["ana@customer.example"],
        markdown=draft_markdown,
        attachments=[],
        spam_verdict="clean",
        written_at=None,
        conversation=make_conversation(parts=parts),
        own_domains=set(own_domains),
    )
    return flags.unknown_link_domains


@pytest.mark.parametrize(
    ("host", "registrable"),
    [
        ("shop.co.uk", "shop.co.uk"),
        ("www.shop.co.uk", "shop.co.uk"),
        ("evil.co.uk", "evil.co.uk"),
        ("store.example.com.au", "example.com.au"),
        ("docs.alice.github.io", "alice.github.io"),
        ("WWW.Example.COM.", "example.com"),
        ("münchen.de", "xn--mnchen-3ya.de"),
        ("shop.xn--mnchen-3ya.de", "xn--mnchen-3ya.de"),
        ("192.168.0.1", "192.168.0.1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("localhost", "localhost"),
        ("co.uk", "co.uk"),
    ],
)
def test_registrable_domain_follows_the_public_suffix_list(host, registrable):
    assert registrable_domain(host) == registrable


def test_a_co_uk_shop_in_the_thread_does_not_vouch_for_another_co_uk_domain():
    thread = "I ordered from https://shop.co.uk/orders/18 last week"
    assert unknown_links("[Refund form](https://evil.co.uk/refund)", thread) == ["evil.co.uk"]
    assert unknown_links("[Your order](https://www.shop.co.uk/orders/18)", thread) == []


def test_a_com_au_domain_is_registrable_at_three_labels():
    thread = "My receipt is at https://receipts.example.com.au/r/1"
    assert unknown_links("[Pay](https://pay.other.com.au/)", thread) == ["pay.other.com.au"]
    assert unknown_links("[Receipt](https://example.com.au/r/1)", thread) == []


def test_github_pages_of_different_owners_are_different_domains():
    thread = "The docs at https://alice.github.io/guide didn't help"
    assert unknown_links("[Guide](https://mallory.github.io/guide)", thread) == ["mallory.github.io"]
    assert unknown_links("[Guide](https://alice.github.io/other)", thread) == []


def test_an_idn_host_matches_its_punycode_spelling_and_a_look_alike_does_not():
    thread = "Bestellt bei https://münchen.de/shop"
    assert unknown_links("[Shop](https://xn--mnchen-3ya.de/shop)", thread) == []
    look_alike = "[Shop](https://m\u00fcnchen.de.evil.example/shop)"
    assert unknown_links(look_alike, thread) == ["xn--mnchen-3ya.de.evil.example"]


def test_ip_literals_match_only_the_same_address():
    thread = "The portal at http://192.168.10.5/status shows an error"
    assert unknown_links("[Status](http://192.168.10.5/status)", thread) == []
    assert unknown_links("[Status](http://10.168.10.5/status)", thread) == ["10.168.10.5"]


def test_localhost_is_never_vouched_for_by_another_host():
    thread = "see https://example.com"
    assert unknown_links("[Debug](http://localhost:8000/admin)", thread) == ["localhost"]


def test_a_customer_email_domain_and_our_own_domains_count_as_seen():
    thread = "Reply to bo@customer.example please"
    markdown = (
        "[Order](https://orders.customer.example/1) [Help](https://help.ours.example) [Pay](https://pay-now.example)"
    )
    assert unknown_links(markdown, thread, own_domains={"ours.example"}) == ["pay-now.example"]
