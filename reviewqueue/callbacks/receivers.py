"""Where callbacks come from: review's signals (decisions carried out, delivered, bounced) and
MultiMail's message.sent webhook event, which nothing else acts on.

Every receiver queues through services.callback_queue, idempotent per (draft, event): the signals
are sent at least once, and a webhook may be delivered twice.
"""

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from reviewqueue.callbacks.models import CallbackDelivery
from reviewqueue.callbacks.services import callback_queue
from reviewqueue.integrations.multimail.events import (
    PayloadError,
    envelope_mailbox,
    handler_register,
    required_email_id,
)
from reviewqueue.review.models import Draft
from reviewqueue.review.signals import decision_carried_out, email_event_recorded


def connect() -> None:
    """CallbacksConfig.ready()."""
    decision_carried_out.connect(on_decision_carried_out, dispatch_uid="callbacks.decision_carried_out")
    email_event_recorded.connect(on_email_event_recorded, dispatch_uid="callbacks.email_event_recorded")
    handler_register("message.sent", message_sent)


def on_decision_carried_out(*, draft_id: int, event: str, **kwargs) -> None:
    """MultiMail took the decision (for an approval with edits: approved the edited version)."""
    callback_queue(draft_id=draft_id, event=event)


def on_email_event_recorded(*, draft_id: int, event: str, at=None, **kwargs) -> None:
    callback_queue(draft_id=draft_id, event=event, happened_at=at)


def message_sent(payload: dict) -> bool:
    """MultiMail's message.sent: the draft.sent callback. True when the email is one of our drafts."""
    email_id = required_email_id(payload)
    draft = Draft.objects.filter(email_id=email_id).first()
    if draft is None:
        return False
    mailbox = envelope_mailbox(payload)
    if mailbox is not None and mailbox.mailbox_id != draft.mailbox_id:
        # A delivery verified with one mailbox's secret may not speak for another mailbox's draft.
        raise PayloadError(f"message.sent names a draft of another mailbox than {mailbox.mailbox_id}")
    callback_queue(draft_id=draft.pk, event=CallbackDelivery.Event.SENT, happened_at=_when(payload))
    return True


def _when(payload: dict):
    raw = payload.get("timestamp") or payload.get("created_at")
    parsed = parse_datetime(raw) if isinstance(raw, str) else None
    return parsed or timezone.now()
