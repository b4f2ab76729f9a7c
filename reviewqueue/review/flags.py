"""Warnings shown beside a draft, computed from the email and its conversation (pure functions)."""

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr

from reviewqueue.review import rendering
from reviewqueue.review.domains import registrable_domain

# Authors that are the customer's side of a conversation (Intercom's author types).
CUSTOMER_AUTHOR_TYPES = frozenset({"user", "lead", "contact"})
CLEAN_SPAM_VERDICTS = frozenset({"", "clean", "ham", "pass", "not_spam"})


@dataclass(frozen=True)
class Flags:
    customer_replied: bool = False
    recipient_not_contact: bool = False
    spam: bool = False
    attachments: bool = False
    unknown_link_domains: list[str] = field(default_factory=list)

    def as_fields(self) -> dict:
        return {
            "flag_customer_replied": self.customer_replied,
            "flag_recipient_not_contact": self.recipient_not_contact,
            "flag_spam": self.spam,
            "flag_attachments": self.attachments,
            "flag_unknown_links": bool(self.unknown_link_domains),
            "unknown_link_domains": self.unknown_link_domains,
        }


def content_hash(*, from_address: str, to: list, cc: list, subject: str, markdown: str, attachments: list) -> str:
    """sha256 of the exact content a reviewer approves: the same content always gives the same hash."""
    content = {
        "from": from_address,
        "to": list(to),
        "cc": list(cc),
        "subject": subject,
        "markdown": markdown,
        "attachments": list(attachments),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _customer_emails(conversation) -> set[str]:
    """The customer side's addresses: the contacts' and, since Intercom's conversation contacts carry
    only ids (no email), those of the customer authors of the opening message and the parts."""
    authors = [conversation.source.author, *(part.author for part in conversation.parts)]
    emails = [c.email for c in conversation.contacts]
    emails += [a.email for a in authors if a.type in CUSTOMER_AUTHOR_TYPES]
    return {e.strip().lower() for e in emails if e}


def draft_flags(
    *,
    to: list[str],
    markdown: str,
    attachments: list,
    spam_verdict: str,
    written_at: datetime | None,
    conversation=None,
    own_domains: set[str] = frozenset(),
) -> Flags:
    """The flags of a draft. `conversation` is an intercom types.Conversation, or None when none is linked.

    Without a conversation only the email's own flags (spam, attachments, links outside our own
    domains) can be computed; the conversation flags stay off rather than guess.
    """
    seen_domains = {registrable_domain(d) for d in own_domains}
    customer_replied = False
    recipient_not_contact = False
    if conversation is not None:
        texts = [conversation.source.body] + [part.body for part in conversation.parts]
        emails = [c.email for c in conversation.contacts] + [conversation.source.author.email]
        emails += [part.author.email for part in conversation.parts]
        for text in texts:
            seen_domains |= {registrable_domain(d) for d in rendering.mentioned_domains(text)}
        seen_domains |= {registrable_domain(e.rsplit("@", 1)[-1]) for e in emails if e and "@" in e}
        recipient_not_contact = any(
            parseaddr(address)[1].lower() not in _customer_emails(conversation) for address in to
        )
        if written_at is not None:
            customer_replied = any(
                part.author.type in CUSTOMER_AUTHOR_TYPES and part.created_at and part.created_at > written_at
                for part in conversation.parts
            )
    # What the reader will see too: markdown can spell a link (reference links, entities) a plain scan misses.
    unknown = sorted(d for d in rendering.markdown_link_domains(markdown) if registrable_domain(d) not in seen_domains)
    return Flags(
        customer_replied=customer_replied,
        recipient_not_contact=recipient_not_contact,
        spam=(spam_verdict or "").strip().lower() not in CLEAN_SPAM_VERDICTS,
        attachments=bool(attachments),
        unknown_link_domains=unknown,
    )


def conversation_changes(old, new) -> list[str]:
    """What changed between two typed Conversations, as sentences a reviewer reads before confirming."""
    if old is None or new is None:
        return ["the conversation was loaded after you opened the draft"] if new is not None else []
    changes = []
    old_parts = {part.id for part in old.parts}
    for part in new.parts:
        if part.id in old_parts:
            continue
        who = part.author.name or part.author.email or part.author.type or "someone"
        when = f" at {part.created_at:%H:%M} UTC" if part.created_at else ""
        excerpt = re.sub(r"<[^>]+>", " ", part.body or "")
        excerpt = " ".join(excerpt.split())[:160]
        kind = "replied" if part.author.type in CUSTOMER_AUTHOR_TYPES else f"added a {part.part_type or 'part'}"
        changes.append(f"{who} {kind}{when}" + (f": «{excerpt}»" if excerpt else ""))
    if old.state != new.state:
        changes.append(f"state changed from {old.state or '—'} to {new.state or '—'}")
    if old.admin_assignee_id != new.admin_assignee_id:
        changes.append("the conversation was reassigned")
    if {t.name for t in old.tags} != {t.name for t in new.tags}:
        changes.append("tags changed")
    return changes or ["the conversation was updated"]
