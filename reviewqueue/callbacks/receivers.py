"""Where callbacks come from: review's signals, decisions carried out and MultiMail's later events
(sent, delivered, bounced), and sla's draft_expired (the sweep rejected a draft nobody decided in time).

Every receiver queues through services.callback_queue, idempotent per (draft, event): the signals
are sent at least once, and a webhook may be delivered twice.
"""

from reviewqueue.callbacks.services import callback_queue
from reviewqueue.review.signals import decision_carried_out, email_event_recorded
from reviewqueue.sla.signals import draft_expired


def connect() -> None:
    """CallbacksConfig.ready()."""
    decision_carried_out.connect(on_decision_carried_out, dispatch_uid="callbacks.decision_carried_out")
    email_event_recorded.connect(on_email_event_recorded, dispatch_uid="callbacks.email_event_recorded")
    draft_expired.connect(on_draft_expired, dispatch_uid="callbacks.draft_expired")


def on_decision_carried_out(*, draft_id: int, event: str, **kwargs) -> None:
    """MultiMail took the decision (for an approval with edits: approved the edited version)."""
    callback_queue(draft_id=draft_id, event=event)


def on_email_event_recorded(*, draft_id: int, event: str, at=None, **kwargs) -> None:
    callback_queue(draft_id=draft_id, event=event, happened_at=at)


def on_draft_expired(*, draft_id: int, event: str, **kwargs) -> None:
    """Sent after the expiry's commit, besides the draft.rejected that follows once MultiMail took it:
    this one tells the agent why (the decision's reason "expired: …", origin system)."""
    callback_queue(draft_id=draft_id, event=event)
