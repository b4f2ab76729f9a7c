"""Handling a stored Intercom notification: dispatch on its topic through a dict.

Each conversation topic means "this conversation changed": refresh its snapshot from the API and
tell the review queue, which marks drafts written before the change. Notifications arrive out of
order and more than once, so a notification is skipped when the latest snapshot already shows
Intercom's state after it (the conversation's `updated_at` is later than the notification's
`created_at`, both on Intercom's clock).
"""

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from django.dispatch import Signal

from reviewqueue.integrations.inbound.models import InboundWebhook
from reviewqueue.integrations.inbound.services import inbound_settle
from reviewqueue.integrations.intercom.client import shared_intercom_client
from reviewqueue.integrations.intercom.services import snapshot_is_newer_than, snapshot_refresh

logger = logging.getLogger(__name__)

# Every note reviewqueue writes ends with "(reviewqueue decision N)" or "(reviewqueue event N)".
OWN_NOTE_MARKER = "(reviewqueue "

PING_TOPIC = "ping"

# Sent with conversation_id and snapshot_id once a conversation's snapshot is refreshed; each receiver
# answers how many drafts it flagged. The review app receives it (see its apps.py): it depends on this
# app, not the other way round.
conversation_refreshed = Signal()
CONVERSATION_TOPICS = frozenset(
    {
        "conversation.user.created",
        "conversation.user.replied",
        "conversation.admin.replied",
        "conversation.admin.noted",
        "conversation.admin.closed",
        "conversation.admin.opened",
        "conversation.admin.assigned",
        "conversation.admin.snoozed",
        "conversation.admin.unsnoozed",
        "conversation.operator.replied",
    }
)


def conversation_id_of(notification: dict) -> str:
    data = notification.get("data")
    item = data.get("item") if isinstance(data, dict) else None
    found = item.get("id") if isinstance(item, dict) else None
    return str(found) if isinstance(found, str | int) and found != "" else ""


def notified_at(notification: dict) -> datetime | None:
    value = notification.get("created_at")
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value, tz=UTC)
    return None


def conversation_changed(notification: dict) -> str:
    """Refresh the snapshot and flag drafts; returns what was done (for the record's error/note)."""
    if newest_part_is_our_own_note(notification):
        # Our own note (a decision carried out, a delivery) tells a reviewer nothing new; refreshing on
        # it would cost a fetch and a queue scan for every decision. (The receiver settles most of
        # these itself; one stored before it did, or redriven, ends here.)
        return "our own note: nothing changed for reviewers"
    conversation_id = conversation_id_of(notification)
    moment = notified_at(notification)
    if moment is not None and snapshot_is_newer_than(conversation_id, moment):
        return "superseded: the latest snapshot is newer than this notification"
    snapshot = snapshot_refresh(conversation_id=conversation_id, client=shared_intercom_client())
    answers = conversation_refreshed.send(sender=None, conversation_id=conversation_id, snapshot_id=snapshot.pk)
    flagged = sum(answer for _, answer in answers)
    return f"snapshot {snapshot.pk}; {flagged} draft(s) flagged"


def newest_part_is_our_own_note(notification: dict) -> bool:
    if notification.get("topic") != "conversation.admin.noted":
        return False
    data = notification.get("data")
    item = data.get("item") if isinstance(data, dict) else None
    listing = item.get("conversation_parts") if isinstance(item, dict) else None
    parts = listing.get("conversation_parts") if isinstance(listing, dict) else None
    if not isinstance(parts, list) or not parts or not isinstance(parts[-1], dict):
        return False
    newest = parts[-1]
    return newest.get("part_type") == "note" and OWN_NOTE_MARKER in str(newest.get("body") or "")


TOPIC_HANDLERS: dict[str, Callable[[dict], str]] = dict.fromkeys(CONVERSATION_TOPICS, conversation_changed)


def notification_handle(*, record_id: int) -> str | None:
    """Handle one stored notification once it is `received`; settles it. Returns the settled status.

    Raises IntercomError from the fetch (the task retries); the row stays `received` meanwhile.
    """
    record = InboundWebhook.objects.filter(
        pk=record_id, source=InboundWebhook.Source.INTERCOM, status=InboundWebhook.Status.RECEIVED
    ).first()
    if record is None:  # already handled (a redriven or duplicated task), or not ours
        return None
    InboundWebhook.objects.filter(pk=record_id).update(attempts=record.attempts + 1)
    handler = TOPIC_HANDLERS.get(record.topic)
    if handler is None:
        inbound_settle(record_id=record_id, status=InboundWebhook.Status.IGNORED)
        return InboundWebhook.Status.IGNORED
    outcome = handler(record.payload)
    logger.info("intercom %s %s: %s", record.topic, record.delivery_id, outcome)
    inbound_settle(record_id=record_id, status=InboundWebhook.Status.PROCESSED)
    return InboundWebhook.Status.PROCESSED
