"""What MultiMail's webhook events do to drafts: held (received for review), decided in MultiMail,
delivered, bounced, replied to.

The integration layer keeps the one table of handlers (integrations/multimail/events.py) and never
imports review; `multimail_handlers_register()`, called from ReviewConfig.ready(), fills it with the
handlers below. Each takes the stored payload and returns True when a draft took notice.

For other engineers
-------------------
- `multimail_handlers_register()` — ReviewConfig.ready() only.
- `oversight_pending`, `oversight_decided`, `message_sent`, `message_delivered`, `message_bounced`,
  `message_received` — the handlers; MultiMail's webhook task runs them through the table. Other
  apps hear of sent, delivered and bounced through review/signals.py's `email_event_recorded`
  (the table holds one handler per event).
"""

from datetime import datetime
from functools import partial

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.html import escape

from reviewqueue.audit.services import Actor, audit_record
from reviewqueue.integrations.multimail.events import (
    PayloadError,
    envelope_mailbox,
    event_type_of,
    handler_register,
    mailbox_id_of,
    required_email_id,
)
from reviewqueue.review import enqueue
from reviewqueue.review.ingest import draft_receive
from reviewqueue.review.models import Draft, OutboxItem
from reviewqueue.review.poll import draft_check_decided_elsewhere
from reviewqueue.review.signals import send_email_event_recorded, send_email_sent


def multimail_handlers_register() -> None:
    """What each MultiMail webhook event does, registered with the integration layer (ReviewConfig.ready())."""
    handler_register("oversight.pending", oversight_pending)
    handler_register("oversight.approved", oversight_decided)
    handler_register("oversight.rejected", oversight_decided)
    handler_register("message.sent", message_sent)
    handler_register("message.delivered", message_delivered)
    handler_register("message.bounced", message_bounced)
    handler_register("message.received", message_received)


def oversight_pending(payload: dict) -> bool:
    """A draft held for approval: received for review (the webhook's fast path; the poll is the safety net)."""
    email_id = required_email_id(payload)
    mailbox = envelope_mailbox(payload)
    mailbox_id = mailbox.mailbox_id if mailbox is not None else mailbox_id_of(payload)
    if not mailbox_id:
        raise PayloadError("oversight.pending payload has no mailbox")
    _, created = draft_receive(
        email_id=email_id,
        mailbox_id=mailbox_id,
        source="webhook",
        actor=Actor.system("multimail_webhook"),
    )
    return created


def oversight_decided(payload: dict) -> bool:
    return _event_decided(_draft_email_id(payload), payload)


def message_sent(payload: dict) -> bool:
    """Nothing to record on the draft: other apps are told (callbacks to agents). Only the email
    itself counts: another email sent on the draft's thread is not the draft being sent.

    Every sent email of a mailbox we know, our draft or not, is also told as `email_sent` (a
    monitored mailbox's sends are spot-checked by oversight, which cannot own this event too)."""
    email_id = _draft_email_id(payload)
    draft = Draft.objects.filter(email_id=email_id).first()
    when = _event_timestamp(payload)
    mailbox = envelope_mailbox(payload)
    heard = False
    if mailbox is not None:
        draft_id = draft.pk if draft is not None else None
        heard = send_email_sent(email_id=email_id, mailbox_id=mailbox.mailbox_id, draft_id=draft_id, at=when)
    if draft is None:
        return heard
    transaction.on_commit(partial(send_email_event_recorded, draft_id=draft.pk, action="email.sent", at=when))
    return True


def message_delivered(payload: dict) -> bool:
    return _event_delivered(_draft_email_id(payload), payload)


def message_bounced(payload: dict) -> bool:
    return _event_bounced(_draft_email_id(payload), payload)


def message_received(payload: dict) -> bool:
    return _event_reply(_draft_email_id(payload), payload)


def _draft_email_id(payload: dict) -> str:
    """The email an event on a draft names; refused when it names a draft of another mailbox than the envelope's."""
    email_id = required_email_id(payload)
    _refuse_other_mailboxes_drafts(payload, email_id=email_id)
    return email_id


def _refuse_other_mailboxes_drafts(payload: dict, *, email_id: str) -> None:
    mailbox = envelope_mailbox(payload)
    if mailbox is None:
        return  # verified by MULTIMAIL_WEBHOOK_SECRET, the whole account's subscription
    thread_id = payload.get("thread_id")
    named = Q(email_id=email_id) | (Q(thread_id=thread_id) if isinstance(thread_id, str) and thread_id else Q())
    if Draft.objects.filter(named).exclude(mailbox_id=mailbox.mailbox_id).exists():
        raise PayloadError(f"{event_type_of(payload)} names a draft of another mailbox than {mailbox.mailbox_id}")


def _event_decided(email_id: str, payload: dict) -> bool:
    """oversight.approved/rejected: believed only once MultiMail's own copy of the email says so.

    A signed event is still only the payload's word, and taking a draft out of review is for good
    (the poll skips drafts it knows): the email is read back, and the draft is marked decided
    elsewhere only when MultiMail no longer holds it. For a draft decided here, the outbox records
    MultiMail's answer itself.
    """
    draft = Draft.objects.filter(email_id=email_id).first()
    if draft is None:
        return False
    if draft.is_pending:
        draft_check_decided_elsewhere(draft_id=draft.pk)
    return True


def _draft_for_event(email_id: str, payload: dict) -> Draft | None:
    draft = Draft.objects.filter(email_id=email_id).first() if email_id else None
    thread_id = payload.get("thread_id") or ""
    if draft is None and thread_id:
        draft = Draft.objects.filter(thread_id=thread_id).order_by("-pk").first()
    return draft


def _event_timestamp(payload: dict) -> datetime:
    from django.utils.dateparse import parse_datetime

    raw = payload.get("timestamp") or payload.get("created_at")
    parsed = parse_datetime(raw) if isinstance(raw, str) else None
    return parsed or timezone.now()


def _event_record(*, email_id: str, payload: dict, field_name: str, action: str, note: str, extra=None) -> bool:
    draft = _draft_for_event(email_id, payload)
    if draft is None:
        return False
    when = _event_timestamp(payload)
    with transaction.atomic():
        updated = Draft.objects.filter(pk=draft.pk, **{f"{field_name}__isnull": True}).update(
            **{field_name: when}, **(extra or {}), updated_at=timezone.now()
        )
        if not updated:
            return True  # already recorded: a repeated or reordered delivery
        if draft.conversation_id:
            item = OutboxItem.objects.create(
                kind=OutboxItem.Kind.EVENT_NOTE,
                draft=draft,
                payload={"body_html": note.format(subject=escape(draft.subject))},
            )
            transaction.on_commit(lambda: enqueue.outbox_run(item.pk))
        # Last: the audit append holds the log's lock until commit, so nothing else waits behind it.
        audit_record(
            actor=Actor.system("multimail"),
            action=action,
            target_type="draft",
            target_id=draft.pk,
            payload={"email_id": draft.email_id, "event_email_id": email_id, "at": when, **(extra or {})},
        )
        transaction.on_commit(partial(send_email_event_recorded, draft_id=draft.pk, action=action, at=when))
    return True


def _event_delivered(email_id: str, payload: dict) -> bool:
    return _event_record(
        email_id=email_id,
        payload=payload,
        field_name="delivered_at",
        action="email.delivered",
        note="<p>Email «{subject}» was delivered.</p>",
    )


def _event_bounced(email_id: str, payload: dict) -> bool:
    bounce_type = str(payload.get("bounce_type") or "")[:64]
    return _event_record(
        email_id=email_id,
        payload=payload,
        field_name="bounced_at",
        action="email.bounced",
        note="<p>Email «{subject}» bounced" + (f" ({escape(bounce_type)})" if bounce_type else "") + ".</p>",
        extra={"bounce_type": bounce_type},
    )


def _event_reply(email_id: str, payload: dict) -> bool:
    if not payload.get("thread_id"):
        return False  # an inbound message is a reply to a draft only when it names the thread
    return _event_record(
        email_id=email_id,
        payload=payload,
        field_name="reply_received_at",
        action="email.reply_received",
        note="<p>The customer replied by email to «{subject}».</p>",
    )
