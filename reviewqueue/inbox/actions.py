"""A click in the panel: decide the draft through review's draft_decide, as the mapped reviewer.

Component ids are `<action>:<draft id>` (approve, confirm_approve, reject, request_changes); the
reason is the draft's textarea (`reason:<draft id>`). A draft is decided only if the panel the
teammate clicked showed it (its stored_data lists it, with the snapshot it was drawn on), and only
by a teammate who maps to a reviewer now, whatever the panel showed. Every refusal of the review
service answers with the panel and the service's own sentence (who decided first, who holds the
claim, what changed in the conversation).
"""

from dataclasses import dataclass

from reviewqueue.audit.services import RequestOrigin
from reviewqueue.inbox.panel import DraftUrl, Notice, Problem, conversation_panel
from reviewqueue.inbox.teammates import Teammate
from reviewqueue.review.decisions import draft_decide
from reviewqueue.review.errors import ConversationChangedSinceOpened, ReviewError
from reviewqueue.review.models import Decision, Draft
from reviewqueue.sla.errors import AwaitingSecondApproval

ACTIONS = ("approve", "confirm_approve", "reject", "request_changes")
REASON_MAX_CHARS = 2000  # as the draft page's form and the API
NEEDS_TEXT = {
    "reject": "A rejection needs a reason: write it above.",
    "request_changes": "Requesting changes needs feedback for the agent: write it above.",
}


class SubmitInvalid(ValueError):
    """The submit cannot be read (unknown component, malformed values): a 400, nothing done."""


@dataclass(frozen=True)
class Click:
    action: str
    draft_id: int

    @property
    def decision_action(self) -> str:
        return Decision.Action.APPROVE if self.action == "confirm_approve" else self.action


def click_of(component_id: object) -> Click:
    """The clicked button, from Intercom's `component_id`."""
    action, _, draft_id = component_id.partition(":") if isinstance(component_id, str) else ("", "", "")
    if action not in ACTIONS or not draft_id.isascii() or not draft_id.isdigit() or len(draft_id) > 18:
        raise SubmitInvalid(f"component_id must be one of {', '.join(ACTIONS)} and a draft id, as in approve:12")
    return Click(action, int(draft_id))


def reason_of(input_values: dict, draft_id: int) -> str:
    reason = input_values.get(f"reason:{draft_id}", "")
    if reason is None:
        return ""
    if not isinstance(reason, str):
        raise SubmitInvalid(f"input_values.reason:{draft_id} must be text")
    if len(reason) > REASON_MAX_CHARS:
        raise SubmitInvalid(f"the reason is longer than {REASON_MAX_CHARS} characters")
    return reason.strip()


def panel_submit(
    *,
    conversation_id: str,
    teammate: Teammate,
    click: Click,
    reason: str,
    shown: dict,
    draft_url: DraftUrl,
    request_origin: RequestOrigin,
) -> dict:
    """Carry out the click and answer with the panel as it is now."""

    def panel(notice: Notice | None = None, problems: dict | None = None) -> dict:
        return conversation_panel(
            conversation_id=conversation_id,
            teammate=teammate,
            draft_url=draft_url,
            notice=notice,
            problems=problems,
            shown_before=shown,
        )

    if not teammate.can_decide:
        return panel(Notice("Nothing was decided: " + teammate.why_no_buttons, "error"))
    draft = Draft.objects.filter(pk=click.draft_id, conversation_id=conversation_id).first()
    if draft is None or str(draft.pk) not in shown:
        return panel(Notice("That draft was not on the panel you saw; here it is as it is now.", "error"))
    action = click.decision_action
    if action in NEEDS_TEXT and not reason:
        return panel(problems={draft.pk: Problem(NEEDS_TEXT[action], reason_missing=True)})
    try:
        decision = draft_decide(
            draft=draft,
            reviewer=teammate.person,
            action=action,
            reason=reason if action != Decision.Action.APPROVE else "",
            origin=Decision.Origin.INTERCOM,
            shown_snapshot_id=shown[str(draft.pk)],
            confirm_changed=click.action == "confirm_approve",
            request_origin=request_origin,
        )
    except ConversationChangedSinceOpened as changed:
        message = "The conversation changed since this panel was drawn: " + "; ".join(changed.changes)
        problem = Problem(message, reason=reason, ask_confirm=True)
        return panel(problems={draft.pk: problem})
    except AwaitingSecondApproval as awaiting:  # four-eyes: recorded, the draft stays held
        return panel(Notice(_sentence(awaiting)))
    except ReviewError as refused:  # decided meanwhile, claimed by someone else, not pending, content not in
        return panel(Notice(f"«{draft.subject or draft.email_id}»: {refused}.", "error"))
    return panel(Notice(f"«{draft.subject or draft.email_id}»: {decision.verb}."))


def _sentence(error: Exception) -> str:
    text = str(error)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
