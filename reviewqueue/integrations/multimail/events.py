"""What each MultiMail webhook event does, dispatched through one dict.

Payload fields (multimail-notes.md): `event_type, mailbox, message_id, thread_id, timestamp` plus
event-specific ones. We also accept `email_id`/`mailbox_id` spellings, since MultiMail documents
the payload only loosely. A handler returns True when it acted, False when there was nothing to do.

The envelope's mailbox is the one whose subscription secret verified the delivery (webhooks.py), so
an event acts only on that mailbox's drafts: an email of another mailbox is refused.
"""

from collections.abc import Callable

from django.db.models import Q

from reviewqueue.integrations.inbound.models import InboundWebhook
from reviewqueue.integrations.inbound.services import inbound_settle
from reviewqueue.routing.models import Mailbox

Handler = Callable[[dict], bool]


class PayloadError(ValueError):
    """The payload lacks what its event needs; the record is marked failed, not retried."""


def event_type_of(payload: dict) -> str:
    for key in ("event_type", "event", "type"):
        value = payload.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def email_id_of(payload: dict) -> str:
    for key in ("message_id", "email_id"):
        value = payload.get(key)
        if isinstance(value, str) and value:
            return value
    data = payload.get("data")
    return email_id_of(data) if isinstance(data, dict) else ""


def mailbox_id_of(payload: dict) -> str:
    for key in ("mailbox_id", "mailbox"):
        value = payload.get(key)
        if isinstance(value, str) and value:
            return value
    data = payload.get("data")
    return mailbox_id_of(data) if isinstance(data, dict) else ""


def envelope_mailbox(payload: dict) -> Mailbox | None:
    """The mailbox the envelope names (`mailbox`: its id or address; `mailbox_id`), None when we know of none.

    Every name given must be that one mailbox's: a delivery cannot borrow one mailbox's secret with
    `mailbox` and act on another with `mailbox_id`.
    """
    names = {name for key in ("mailbox", "mailbox_id") if isinstance(name := payload.get(key), str) and name}
    known = list(Mailbox.objects.filter(Q(mailbox_id__in=names) | Q(address__in=names))[:2])
    if not known:
        return None
    mailbox = known[0]
    if len(known) > 1 or not names <= {mailbox.mailbox_id, mailbox.address}:
        raise PayloadError(f"the envelope names more than one mailbox: {', '.join(sorted(names))}")
    return mailbox


def _required_email_id(payload: dict) -> str:
    email_id = email_id_of(payload)
    if not email_id:
        raise PayloadError(f"{event_type_of(payload)} payload has no message_id")
    return email_id


def oversight_pending(payload: dict) -> bool:
    email_id = _required_email_id(payload)
    mailbox = envelope_mailbox(payload)
    mailbox_id = mailbox.mailbox_id if mailbox is not None else mailbox_id_of(payload)
    if not mailbox_id:
        raise PayloadError("oversight.pending payload has no mailbox")
    from reviewqueue.audit.services import Actor
    from reviewqueue.review.ingest import draft_receive

    _, created = draft_receive(
        email_id=email_id,
        mailbox_id=mailbox_id,
        source="webhook",
        actor=Actor.system("multimail_webhook"),
    )
    return created


def draft_event(payload: dict) -> bool:
    """Decisions made elsewhere, delivery, bounces and replies: the review core records them."""
    email_id = _required_email_id(payload)
    _refuse_other_mailboxes_drafts(payload, email_id=email_id)
    from reviewqueue.review.events import draft_event_from_multimail

    return draft_event_from_multimail(event_type=event_type_of(payload), email_id=email_id, payload=payload)


def _refuse_other_mailboxes_drafts(payload: dict, *, email_id: str) -> None:
    mailbox = envelope_mailbox(payload)
    if mailbox is None:
        return  # verified by MULTIMAIL_WEBHOOK_SECRET, the whole account's subscription
    from reviewqueue.review.models import Draft

    thread_id = payload.get("thread_id")
    named = Q(email_id=email_id) | (Q(thread_id=thread_id) if isinstance(thread_id, str) and thread_id else Q())
    if Draft.objects.filter(named).exclude(mailbox_id=mailbox.mailbox_id).exists():
        raise PayloadError(f"{event_type_of(payload)} names a draft of another mailbox than {mailbox.mailbox_id}")


HANDLERS: dict[str, Handler] = {
    "oversight.pending": oversight_pending,
    "oversight.approved": draft_event,
    "oversight.rejected": draft_event,
    "message.delivered": draft_event,
    "message.bounced": draft_event,
    "message.received": draft_event,
}


def webhook_event_handle(*, record_id: int, handlers: dict[str, Handler] | None = None) -> str:
    """Run the handler for a stored delivery and settle it: processed, ignored or failed.

    Transient errors (MultiMail or the database unavailable) propagate so the task can retry;
    a payload that cannot be acted on is marked failed with the reason.
    """
    handlers = HANDLERS if handlers is None else handlers
    record = InboundWebhook.objects.filter(pk=record_id, source=InboundWebhook.Source.MULTIMAIL).first()
    if record is None:
        return "missing"
    if record.status in (InboundWebhook.Status.PROCESSED, InboundWebhook.Status.IGNORED):
        return record.status  # a redelivered task: already settled
    handler = handlers.get(record.topic)
    if handler is None:
        status = InboundWebhook.Status.IGNORED
        inbound_settle(record_id=record_id, status=status)
        return status
    try:
        acted = handler(record.payload)
    except PayloadError as error:
        inbound_settle(record_id=record_id, status=InboundWebhook.Status.FAILED, error=str(error))
        return InboundWebhook.Status.FAILED
    status = InboundWebhook.Status.PROCESSED if acted else InboundWebhook.Status.IGNORED
    inbound_settle(record_id=record_id, status=status)
    return status
