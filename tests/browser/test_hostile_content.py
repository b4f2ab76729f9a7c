"""Hostile email bodies and conversation parts, rendered by the real draft page in Chromium.

Every body of tests/review/hostile_corpus.py is shown twice: as a draft's markdown and as an
Intercom conversation part (HTML). What must hold, with the page served by gunicorn under its
real Content-Security-Policy:

- no script runs: no dialog opens, the canary functions are never called, the console shows no
  error (a CSP refusal there would mean the sanitizer let something through and only the second
  line of defence held), and the rendered content carries no script, handler or script URL;
- no request leaves for another origin (every request not to 127.0.0.1 is recorded and aborted);
- the text stays readable: a marker word put before each body is visible on the page.
"""

import html
import itertools

import pytest
from django.utils import timezone

from reviewqueue.integrations.intercom.models import ConversationSnapshot
from reviewqueue.integrations.intercom.types import Conversation
from reviewqueue.review.models import Draft
from tests.browser.conftest import log_in
from tests.review.hostile_corpus import HOSTILE_BODIES, READABLE_CASES

BODIES_PER_PAGE = 60

# Runs before any script of the page: records any call a payload would make.
CANARY = """
window.__pwned = [];
for (const name of ["alert", "confirm", "prompt", "print", "open"]) {
  const original = window[name];
  window[name] = function (...args) { window.__pwned.push(name + ":" + String(args[0])); };
}
"""

# What no rendered content may contain (checked inside <main>, where the untrusted content lives).
DOM_AUDIT = """
() => {
  const found = [];
  const main = document.querySelector("main");
  for (const el of main.querySelectorAll("*")) {
    const tag = el.tagName.toLowerCase();
    if (["script", "iframe", "object", "embed", "frame", "frameset", "svg", "math", "img", "style",
         "link", "meta", "base", "video", "audio", "source", "picture"].includes(tag)) {
      found.push("<" + tag + ">");
    }
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\\s\\u0000-\\u001f]/g, "").toLowerCase();
      if (name.startsWith("on")) found.push(tag + "[" + name + "]");
      if (name === "style") found.push(tag + "[style]");
      if (["href", "src", "action", "formaction", "xlink:href", "data", "srcset", "background", "poster"]
          .includes(name) && /^(javascript|vbscript|data|livescript):/.test(value)) {
        found.push(tag + "[" + name + "=" + attr.value.slice(0, 40) + "]");
      }
    }
  }
  return found;
}
"""


def _marker(kind: str, index: int) -> str:
    return f"Readable{kind}{index:04d}zq"


def _conversation(conversation_id: str, parts: list[str]) -> Conversation:
    now = int(timezone.now().timestamp())
    author = {"type": "user", "id": "u1", "name": "Mallory <img src=x onerror=alert(1)>", "email": "m@customer.example"}
    return Conversation.from_api(
        {
            "type": "conversation",
            "id": conversation_id,
            "title": "<script>alert('title')</script>Refund",
            "created_at": now - 3600,
            "updated_at": now - 60,
            "waiting_since": now - 600,
            "open": True,
            "state": "open",
            "source": {"type": "conversation", "subject": "", "body": "<p>Where is my refund?</p>", "author": author},
            "contacts": {"type": "contact.list", "contacts": [{"id": "c1", "email": "m@customer.example"}]},
            "conversation_parts": {
                "type": "conversation_part.list",
                "conversation_parts": [
                    {"id": f"p{i}", "part_type": "comment", "body": body, "created_at": now - 500 + i, "author": author}
                    for i, body in enumerate(parts)
                ],
            },
        }
    )


def _storable(text: str) -> str:
    # PostgreSQL text and jsonb cannot hold NUL; the corpus's NUL-smuggling bodies are stored with
    # U+FFFD in its place (what ingest has to do with such input before it can keep it at all).
    return text.replace("\x00", "\ufffd")


def _draft_with(index: int, markdown: str, parts: list[str]) -> Draft:
    markdown, parts = _storable(markdown), [_storable(part) for part in parts]
    conversation = _conversation(f"hostile-{index}", parts)
    now = timezone.now()
    snapshot = ConversationSnapshot.objects.create(
        conversation_id=conversation.id,
        fetched_at=now,
        checked_at=now,
        data=conversation.to_data(),
        content_hash=f"hostile-{index}",
    )
    return Draft.objects.create(
        email_id=f"hostile-email-{index}",
        mailbox_id="mbx_hostile",
        source=Draft.Source.WEBHOOK,
        from_address="Support <support@shop.example>",
        to=["m@customer.example"],
        subject=f"<script>alert('subject')</script>Hostile page {index}",
        markdown=markdown,
        received_at=now,
        fetched_at=now,
        content_hash=f"hostile-{index}",
        conversation_id=conversation.id,
        conversation_link=Draft.ConversationLink.TAG,
        snapshot_id=snapshot.pk,
        latest_snapshot_id=snapshot.pk,
    )


def _pages_of_corpus() -> list[tuple[Draft, list[str]]]:
    """Drafts that together show every hostile body as markdown and as a conversation part."""
    made = []
    numbered = list(enumerate(HOSTILE_BODIES))
    for page_index, start in enumerate(range(0, len(numbered), BODIES_PER_PAGE)):
        chunk = numbered[start : start + BODIES_PER_PAGE]
        # Each markdown body is its own paragraph run after its marker; blank lines keep them apart.
        markdown = "\n\n".join(f"{_marker('D', i)}\n\n{body}" for i, body in chunk)
        parts = [f"<p>{_marker('P', i)}</p>{body}" for i, body in chunk]
        markers = [_marker(kind, i) for i, _ in chunk for kind in ("D", "P")]
        made.append((_draft_with(page_index, markdown, parts), markers))
    return made


def _open_and_check(page, page_watch, draft_id: int) -> str:
    page.goto(f"/queue/drafts/{draft_id}/", wait_until="load")
    assert page.evaluate("window.__pwned") == [], f"draft {draft_id}: a payload called a canary"
    assert page.evaluate(DOM_AUDIT) == [], f"draft {draft_id}: dangerous markup survived"
    return page.inner_text("main")


@pytest.mark.browser
def test_no_hostile_body_runs_script_loads_anything_or_hides_its_text(page, page_watch, person):
    assert len(HOSTILE_BODIES) >= 200
    person("rita", "reviewer")
    pages = _pages_of_corpus()
    page.context.add_init_script(CANARY)
    log_in(page, "rita")

    missing = []
    for draft, markers in pages:
        text = _open_and_check(page, page_watch, draft.pk)
        missing += [m for m in markers if m not in text]

    assert page_watch.dialogs == []
    assert page_watch.page_errors == []
    assert page_watch.console_errors == [], "\n".join(page_watch.console_errors)
    assert page_watch.foreign_requests == []
    assert missing == [], f"{len(missing)} bodies hid their text, e.g. {missing[:5]}"


@pytest.mark.browser
def test_the_words_of_hostile_messages_stay_readable(page, page_watch, person):
    person("rita", "reviewer")
    cases = [(body, [html.unescape(w) for w in words if "href=" not in w]) for body, words in READABLE_CASES]
    draft = _draft_with(9000, "\n\n".join(body for body, _ in cases), [body for body, _ in cases])
    page.context.add_init_script(CANARY)
    log_in(page, "rita")

    text = _open_and_check(page, page_watch, draft.pk)

    expected = sorted(set(itertools.chain.from_iterable(words for _, words in cases)))
    assert [word for word in expected if word not in text] == []
    assert page_watch.dialogs == []
    assert page_watch.console_errors == [], "\n".join(page_watch.console_errors)
    assert page_watch.foreign_requests == []
