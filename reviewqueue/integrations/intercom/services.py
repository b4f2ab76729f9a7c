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
    return hashlib.sha256(_canonical_json(data).encode()).hexdigest()


def snapshot_latest(conversation_id: str) -> ConversationSnapshot | None:
    return ConversationSnapshot.objects.filter(conversation_id=conversation_id).order_by("-id").first()


def snapshot_latest_team_and_tags(conversation_id: str) -> tuple[str, frozenset[str]] | None:
    """The latest snapshot's team and tag names (lower case), or None when there is no snapshot: what
    routing reads of a conversation, without loading and parsing the whole of it (its parts)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT data->>'team_assignee_id', data->'tags' FROM intercom_conversationsnapshot"
            " WHERE conversation_id = %s ORDER BY id DESC LIMIT 1",
            [conversation_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    team, tags = row  # tags as JSON text: Django has psycopg leave jsonb undecoded
    return team or "", frozenset((tag.get("name") or "").lower() for tag in json.loads(tags or "[]"))


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


# The lock, then the head read by its own statement (so it sees what the lock's last holder
# committed), in one round trip; only the columns the comparison needs, not the stored conversation.
_LOCK_AND_READ_LATEST = (
    "SELECT pg_advisory_xact_lock(%s); "
    "SELECT id, content_hash, conversation_updated_at FROM intercom_conversationsnapshot "
    "WHERE conversation_id = %s ORDER BY id DESC LIMIT 1"
)
_INSERT = (
    "INSERT INTO intercom_conversationsnapshot "
    "(conversation_id, fetched_at, checked_at, conversation_updated_at, data, content_hash) "
    "VALUES (%s, %s, %s, %s, %s::jsonb, %s) RETURNING id"
)


def snapshot_store(*, conversation: Conversation, at: datetime | None = None) -> ConversationSnapshot:
    """Keep the conversation as a new snapshot when it changed; else the latest one (its `data` loaded on use).

    `at`: when it was fetched, if not now (history replayed in time order; see audit_record_many)."""
    data = conversation.to_data()
    # The text content_hash hashes is also what is stored (jsonb keeps the same value): encoded once.
    text = _canonical_json(data)
    digest = hashlib.sha256(text.encode()).hexdigest()
    now = at or timezone.now()
    # No savepoint of its own inside a caller's transaction (the poll stores a batch of drafts in
    # one): a failure here fails that transaction, and no caller carries on after one.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(_LOCK_AND_READ_LATEST, [snapshot_lock_key(conversation.id), conversation.id])
        cursor.nextset()
        latest = cursor.fetchone()
        if latest is not None:
            latest_id, latest_digest, latest_updated_at = latest
            older = latest_updated_at and conversation.updated_at and conversation.updated_at < latest_updated_at
            if older:
                return ConversationSnapshot.objects.defer("data").get(pk=latest_id)
            if latest_digest == digest:
                ConversationSnapshot.objects.filter(pk=latest_id).update(checked_at=now)
                return ConversationSnapshot.objects.defer("data").get(pk=latest_id)
        row = (conversation.id, now, now, conversation.updated_at, text, digest)
        cursor.execute(_INSERT, row)
        (snapshot_id,) = cursor.fetchone()
    return ConversationSnapshot.from_db(
        connection.alias,
        ("id", "conversation_id", "fetched_at", "checked_at", "conversation_updated_at", "data", "content_hash"),
        (snapshot_id, conversation.id, now, now, conversation.updated_at, data, digest),
    )


def _canonical_json(data: dict) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def snapshot_lock_key(conversation_id: str) -> int:
    """The advisory lock (transaction-scoped) that serializes snapshot writes for one conversation;
    a transaction storing several takes them in the order of this key."""
    return zlib.crc32(f"intercom-snapshot:{conversation_id}".encode())
