"""Minimal builders for the review page tests: drafts as ingest leaves them, conversations as Intercom gives them."""

import itertools
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

from django.utils import timezone

from reviewqueue.integrations.intercom.services import snapshot_store
from reviewqueue.integrations.intercom.types import (
    Author,
    ContactRef,
    Conversation,
    ConversationPart,
    ConversationSource,
    Tag,
)
from reviewqueue.review.models import Claim, Draft

_email_ids = itertools.count(1)
CUSTOMER = Author(type="user", id="u1", name="Ana Customer", email="ana@customer.example")
AGENT = Author(type="admin", id="a1", name="Sam Support", email="sam@ours.example")


def make_draft(**fields) -> Draft:
    number = next(_email_ids)
    now = timezone.now()
    defaults = {
        "email_id": f"em_{number}",
        "mailbox_id": "mbx_support",
        "mailbox_address": "support@ours.example",
        "mailbox_display_name": "Support",
        "source": Draft.Source.POLL,
        "from_address": "Support <support@ours.example>",
        "to": ["ana@customer.example"],
        "subject": f"Your order {number}",
        "markdown": "Hello **Ana**, your order shipped.",
        "content_hash": "0" * 64,
        "received_at": now - timedelta(minutes=5),
        "fetched_at": now,
        "waiting_since": now - timedelta(minutes=number),
    }
    return Draft.objects.create(**{**defaults, **fields})


def claim_for(draft: Draft, user, *, minutes: int = 10) -> Claim:
    return Claim.objects.create(draft=draft, holder=user, expires_at=timezone.now() + timedelta(minutes=minutes))


def make_conversation(conversation_id="c_1", *, parts=(), state="open", updated_at=None, tags=("billing",)):
    created = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    return Conversation(
        id=conversation_id,
        title="Where is my order?",
        created_at=created,
        updated_at=updated_at or created,
        waiting_since=created,
        open=state == "open",
        state=state,
        priority="not_priority",
        admin_assignee_id="a1",
        team_assignee_id="",
        source=ConversationSource(
            type="conversation", subject="Order", body="<p>Where is my order?</p>", author=CUSTOMER
        ),
        contacts=[ContactRef(id="u1", external_id="", email="ana@customer.example")],
        tags=[Tag(id=str(i), name=name) for i, name in enumerate(tags)],
        parts=list(parts),
        url=f"https://app.intercom.com/a/inbox/x/inbox/conversation/{conversation_id}",
    )


def customer_part(part_id: str, body: str, *, at: datetime) -> ConversationPart:
    return ConversationPart(id=part_id, part_type="comment", body=body, created_at=at, author=CUSTOMER)


def store_snapshot(conversation):
    return snapshot_store(conversation=conversation)


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def assert_csp_clean(response) -> None:
    """The page keeps to the CSP: a policy header, every script a nonce'd file, no inline style or handlers."""
    policy = response.headers.get("Content-Security-Policy", "")
    assert "script-src 'self' 'nonce-" in policy
    assert "style-src 'self'" in policy
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    parser = _Tags()
    parser.feed(response.content.decode())
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert scripts, "the page loads its scripts"
    for attrs in scripts:
        assert attrs.get("src"), f"inline script: {attrs}"
        assert attrs.get("nonce") == nonce, f"script without the page's nonce: {attrs}"
    for tag, attrs in parser.tags:
        assert tag != "style", "inline <style> element"
        assert "style" not in attrs, f"inline style attribute on <{tag}>"
        handlers = [name for name in attrs if name.startswith(("on", "hx-on", "data-hx-on"))]
        assert not handlers, f"inline handler {handlers} on <{tag}>"
