"""The CAN-SPAM footer check: a draft of a mailbox marked as sending commercial mail must carry the
MultiMail account's physical address and an unsubscribe link; otherwise the queue flags it.

Pages read only our own rows (cached a minute); the account's address is fetched by the worker
(oversight.account_refresh) and when an admin marks a mailbox, never during a page.
"""

import re
import time

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from reviewqueue.audit.services import Actor, RequestOrigin, audit_record
from reviewqueue.integrations.multimail import client as multimail
from reviewqueue.integrations.multimail.oversight_calls import account
from reviewqueue.oversight.models import AccountFacts, MailboxCompliance

CACHE_KEY = "oversight:compliance"
CACHE_SECONDS = 60
UNSUBSCRIBE = re.compile(r"\[[^\]]*\]\(\s*(?:https?://|mailto:)[^)]*\)|(?:https?://|mailto:)\S+", re.IGNORECASE)


_memo: dict = {}
MEMO_SECONDS = 5.0  # a queue page asks once per draft: one cache read per page, not per draft


def _facts() -> tuple[frozenset[str], str]:
    now = time.monotonic()
    if _memo.get("until", 0) > now:
        return _memo["facts"]
    facts = cache.get(CACHE_KEY)
    if facts is None:
        commercial = frozenset(MailboxCompliance.objects.filter(commercial=True).values_list("mailbox_id", flat=True))
        row = AccountFacts.objects.filter(pk=1).first()
        facts = (commercial, row.physical_address if row else "")
        cache.set(CACHE_KEY, facts, CACHE_SECONDS)
    _memo.update(facts=facts, until=now + MEMO_SECONDS)
    return facts


def facts_forget() -> None:
    """Drop what this process and the cache remember (after a change)."""
    _memo.clear()
    cache.delete(CACHE_KEY)


def _squeezed(text: str) -> str:
    return re.sub(r"[\s,.]+", " ", text).strip().casefold()


def _has_unsubscribe_link(markdown: str) -> bool:
    return any("unsubscribe" in link.casefold() for link in UNSUBSCRIBE.findall(markdown))


def can_spam_missing(draft) -> list[str]:
    """What a commercial mailbox's draft lacks: "physical address", "unsubscribe link" ([] when complete,
    or when the mailbox is not marked commercial)."""
    commercial, address = _facts()
    if draft.mailbox_id not in commercial:
        return []
    missing = []
    if not address or _squeezed(address) not in _squeezed(draft.markdown or ""):
        missing.append("physical address")
    if not _has_unsubscribe_link(draft.markdown or ""):
        missing.append("unsubscribe link")
    return missing


def account_refresh() -> str:
    """Read the account's physical address from MultiMail (the worker, hourly)."""
    answer = account(multimail.get_multimail_client())
    address = str(answer.get("physical_address") or "")
    AccountFacts.objects.update_or_create(pk=1, defaults={"physical_address": address, "fetched_at": timezone.now()})
    facts_forget()
    return address


def mailbox_commercial_set(*, user, mailbox_id: str, commercial: bool, origin: RequestOrigin | None = None) -> None:
    with transaction.atomic():
        row, _ = MailboxCompliance.objects.select_for_update().get_or_create(mailbox_id=mailbox_id)
        before = row.commercial
        row.commercial, row.updated_at = commercial, timezone.now()
        row.save()
        audit_record(
            actor=Actor.person(user),
            action="oversight.commercial_mail_set",
            target_type="mailbox",
            target_id=mailbox_id,
            payload={"before": before, "after": commercial},
            origin=origin,
        )
    transaction.on_commit(facts_forget)
