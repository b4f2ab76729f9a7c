"""Later MultiMail events on a draft: decided in MultiMail, delivered, bounced, replied to.

For other engineers
-------------------
- `draft_event_from_multimail(event_type=, email_id=, payload=) -> bool` — MultiMail's webhook task.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.html import escape

from reviewqueue.audit.services import Actor, audit_record
from reviewqueue.review import enqueue
from reviewqueue.review.ingest import draft_receive
from reviewqueue.review.models import Draft, OutboxItem
from reviewqueue.review.poll import draft_check_decided_elsewhere


def draft_event_from_multimail(*, event_type: str, email_id: str, payload: dict) -> bool:
    """Apply a MultiMail webhook event to its draft. True when a draft took notice.

    oversight.approved/rejected on a draft still pending here → read back from MultiMail, and
    decided elsewhere when MultiMail no longer holds it;
    message.delivered/bounced → recorded and told to the conversation (once);
    message.received on the draft's thread → the customer replied (recorded, told once).
    oversight.pending → received (the webhook fast path), when the payload names the mailbox.
    """
    handler = _EVENT_HANDLERS.get(event_type)
    if handler is None:
        return False
    return handler(email_id, payload or {})


def _event_pending(email_id: str, payload: dict) -> bool:
    mailbox_id = payload.get("mailbox_id") or payload.get("mailbox") or ""
    if isinstance(mailbox_id, dict):
        mailbox_id = mailbox_id.get("id", "")
    if not email_id or not mailbox_id:
        return False
    draft_receive(email_id=email_id, mailbox_id=str(mailbox_id), source="webhook", actor=Actor.system("multimail"))
    return True


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


_EVENT_HANDLERS = {
    "oversight.pending": _event_pending,
    "oversight.approved": _event_decided,
    "oversight.rejected": _event_decided,
    "message.delivered": _event_delivered,
    "message.bounced": _event_bounced,
    "message.received": _event_reply,
}
