"""Where the Slack app's work comes from: review's signals, each sent after its commit, at least once.

A draft whose content came in (draft_ready) gets its review request; a decision recorded or carried
out gets the edit in place. Both queue through services.py, idempotent per (draft, kind).
"""

from reviewqueue.review.signals import decision_carried_out, decision_recorded, draft_ready
from reviewqueue.slack.services import post_queue, update_queue


def connect() -> None:
    """SlackConfig.ready()."""
    draft_ready.connect(on_draft_ready, dispatch_uid="slack.draft_ready")
    decision_recorded.connect(on_decided, dispatch_uid="slack.decision_recorded")
    decision_carried_out.connect(on_decided, dispatch_uid="slack.decision_carried_out")


def on_draft_ready(*, draft_id: int, **kwargs) -> None:
    post_queue(draft_id=draft_id)


def on_decided(*, draft_id: int, **kwargs) -> None:
    update_queue(draft_id=draft_id)
