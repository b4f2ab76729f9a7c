"""A click in Slack, handled by the worker (tasks.py) after the interactivity URL answered 200.

Approve decides at once; Reject opens the reason modal (views.open), whose submission decides. Both
go through review's draft_decide with origin "slack", as the reviewer the Slack user maps to
(reviewers.py), with the snapshot the message was posted on: a conversation that changed since
answers with an ephemeral message and a link to the draft page instead of deciding. Anyone who
cannot decide is told so (ephemeral) and the refusal is audited (`slack.refused`). Every refusal of
the review service (decided meanwhile: who; claimed; not pending) is told ephemerally too. Slack's
failures here are logged: they never undo a decision, and the message is edited through the
delivery (delivery.py) whatever happens to the ephemeral answer.
"""

import logging

from django.db import transaction

from reviewqueue.audit.services import Actor, RequestOrigin, audit_record
from reviewqueue.integrations.slack import interactions
from reviewqueue.integrations.slack.blocks import reject_modal
from reviewqueue.integrations.slack.client import SlackClient, SlackError, response_url_post
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.errors import ConversationChangedSinceOpened, ReviewError
from reviewqueue.review.models import Decision, Draft
from reviewqueue.sla.errors import AwaitingSecondApproval
from reviewqueue.slack.messages import draft_url
from reviewqueue.slack.responses import allowed_response_url
from reviewqueue.slack.reviewers import reviewer_for

log = logging.getLogger(__name__)


def interaction_handle(payload: dict, *, site: str, client: SlackClient, transport=None) -> str:
    """Carry out one verified interaction payload. Returns what happened (logs, tests)."""
    kind = payload.get("type")
    try:
        if kind == "block_actions":
            click = interactions.button_click(payload)
            if click is None or click.action == "open":
                return "ignored"
            return _button(click, site=site, client=client, transport=transport)
        if kind == "view_submission":
            submission = interactions.reject_submission(payload)
            return (
                "ignored"
                if submission is None
                else _submission(submission, site=site, client=client, transport=transport)
            )
    except interactions.InteractionInvalid as invalid:
        log.warning("slack interaction not ours", extra={"error": str(invalid)})
        return "invalid"
    return "ignored"


def _button(click, *, site, client, transport) -> str:
    draft = Draft.objects.filter(pk=click.draft_id).first()
    tell = _teller(click.response_url, transport)
    if draft is None:
        tell("That draft is not in reviewqueue any more.")
        return "missing"
    reviewer = _reviewer_or_refuse(click.user_id, click.action, draft, client, tell)
    if reviewer is None:
        return "refused"
    if click.action == "reject":
        if not draft.is_pending:
            return _decide_refused(draft, tell, site)
        modal = reject_modal(
            draft_id=draft.pk, snapshot_id=click.snapshot_id, subject=draft.subject, response_url=click.response_url
        )
        try:
            client.views_open(trigger_id=click.trigger_id, view=modal)
        except SlackError as error:  # the trigger lives 3 s: a slow worker loses it; say so
            log.warning("slack views.open failed", extra={"error": str(error)})
            url = draft_url(draft.pk, site)
            tell(f"Slack would not open the reason form ({error.code}); reject on the draft page: {url}")
            return "modal_failed"
        return "modal_opened"
    return _decide(draft, reviewer, "approve", "", click.snapshot_id, click.user_id, tell, site)


def _submission(submission, *, site, client, transport) -> str:
    tell = _teller(submission.response_url, transport)
    draft = Draft.objects.filter(pk=submission.draft_id).first()
    if draft is None:
        tell("That draft is not in reviewqueue any more.")
        return "missing"
    reviewer = _reviewer_or_refuse(submission.user_id, "reject", draft, client, tell)
    if reviewer is None:
        return "refused"
    if interactions.reason_problem(submission.reason):  # the view checked it; a forged body is still refused
        tell("A rejection needs a reason.")
        return "invalid"
    return _decide(draft, reviewer, "reject", submission.reason, submission.snapshot_id, submission.user_id, tell, site)


def _reviewer_or_refuse(user_id: str, action: str, draft: Draft, client, tell):
    try:
        reviewer = reviewer_for(user_id, client)
    except SlackError as error:
        log.warning("slack users.info failed", extra={"error": str(error)})
        tell(f"reviewqueue could not ask Slack who you are ({error.code}); nothing was decided. Try again shortly.")
        return None
    if reviewer.can_decide:
        return reviewer
    with transaction.atomic():
        audit_record(
            actor=Actor.person(reviewer.person) if reviewer.person is not None else Actor.anonymous(f"slack:{user_id}"),
            action="slack.refused",
            target_type="draft",
            target_id=draft.pk,
            payload={"slack_user_id": user_id, "email": reviewer.email, "action": action, "why": reviewer.why_not},
            origin=_origin(user_id),
        )
    tell("Nothing was decided: " + reviewer.why_not)
    return None


def _decide(draft, reviewer, action, reason, snapshot_id, user_id, tell, site) -> str:
    try:
        decision = draft_decide(
            draft=draft,
            reviewer=reviewer.person,
            action=action,
            reason=reason,
            origin=Decision.Origin.SLACK,
            shown_snapshot_id=snapshot_id,
            request_origin=_origin(user_id),
        )
    except ConversationChangedSinceOpened as changed:
        tell(
            "Not approved: the conversation changed since this message was posted ("
            + "; ".join(changed.changes)
            + f"). Look again on the draft page: {draft_url(draft.pk, site)}"
        )
        return "stale"
    except AwaitingSecondApproval as awaiting:
        tell(f"{_sentence(str(awaiting))}")
        return "first_approval"
    except ReviewError as refused:
        tell(f"«{draft.subject or draft.email_id}»: {refused}. {draft_url(draft.pk, site)}")
        return "refused_by_review"
    tell(f"«{draft.subject or draft.email_id}»: {decision.verb}.")
    return decision.action


def _decide_refused(draft, tell, site) -> str:
    decision = Decision.objects.filter(draft_id=draft.pk).first()
    if decision is not None:
        when = f"{decision.decided_at:%Y-%m-%d %H:%M:%S} UTC"
        tell(f"«{draft.subject or draft.email_id}»: already {decision.verb} by {decision.reviewer_label} at {when}.")
    else:
        status = draft.get_status_display()
        tell(f"«{draft.subject or draft.email_id}»: no longer pending ({status}). {draft_url(draft.pk, site)}")
    return "refused_by_review"


def _teller(response_url: str, transport):
    """Tell the clicker something only they see, through the click's response_url; failures are logged."""

    def tell(text: str) -> None:
        if not allowed_response_url(response_url):
            log.warning("slack response_url refused or missing: nothing told", extra={"text": text[:200]})
            return
        try:
            response_url_post(
                response_url,
                {"response_type": "ephemeral", "replace_original": False, "text": text},
                transport=transport,
            )
        except SlackError as error:
            log.warning("slack ephemeral answer failed", extra={"error": str(error)})

    return tell


def _origin(user_id: str) -> RequestOrigin:
    return RequestOrigin(ip=None, user_agent=f"Slack app; user {user_id}"[:512])


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
