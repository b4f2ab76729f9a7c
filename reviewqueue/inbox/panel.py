"""The panel beside a conversation: its held drafts, with buttons for a reviewer, and its decided ones.

Everything a draft or a customer wrote goes through `canvas.plain` (markdown escaped), so a link in
a draft shows as typed. `stored_data` carries, per draft shown, the conversation snapshot the panel
was first drawn on: an approval names it, and review's stale-context guard compares it with the
latest. A panel drawn again after a click keeps what the teammate was shown before, except for a
draft whose change they were just told about (the confirm button then names the latest).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone

from reviewqueue.inbox.teammates import Teammate
from reviewqueue.integrations.intercom import canvas
from reviewqueue.review.models import Claim, Decision, Draft
from reviewqueue.review.presentation import age_text, draft_flag_badges

HELD_SHOWN = 10  # a conversation rarely holds more; the rest are in the queue (and 64 KB is the limit)
DECIDED_SHOWN = 10
EXCERPT_LINES = 3
EXCERPT_CHARS = 280
NOTHING_HELD = "Nothing held for this conversation"

DraftUrl = Callable[[int], str]


@dataclass(frozen=True)
class Notice:
    """One line at the top of the panel: what the last click did, or why it did nothing."""

    text: str
    style: str = "paragraph"  # paragraph (done) or error


@dataclass(frozen=True)
class Problem:
    """Why a click on one draft did not decide it, shown under that draft."""

    message: str
    reason: str = ""  # what the teammate typed, kept in the textarea
    reason_missing: bool = False  # marks the textarea as failed
    ask_confirm: bool = False  # the conversation changed: they were told, and may approve again past it


def conversation_panel(
    *,
    conversation_id: str,
    teammate: Teammate,
    draft_url: DraftUrl,
    notice: Notice | None = None,
    problems: dict[int, Problem] | None = None,
    shown_before: dict | None = None,
) -> dict:
    """The canvas for `conversation_id` as `teammate` may see it (Intercom's initialize and submit answer)."""
    components = [canvas.text(canvas.plain(notice.text), notice.style)] if notice else []
    if not teammate.can_decide:
        components.append(canvas.text(canvas.plain(teammate.why_no_buttons), "muted"))
    if not teammate.can_see_drafts:
        return canvas.canvas(components, {"conversation_id": conversation_id, "shown": {}})
    held, more_held = _held_drafts(conversation_id)
    if not held:
        components.append(canvas.text(NOTHING_HELD, "muted"))
    shown = {}
    now = timezone.now()
    for draft in held:
        problem = (problems or {}).get(draft.pk)
        components += _held_components(draft, teammate, draft_url, problem, now)
        key = str(draft.pk)
        told_latest = (problem is not None and problem.ask_confirm) or key not in (shown_before or {})
        shown[key] = draft.latest_snapshot_id if told_latest else shown_before[key]
    if more_held:
        components.append(canvas.text("More drafts of this conversation are held: see the queue.", "muted"))
    for draft in _decided_drafts(conversation_id):
        components.append(canvas.text(canvas.plain(_decided_line(draft)), "muted"))
    return canvas.canvas(components, {"conversation_id": conversation_id, "shown": shown})


def _held_drafts(conversation_id: str) -> tuple[list[Draft], bool]:
    drafts = list(
        Draft.objects.filter(conversation_id=conversation_id, status=Draft.Status.PENDING)
        .select_related("claim__holder", "first_approval")  # the claim and a four-eyes first approval, if any
        .order_by("waiting_since", "pk")[: HELD_SHOWN + 1]
    )
    return drafts[:HELD_SHOWN], len(drafts) > HELD_SHOWN


def _decided_drafts(conversation_id: str) -> list[Draft]:
    return list(
        Draft.objects.filter(
            conversation_id=conversation_id, status__in=[Draft.Status.DECIDED, Draft.Status.DECIDED_ELSEWHERE]
        )
        .select_related("decision__edit")  # the decision's verb says whether it was approved with edits
        .order_by("-updated_at", "-pk")[:DECIDED_SHOWN]
    )


def _held_components(draft: Draft, teammate: Teammate, draft_url: DraftUrl, problem: Problem | None, now) -> list:
    components = [
        canvas.text(canvas.plain(draft.subject or "(no subject)"), "header"),
        canvas.text("To " + canvas.plain(", ".join(draft.to) or "(no recipient)")),
        canvas.text(canvas.plain(excerpt(draft.markdown)) or "(empty)"),
        canvas.text(canvas.plain(_facts_line(draft, teammate, now)), "muted"),
    ]
    if problem is not None:
        components.append(canvas.text(canvas.plain(problem.message), "error"))
    if teammate.can_decide:
        components += _decision_components(draft, draft_url, problem)
    components.append(canvas.divider())
    return components


def _decision_components(draft: Draft, draft_url: DraftUrl, problem: Problem | None) -> list:
    approve = (
        canvas.submit_button(f"confirm_approve:{draft.pk}", "Approve anyway", "primary")
        if problem is not None and problem.ask_confirm
        else canvas.submit_button(f"approve:{draft.pk}", "Approve", "primary")
    )
    return [
        canvas.textarea(
            f"reason:{draft.pk}",
            "Reason to reject, or feedback for the agent",
            placeholder="Required to reject or to request changes",
            value=problem.reason if problem else "",
            error=bool(problem and problem.reason_missing),
        ),
        approve,
        canvas.submit_button(f"reject:{draft.pk}", "Reject"),
        canvas.submit_button(f"request_changes:{draft.pk}", "Request changes"),
        canvas.url_button(f"open:{draft.pk}", "Open in reviewqueue", draft_url(draft.pk)),
    ]


def excerpt(markdown: str) -> str:
    """The first lines of the body, cut to EXCERPT_CHARS."""
    lines = [line.strip() for line in (markdown or "").splitlines() if line.strip()][:EXCERPT_LINES]
    text = " ".join(lines)
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1].rstrip() + "…"


def _facts_line(draft: Draft, teammate: Teammate, now) -> str:
    facts = [f"waiting {age_text(draft.waiting_since, now)}"]
    claim = _live_claim(draft, now)
    if claim is not None:
        holder = "you" if claim.holder_id == getattr(teammate.person, "pk", None) else _name(claim.holder)
        facts.append(f"claimed by {holder}")
    first = _first_approval(draft)
    if first is not None:
        by = "you" if first.approver_id == getattr(teammate.person, "pk", None) else first.approver_label
        facts.append(f"first of two approvals given by {by}")
    badges = draft_flag_badges(draft)
    if badges:
        facts.append("flags: " + ", ".join(badge.label for badge in badges))
    return " · ".join(facts)


def _live_claim(draft: Draft, now) -> Claim | None:
    try:
        claim = draft.claim
    except Claim.DoesNotExist:
        return None
    return claim if claim.is_live(now) else None


def _first_approval(draft: Draft):
    try:
        return draft.first_approval
    except ObjectDoesNotExist:
        return None


def _name(person) -> str:
    return person.get_full_name() or person.get_username()


def _decided_line(draft: Draft) -> str:
    subject = f"«{draft.subject or draft.email_id}»"
    if draft.status == Draft.Status.DECIDED_ELSEWHERE:
        return f"{subject}: decided in MultiMail ({draft.email_status or 'no longer held'})"
    try:
        decision = draft.decision
    except Decision.DoesNotExist:
        return f"{subject}: decided"
    return f"{subject}: {decision.verb} by {decision.reviewer_label}, {decision.decided_at:%Y-%m-%d %H:%M} UTC"
