"""MultiMail's webhook events: reading their payloads, and one table of what handles each type.

Payload fields (multimail-notes.md): `event_type, mailbox, message_id, thread_id, timestamp` plus
event-specific ones. We also accept `email_id`/`mailbox_id` spellings, since MultiMail documents
the payload only loosely. A handler returns True when it acted, False when there was nothing to do.

The integration layer does not know what an event means to a draft: the review app registers its
handlers here from its AppConfig.ready() (`handler_register`), so this layer never imports it. An
event type nobody registered is stored by the receiver for the record and marked ignored.

The envelope's mailbox is the one whose subscription secret verified the delivery (webhooks.py), so
an event acts only on that mailbox's drafts: the handlers refuse an email of another mailbox.
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


def required_email_id(payload: dict) -> str:
    email_id = email_id_of(payload)
    if not email_id:
        raise PayloadError(f"{event_type_of(payload)} payload has no message_id")
    return email_id


_HANDLERS: dict[str, Handler] = {}


def handler_register(event_type: str, handler: Handler) -> None:
    """Make `handler` the one that acts on `event_type`. Registering it again is harmless; a second one is a bug."""
    registered = _HANDLERS.setdefault(event_type, handler)
    if registered is not handler:
        raise ValueError(f"{event_type} already has a handler: {registered.__module__}.{registered.__qualname__}")


def handler_for(event_type: str) -> Handler | None:
    """The handler registered for the event type, None when nobody acts on it."""
    return _HANDLERS.get(event_type)


def handled_event_types() -> frozenset[str]:
    return frozenset(_HANDLERS)


def webhook_event_handle(*, record_id: int, handlers: dict[str, Handler] | None = None) -> str:
    """Run the handler for a stored delivery and settle it: processed, ignored or failed.

    Transient errors (MultiMail or the database unavailable) propagate so the task can retry;
    a payload that cannot be acted on is marked failed with the reason.
    """
    record = InboundWebhook.objects.filter(pk=record_id, source=InboundWebhook.Source.MULTIMAIL).first()
    if record is None:
        return "missing"
    if record.status in (InboundWebhook.Status.PROCESSED, InboundWebhook.Status.IGNORED):
        return record.status  # a redelivered task: already settled
    handler = handler_for(record.topic) if handlers is None else handlers.get(record.topic)
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
