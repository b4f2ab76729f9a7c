import re
from html.parser import HTMLParser

import pytest

from reviewqueue.review.rendering import (
    ALLOWED_TAGS,
    link_domains,
    markdown_link_domains,
    render_markdown,
    sanitize_html,
)
from tests.review.hostile_corpus import HOSTILE_BODIES, READABLE_CASES

OUTPUT_TAGS = ALLOWED_TAGS - {"img"}
OUTPUT_ATTRIBUTES = {"href", "title", "target", "rel", "colspan", "rowspan", "start", "class"}
# What a browser ignores inside a URL before it reads the scheme (WHATWG URL: tab, newline, C0, space).
_URL_NOISE = re.compile(r"[\x00-\x20]")


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def elements_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.elements


def assert_inert(html: str) -> None:
    for tag, attrs in elements_of(html):
        assert tag in OUTPUT_TAGS, f"<{tag}> survived: {html!r}"
        assert set(attrs) <= OUTPUT_ATTRIBUTES, f"attributes {set(attrs) - OUTPUT_ATTRIBUTES} survived: {html!r}"
        if "class" in attrs:
            assert (tag, attrs["class"]) == ("span", "remote-image"), f"foreign class survived: {html!r}"
        if "href" in attrs:
            href = _URL_NOISE.sub("", attrs["href"] or "").lower()
            assert href.startswith(("http://", "https://", "mailto:")), f"href {attrs['href']!r} survived"
            assert attrs.get("target") == "_blank"
            assert set((attrs.get("rel") or "").split()) >= {"noopener", "noreferrer", "nofollow"}
        for value in attrs.values():
            assert "url(" not in (value or "").lower()


@pytest.mark.parametrize("body", HOSTILE_BODIES)
def test_hostile_html_leaves_no_script_capable_or_loading_markup(body):
    assert_inert(sanitize_html(body))


@pytest.mark.parametrize("body", HOSTILE_BODIES)
def test_hostile_markdown_leaves_no_script_capable_or_loading_markup(body):
    assert_inert(render_markdown(body))


def test_the_corpus_is_large_and_varied():
    assert len(HOSTILE_BODIES) >= 200
    assert len(set(HOSTILE_BODIES)) == len(HOSTILE_BODIES)


@pytest.mark.parametrize(("body", "visible"), READABLE_CASES)
def test_visible_text_stays_readable(body, visible):
    rendered = sanitize_html(body) if body.lstrip().startswith("<") else render_markdown(body)
    for words in visible:
        assert words in rendered


def test_markdown_raw_html_is_shown_as_text_not_parsed():
    assert render_markdown("<b>hi</b>") == "<p>&lt;b&gt;hi&lt;/b&gt;</p>\n"


def test_markdown_keeps_ordinary_formatting():
    html = render_markdown("# Title\n\n**bold** _em_ `code` ~~gone~~\n\n1. one\n\n| a |\n|---|\n| 1 |\n\n> quote")
    for fragment in ("<h1>Title</h1>", "<strong>bold</strong>", "<em>em</em>", "<code>code</code>", "<s>gone</s>"):
        assert fragment in html
    assert "<ol>" in html
    assert "<td>1</td>" in html
    assert "<blockquote>" in html


def test_links_open_in_a_new_tab_without_opener_or_referrer():
    html = render_markdown("[help](https://help.example/a?b=1&c=2)")
    assert html == (
        '<p><a href="https://help.example/a?b=1&amp;c=2" target="_blank" '
        'rel="noopener noreferrer nofollow">help</a></p>\n'
    )


def test_a_link_forcing_its_own_target_or_rel_is_overridden():
    html = sanitize_html('<a href="https://ok.example" target="_self" rel="opener">x</a>')
    assert elements_of(html) == [
        ("a", {"href": "https://ok.example", "target": "_blank", "rel": "noopener noreferrer nofollow"})
    ]


def test_remote_image_becomes_a_visible_placeholder_naming_its_host():
    html = render_markdown("![pixel](https://tracker.example/p.gif?u=42)")
    assert html == (
        '<p><span class="remote-image" title="https://tracker.example/p.gif?u=42">'
        "[remote image: tracker.example]</span></p>\n"
    )


def test_image_placeholder_survives_an_alt_text_containing_markup():
    html = sanitize_html('<img alt="a&quot;>b<script>" src="https://t.example/x.png">after')
    assert html == '<span class="remote-image" title="https://t.example/x.png">[remote image: t.example]</span>after'


def test_data_and_inline_attachment_images_show_their_alt_text_only():
    assert (
        sanitize_html('<img src="data:image/png;base64,AAAA" alt="chart">')
        == '<span class="remote-image">[image: chart]</span>'
    )
    assert sanitize_html('<img src="cid:logo">') == '<span class="remote-image">[image]</span>'


def test_relative_links_are_dropped_because_they_would_point_at_reviewqueue():
    assert elements_of(sanitize_html('<a href="/logout">x</a>')) == [
        ("a", {"target": "_blank", "rel": "noopener noreferrer nofollow"})
    ]


def test_link_domains_reads_urls_www_addresses_and_mailto():
    text = "See https://Help.Example/a, www.shop.example. and mailto:bo@mail.example?subject=x or //cdn.example/x"
    assert link_domains(text) == {"help.example", "www.shop.example", "mail.example", "cdn.example"}


def test_link_domains_sees_through_userinfo_and_entities():
    assert link_domains("https://bank.example@evil.example/login") == {"evil.example"}
    assert link_domains('<a href="https&#58;//evil.example">x</a>') == {"evil.example"}


def test_link_domains_shows_lookalike_domains_in_punycode():
    lookalike = "https://p\u0430ypal.com/"  # CYRILLIC SMALL LETTER A in place of the first "a"
    assert link_domains(lookalike) == {"xn--pypal-4ve.com"}


def test_markdown_link_domains_include_reference_links_and_images():
    markdown = "[a][ref] ![x](https://img.example/p.png)\n\n[ref]: https://ref.example/path"
    assert markdown_link_domains(markdown) == {"ref.example", "img.example"}


def test_empty_input_renders_empty():
    assert render_markdown("") == ""
    assert sanitize_html("") == ""
    assert link_domains("") == set()


def test_draft_flags_see_through_a_userinfo_disguise():
    from reviewqueue.review.flags import draft_flags

    flags = draft_flags(
        to=["ana@customer.example"],
        markdown="[Log in to your bank](https://bank.example@evil.example/login)",
        attachments=[],
        spam_verdict="clean",
        written_at=None,
        own_domains={"bank.example"},
    )
    assert flags.unknown_link_domains == ["evil.example"]
