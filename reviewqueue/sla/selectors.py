"""Reads the pages share: a mailbox's escalation problems, the queue's time to target and four-eyes marks."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q, Value

from reviewqueue.review.presentation import Badge, age_text
from reviewqueue.sla.models import EscalationDelivery, FirstApproval, MailboxPolicy

AMBER_SHARE = 0.2  # amber in the last 20% of the target


def delivery_problems(mailbox_id: str, *, limit: int = 20) -> list[EscalationDelivery]:
    """Escalation messages that failed, or are being retried after a failure, newest first (one query)."""
    return list(
        EscalationDelivery.objects.filter(mailbox_id=mailbox_id)
        .filter(Q(status=EscalationDelivery.Status.FAILED) | Q(status__in=["pending", "running"], attempts__gt=0))
        .exclude(last_error="")
        .select_related("escalation")
        .order_by("-pk")[:limit]
    )


def overdue_q(now: datetime) -> Q:
    """Drafts past their mailbox's decision target, as a condition on review.Draft (the queue's filter)."""
    past_target = MailboxPolicy.objects.filter(
        mailbox_id=OuterRef("mailbox_id"), target__isnull=False, target__lte=Value(now) - OuterRef("waiting_since")
    )
    return Q(Exists(past_target))


@dataclass(frozen=True)
class SlaMark:
    """What the queue shows beside a draft: time to target (tone ok/warn/bad) and four-eyes progress."""

    target_text: str  # "12 min left", "overdue by 3 h", "" without a target
    tone: str  # "ok", "warn", "bad" or ""
    first_approver: str  # "" unless a first approval waits for a second


def sla_marks(drafts, now: datetime) -> dict[int, SlaMark]:
    """Per draft id, two queries whatever the page size (policies of the page's mailboxes; first approvals)."""
    drafts = list(drafts)
    policies = {
        p.mailbox_id: p.target
        for p in MailboxPolicy.objects.filter(mailbox_id__in={d.mailbox_id for d in drafts}, target__isnull=False)
    }
    firsts = {
        draft_id: name or username
        for draft_id, name, username in FirstApproval.objects.filter(draft_id__in=[d.pk for d in drafts]).values_list(
            "draft_id", "approver_name", "approver_username"
        )
    }
    marks = {}
    for draft in drafts:
        text, tone = time_to_target(draft.waiting_since, policies.get(draft.mailbox_id), now)
        marks[draft.pk] = SlaMark(text, tone, firsts.get(draft.pk, ""))
    return marks


def time_to_target(waiting_since: datetime, target, now: datetime) -> tuple[str, str]:
    """("25 min left", "ok"); ("4 min left", "warn") in the last 20%; ("overdue by 2 h", "bad")."""
    if target is None:
        return "", ""
    left = waiting_since + target - now
    if left <= timedelta(0):
        return f"overdue by {_span(-left, now)}", "bad"
    return f"{_span(left, now)} left", "warn" if left <= target * AMBER_SHARE else "ok"


def _span(span: timedelta, now: datetime) -> str:
    text = age_text(now - span, now)
    return "<1 min" if text == "just now" else text


FOUR_EYES_BADGE_FLAG = "needs_second_approval"


def queue_rows_marked(rows: list, drafts, now: datetime) -> list:
    """The queue's rows (review.presentation.QueueRow) with their time to target and four-eyes mark."""
    marks = sla_marks(drafts, now)
    marked = []
    for row in rows:
        mark = marks.get(row.draft_id)
        if mark is None:
            marked.append(row)
            continue
        badges = list(row.badges)
        if mark.first_approver:
            title = f"First approval by {mark.first_approver}; a different person's approval sends it"
            badges.insert(0, Badge(FOUR_EYES_BADGE_FLAG, "needs a second approval", "warn", title))
        marked.append(replace(row, target=mark.target_text, target_tone=mark.tone, badges=badges))
    return marked
