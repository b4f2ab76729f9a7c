"""Untrusted content → safe HTML.

Draft bodies (markdown written by an AI agent, possibly steered by a customer) and Intercom
conversation parts (HTML written by customers) are hostile input. Both go through ONE nh3
allow-list policy; the result is shown under a strict CSP as a second line of defence.

- Markdown is parsed with raw HTML disabled, so `<script>` in a draft is shown as text.
- No element that can load anything survives: images are replaced by a visible placeholder
  ("[remote image: host]") so a tracking pixel never fires when a reviewer opens a draft, and
  relative URLs are dropped (they would point at reviewqueue itself).
- Links keep only http, https and mailto, open in a new tab, and carry
  rel="noopener noreferrer nofollow".
- No style, class or id attributes: they could restyle or clobber the reviewer's page.
"""

import contextlib
import html
import re
from urllib.parse import urlsplit

import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q",
    "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
# Removed together with their content: their text is code or machinery, not something a reader wrote.
DROPPED_WITH_CONTENT = {
    "script", "style", "template", "noscript", "title", "xmp", "noembed", "noframes", "iframe", "svg", "math",
    "object", "embed", "applet", "frameset", "head",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},  # only read by the placeholder step below; no <img> is ever output
    "abbr": {"title"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer nofollow"

_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    clean_content_tags=DROPPED_WITH_CONTENT,
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes=URL_SCHEMES,
    url_relative="deny",
    link_rel=LINK_REL,
    set_tag_attribute_values={"a": {"target": "_blank"}},
    strip_comments=True,
)
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(["table", "strikethrough"])

# nh3's serializer always double-quotes attribute values and escapes `"` inside them, so a quoted
# value can be skipped as a unit even when it contains `>`.
_IMG_TAG = re.compile(r"<img((?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*=\"[^\"]*\")*)\s*/?>")
_ATTR = re.compile(r"([a-zA-Z_:][-a-zA-Z0-9_:.]*)=\"([^\"]*)\"")


def render_markdown(markdown: str) -> SafeString:
    """A draft's markdown as HTML that is safe to insert into a reviewqueue page."""
    return _sanitize(_markdown.render(markdown or ""))


def sanitize_html(untrusted_html: str) -> SafeString:
    """An Intercom conversation part body (HTML) as HTML safe to insert into a page."""
    return _sanitize(untrusted_html or "")


def _sanitize(untrusted_html: str) -> SafeString:
    cleaned = _cleaner.clean(untrusted_html)
    return mark_safe(_IMG_TAG.sub(_image_placeholder, cleaned))  # noqa: S308 — nh3 output, images replaced


def _image_placeholder(match: re.Match) -> str:
    attrs = {name: html.unescape(value) for name, value in _ATTR.findall(match.group(1))}
    src = attrs.get("src", "")
    host = _host_of(src) if src else ""
    label = f"[remote image: {host}]" if host else f"[image: {attrs['alt']}]" if attrs.get("alt") else "[image]"
    title = f' title="{escape(src)}"' if host else ""
    return f'<span class="remote-image"{title}>{escape(label)}</span>'


# --- link domains ------------------------------------------------------------------------------

# A URL's authority: after a scheme (http, https, or scheme-relative //), "www." at a word start, or
# "mailto:" (user@host). Userinfo ("https://bank.com@evil.example/") is handled by _host_of.
_URL = re.compile(r"(?i)(?:\bhttps?://|(?<![\w/:.])//|\bwww\.)[^\s<>\"'`()\[\]{}|\\^]+")
_MAILTO = re.compile(r"(?i)\bmailto:([^\s<>\"'`()\[\]{}?]+)")
_HOST_CHARS = re.compile(r"[a-z0-9.:_-]+")
# Sentence punctuation right after a URL ("see www.example.com,") is not part of it.
_TRAILING_PUNCTUATION = ".,;:!?*_~"
_EMAIL = re.compile(r"(?i)\b[a-z0-9._%+-]+@([a-z0-9-]+(?:\.[a-z0-9-]+)+)")


def _host_of(url: str) -> str:
    """The lower-cased host of a URL ("" when it has none); IDN hosts in their punycode form, so a
    look-alike domain is visibly different from the real one."""
    url = url.strip()
    if url.lower().startswith("www."):
        url = "//" + url
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    host = host.strip(".").lower()
    if not host:
        return ""
    with contextlib.suppress(UnicodeError):  # not a valid IDN: keep it as written
        host = host.encode("idna").decode("ascii")
    return host if _HOST_CHARS.fullmatch(host) else ""


def link_domains(text: str) -> set[str]:
    """Every domain a text links to: http(s) and scheme-relative URLs, www. addresses and mailto:
    targets, after HTML entities are decoded (so `https&#58;//evil.example` counts)."""
    text = html.unescape(text or "")
    domains = {_host_of(m.group(0).rstrip(_TRAILING_PUNCTUATION)) for m in _URL.finditer(text)}
    domains |= {_host_of("//" + m.group(1).rsplit("@", 1)[-1]) for m in _MAILTO.finditer(text)}
    domains.discard("")
    return domains


def markdown_link_domains(markdown: str) -> set[str]:
    """Domains a draft links to, read both from its source and from what the reader will see
    (markdown can spell a URL in ways a plain scan of the source would miss)."""
    return link_domains(markdown) | link_domains(str(render_markdown(markdown)))


def mentioned_domains(text: str) -> set[str]:
    """Domains a text links to or names in an email address (a customer writing from acme.example
    makes acme.example a domain seen in the conversation)."""
    unescaped = html.unescape(text or "")
    return link_domains(unescaped) | {m.group(1).lower().strip(".") for m in _EMAIL.finditer(unescaped)}
