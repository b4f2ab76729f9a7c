"""Conversation snapshots: fetch a conversation from Intercom and keep it when it changed."""

import hashlib
import json
import zlib
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from reviewqueue.integrations.intercom.models import ConversationSnapshot
from reviewqueue.integrations.intercom.types import Conversation


def content_hash(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def snapshot_latest(conversation_id: str) -> ConversationSnapshot | None:
    return ConversationSnapshot.objects.filter(conversation_id=conversation_id).order_by("-id").first()


def snapshot_is_newer_than(conversation_id: str, moment: datetime) -> bool:
    """Whether the latest snapshot already reflects Intercom's state after `moment` (Intercom's clock).

    Strictly later: Intercom times are whole seconds, so a snapshot updated in the same second as
    a notification may predate the change it announces.
    """
    latest = snapshot_latest(conversation_id)
    return bool(latest and latest.conversation_updated_at and latest.conversation_updated_at > moment)


def snapshot_refresh(*, conversation_id: str, client=None) -> ConversationSnapshot:
    """Fetch the conversation now and store it when it differs from the latest snapshot.

    Never lets an older state replace a newer one: two workers may fetch the same conversation
    at once and finish in either order, so a fetch whose Intercom `updated_at` is older than the
    latest snapshot's is dropped. Raises the client's IntercomError on failure (nothing stored).
    """
    if client is None:
        from reviewqueue.integrations.intercom.client import get_intercom_client

        with get_intercom_client() as own_client:
            return snapshot_refresh(conversation_id=conversation_id, client=own_client)
    conversation = client.get_conversation(conversation_id)  # outside the transaction: no I/O under a lock
    return snapshot_store(conversation=conversation)


def snapshot_store(*, conversation: Conversation) -> ConversationSnapshot:
    data = conversation.to_data()
    digest = content_hash(data)
    now = timezone.now()
    with transaction.atomic():
        _lock_conversation(conversation.id)
        latest = snapshot_latest(conversation.id)
        if latest is not None:
            older = (
                latest.conversation_updated_at
                and conversation.updated_at
                and conversation.updated_at < latest.conversation_updated_at
            )
            if older:
                return latest
            if latest.content_hash == digest:
                ConversationSnapshot.objects.filter(pk=latest.pk).update(checked_at=now)
                latest.checked_at = now
                return latest
        return ConversationSnapshot.objects.create(
            conversation_id=conversation.id,
            fetched_at=now,
            checked_at=now,
            conversation_updated_at=conversation.updated_at,
            data=data,
            content_hash=digest,
        )


def _lock_conversation(conversation_id: str) -> None:
    """Serialize snapshot writes for one conversation (a transaction-scoped advisory lock)."""
    key = zlib.crc32(f"intercom-snapshot:{conversation_id}".encode())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
