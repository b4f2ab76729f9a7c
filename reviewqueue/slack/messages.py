"""What a draft's Slack message says: the review request, and once decided, who, how and when."""

from django.urls import reverse
from django.utils import timezone

from reviewqueue.integrations.slack.blocks import Outcome, ReviewRequest
from reviewqueue.review.models import Decision, Draft
from reviewqueue.review.presentation import age_text, draft_flag_badges
from reviewqueue.routing.services import site_origins

EXCERPT_LINES, EXCERPT_CHARS = 3, 300
HOW = {
    Decision.Origin.WEB: "on the draft page",
    Decision.Origin.API: "through the review API",
    Decision.Origin.SYSTEM: "by reviewqueue itself",
    Decision.Origin.INTERCOM: "in Intercom's Inbox",
    Decision.Origin.SLACK: "in Slack",
}
VERB = {"approve": "Approved", "reject": "Rejected", "request_changes": "Changes requested"}


def draft_url(draft_id: int, site: str = "") -> str:
    """The draft's page: SITE_URL, else this site's configured origin, else the address Slack called."""
    path = reverse("review:draft", args=[draft_id])
    origins = site_origins()
    return f"{(origins[0] if origins else site).rstrip('/')}{path}"


def review_request(draft: Draft, *, now=None) -> ReviewRequest:
    now = now or timezone.now()
    return ReviewRequest(
        draft_id=draft.pk,
        snapshot_id=draft.latest_snapshot_id,
        customer=", ".join(draft.to or []) or "(no recipient)",
        subject=draft.subject or "(no subject)",
        excerpt=excerpt(draft.markdown),
        flags=[badge.label for badge in draft_flag_badges(draft)],
        waiting=age_text(draft.waiting_since or draft.created_at, now),
        mailbox=draft.mailbox_address or draft.mailbox_id,
        url=draft_url(draft.pk),
    )


def outcome_of(draft: Draft) -> Outcome:
    decision = Decision.objects.filter(draft_id=draft.pk).first()
    if decision is None:  # decided in MultiMail's dashboard, expired there, or failed to load
        when = draft.updated_at or timezone.now()
        return Outcome(draft.get_status_display().capitalize(), "someone", "outside reviewqueue", _when(when))
    reason = decision.reason if decision.action != Decision.Action.APPROVE else ""
    verb = "Approved with edits" if decision.is_edited else VERB.get(decision.action, decision.action)
    return Outcome(
        verb, decision.reviewer_label, HOW.get(decision.origin, decision.origin), _when(decision.decided_at), reason
    )


def excerpt(markdown: str) -> str:
    lines = [line.strip() for line in (markdown or "").splitlines() if line.strip()][:EXCERPT_LINES]
    text = "\n".join(lines)
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1].rstrip() + "…"


def _when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"
