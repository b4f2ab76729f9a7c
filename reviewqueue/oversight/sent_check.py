"""'Did we send this?': an email someone forwarded or reported, checked against MultiMail's signature
and matched to our decisions by recipient, subject, sent time and body text."""

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from django.core.cache import cache
from markdown_it import MarkdownIt

from reviewqueue.integrations.multimail import client as multimail
from reviewqueue.integrations.multimail.errors import MultiMailError
from reviewqueue.integrations.multimail.oversight_calls import signing_key_text
from reviewqueue.oversight.identity import (
    HEADER,
    ClaimCheck,
    SigningKeyUnreadable,
    claim_verify,
    public_key_from_document,
)
from reviewqueue.review.models import Decision

KEY_CACHE = "oversight:multimail-signing-key"
KEY_TTL = 3600  # seconds; a claim that fails with the cached key is checked once more with a fresh one
MATCH_WINDOW = timedelta(days=3)  # a decision's mail leaves soon after it; the Date header is the sender's
BODY_SIMILARITY = 0.9  # signatures, footers and line wrapping differ between our text and the sent mail
MAX_CANDIDATES = 200


class EmailUnreadable(ValueError):
    pass


@dataclass(frozen=True)
class ParsedEmail:
    sender: str
    recipients: list[str]
    subject: str
    sent_at: datetime | None
    message_id: str
    identity: str | None
    text: str  # normalised body text
    sha256: str


@dataclass
class SentCheck:
    email: ParsedEmail
    claim: ClaimCheck
    verdict: str  # matched | signed_unmatched | invalid | no_claim | unverifiable
    decisions: list[Decision] = field(default_factory=list)
    key_problem: str = ""

    @property
    def headline(self) -> str:
        return VERDICT_TEXT[self.verdict]


VERDICT_TEXT = {
    "matched": "Signed by MultiMail, and it matches a decision made here.",
    "signed_unmatched": "Signed by MultiMail, but no decision here matches it: it was sent from a mailbox outside "
    "reviewqueue, or by a monitored mailbox without review.",
    "invalid": "Signature invalid: this email's identity claim was not signed by MultiMail's key, or was changed.",
    "no_claim": "No identity claim: the email carries no X-MultiMail-Identity header, so nothing shows "
    "MultiMail sent it.",
    "unverifiable": "Not checked: MultiMail's signing key could not be read.",
}


# --- reading the email -----------------------------------------------------------------------------


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("script", "style", "head", "title")
        self.parts.append(" ")

    def handle_endtag(self, tag):
        self.skip -= tag in ("script", "style", "head", "title") and self.skip > 0
        self.parts.append(" ")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def markdown_text(markdown: str) -> str:
    """The text a recipient reads of a draft's markdown (MultiMail renders it to HTML)."""
    return normalised(html_text(MarkdownIt("commonmark", {"html": False}).render(markdown)))


def email_parse(raw: bytes) -> ParsedEmail:
    if not raw.strip():
        raise EmailUnreadable("the email is empty")
    message = BytesParser(policy=policy.default).parsebytes(raw)
    if not message.keys():
        raise EmailUnreadable("no headers found: paste the headers, an empty line, then the body")
    try:
        sent_at = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError):
        sent_at = None
    if sent_at is not None and sent_at.tzinfo is None:
        sent_at = None
    recipients = [a.lower() for _, a in getaddresses([str(v) for v in message.get_all("To", [])]) if a]
    identity = message.get(HEADER)
    return ParsedEmail(
        sender=str(message.get("From", "")),
        recipients=recipients,
        subject=str(message.get("Subject", "")),
        sent_at=sent_at,
        message_id=str(message.get("Message-ID", "")),
        identity=str(identity) if identity is not None else None,
        text=_body_text(message),
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def _body_text(message) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        return ""
    if part.get_content_subtype() == "html":
        return normalised(html_text(content))
    # The plain part is the markdown as written (MultiMail sends it beside the HTML): read it as markdown.
    return markdown_text(content)


# --- the signature ------------------------------------------------------------------------------------


def _signing_key(*, fresh: bool):
    """(MultiMail's public key, whether it came from the cache)."""
    document = None if fresh else cache.get(KEY_CACHE)
    if document is not None:
        return public_key_from_document(document), True
    document = signing_key_text(multimail.get_multimail_client())
    key = public_key_from_document(document)  # only a readable key is cached
    cache.set(KEY_CACHE, document, KEY_TTL)
    return key, False


def claim_check(identity: str | None) -> tuple[ClaimCheck, str]:
    """(the check, why the key could not be read: "" when it could)."""
    if identity is None:
        return ClaimCheck(present=False), ""
    try:
        key, cached = _signing_key(fresh=False)
        check = claim_verify(identity, key)
        if cached and not check.valid and check.claim:
            check = claim_verify(identity, _signing_key(fresh=True)[0])  # MultiMail may have rotated its key
    except (MultiMailError, SigningKeyUnreadable) as exc:
        return ClaimCheck(present=True), str(exc)
    return check, ""


# --- matching -----------------------------------------------------------------------------------------


def decisions_matching(email: ParsedEmail) -> list[Decision]:
    """Approvals here whose draft went to the recipient with this subject around the sent time, and whose
    text reads the same (normalised; nearly the same, allowing for signatures and wrapping)."""
    if not email.recipients:
        return []
    candidates = Decision.objects.filter(action=Decision.Action.APPROVE).select_related("draft")
    candidates = candidates.filter(draft__to__contains=[email.recipients[0]])
    if email.sent_at is not None:
        candidates = candidates.filter(
            decided_at__gte=email.sent_at - MATCH_WINDOW, decided_at__lte=email.sent_at + MATCH_WINDOW
        )
    subject = normalised(email.subject)
    matches = []
    for decision in candidates.order_by("-decided_at")[:MAX_CANDIDATES]:
        draft = decision.draft
        if normalised(draft.subject) != subject:
            continue
        ours = markdown_text(draft.markdown)
        if ours == email.text or difflib.SequenceMatcher(None, ours, email.text).ratio() >= BODY_SIMILARITY:
            matches.append(decision)
    return matches


def sent_check(raw: bytes) -> SentCheck:
    email = email_parse(raw)
    check, key_problem = claim_check(email.identity)
    if not check.present:
        return SentCheck(email, check, "no_claim", decisions_matching(email))
    if key_problem:
        return SentCheck(email, check, "unverifiable", decisions_matching(email), key_problem=key_problem)
    if not check.valid:
        return SentCheck(email, check, "invalid")
    decisions = decisions_matching(email)
    return SentCheck(email, check, "matched" if decisions else "signed_unmatched", decisions)
