"""Keeping the conversation beside a draft fresh ahead of the reviewer, off the request path.

An approval stands on a snapshot Intercom confirmed within CONTEXT_MAX_AGE; an older one is read again
inside the approval (decisions._conversation_recheck), an Intercom round trip the reviewer waits on.
So when a reviewer opens a draft, its conversation and those of the next few drafts in queue order
(where "next" lands) are read again by a worker once their snapshots are older than half of
CONTEXT_MAX_AGE; the queue page does the same for its first rows. The approval that follows then
finds a recently confirmed snapshot. A read that finds a change stores it exactly as the approval's
own re-check does (snapshot_store, then drafts_context_changed): the drafts are flagged again, and
an approval of the view shown before is refused as conversation_changed. The approval's re-check
stays as the safety net for whatever the background did not reach in time.

For the pages: `context_refresh_from(draft=)` and `context_refresh_of(draft_ids=)` cost one query when
nothing is stale, plus one Redis round trip (the per-conversation dedupe) and one send when something
is; neither ever raises. For the task: `drafts_context_refresh(draft_ids=)`.
"""

import logging
from datetime import timedelta

import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from reviewqueue.review import enqueue
from reviewqueue.review.clients import intercom_client
from reviewqueue.review.ingest import drafts_context_changed
from reviewqueue.review.models import Draft

log = logging.getLogger(__name__)

AHEAD = 5  # drafts after the one opened: "next" lands on them, at a few seconds each
QUEUE_HEAD = 5  # the queue page's first rows: `j`, Enter opens the first
REFRESH_TIMEOUT = 5.0  # seconds: one attempt; a refresh that comes later than this is of no use
DEDUPE_PREFIX = "rq:context-refresh:"

# The draft opened and the next pending drafts in queue order (the draft_queue index), those of them
# whose latest snapshot Intercom last confirmed before the cutoff: one statement.
_STALE_FROM_SQL = """
SELECT d.id, d.conversation_id FROM (
  SELECT id, conversation_id, latest_snapshot_id, waiting_since FROM review_draft
  WHERE status = %(pending)s AND (waiting_since, id) >= (%(since)s, %(id)s)
  ORDER BY waiting_since, id LIMIT %(limit)s) d
JOIN intercom_conversationsnapshot s ON s.id = d.latest_snapshot_id
WHERE s.checked_at < %(cutoff)s AND d.conversation_id <> ''
ORDER BY d.waiting_since, d.id
"""
_STALE_OF_SQL = """
SELECT d.id, d.conversation_id FROM review_draft d
JOIN intercom_conversationsnapshot s ON s.id = d.latest_snapshot_id
WHERE d.id = ANY(%(ids)s) AND d.status = %(pending)s AND s.checked_at < %(cutoff)s AND d.conversation_id <> ''
ORDER BY array_position(%(ids)s, d.id)
"""


def refresh_age() -> timedelta | None:
    """How old a snapshot may be before it is read again ahead of the reviewer: half of CONTEXT_MAX_AGE,
    so a draft refreshed when it came into view still passes the approval's check a while later. None
    when CONTEXT_MAX_AGE is 0: every approval reads the conversation itself, and a refresh gains nothing."""
    if settings.CONTEXT_MAX_AGE <= 0:
        return None
    return timedelta(seconds=settings.CONTEXT_MAX_AGE / 2)


def conversation_reread(conversation_id: str, *, timeout: float):
    """Read the conversation from Intercom (one attempt within `timeout` seconds) and store it as the
    approval's re-check does: a new state becomes the latest snapshot and its pending drafts are
    flagged again; the same state only marks the latest snapshot as confirmed now. Raises IntercomError."""
    from reviewqueue.integrations.intercom.services import snapshot_store

    conversation = intercom_client().quick(timeout=timeout).get_conversation(conversation_id)
    snapshot = snapshot_store(conversation=conversation)
    drafts_context_changed(conversation_id=conversation_id, snapshot_id=snapshot.pk)
    return snapshot


# --- the task's service ----------------------------------------------------------------------------


def drafts_context_refresh(*, draft_ids: list[int]) -> int:
    """Read again the conversations of these drafts whose snapshots are (still) older than refresh_age();
    how many were read. Asked again here, not trusted from when it was queued: a webhook, an approval
    or another refresh may have confirmed one since. Intercom failing is logged and left to the
    approval's own re-check."""
    from reviewqueue.integrations.intercom.client import IntercomError

    age = refresh_age()
    if age is None or not draft_ids:
        return 0
    read = 0
    for draft_id, conversation_id in _stale(_STALE_OF_SQL, {"ids": list(draft_ids)}, age):
        try:
            conversation_reread(conversation_id, timeout=REFRESH_TIMEOUT)
        except IntercomError as error:
            log.warning("context refresh failed", extra={"draft_id": draft_id, "error": repr(error)})
            continue
        read += 1
    return read


# --- for the pages ---------------------------------------------------------------------------------


def context_refresh_from(*, draft: Draft) -> None:
    """The draft page: queue a refresh of this draft's conversation and the next AHEAD drafts' that need one."""
    params = {"since": draft.waiting_since, "id": draft.pk, "limit": AHEAD + 1}
    _refresh_queued(_STALE_FROM_SQL, params)


def context_refresh_of(*, draft_ids: list[int]) -> None:
    """The queue page: queue a refresh of these drafts' conversations that need one (its first rows)."""
    if draft_ids:
        _refresh_queued(_STALE_OF_SQL, {"ids": list(draft_ids)})


def _refresh_queued(sql: str, params: dict) -> None:
    """Never raises for Redis or the broker: a page must not fail, nor wait long, for a refresh not queued."""
    age = refresh_age()
    if age is None:
        return
    try:
        stale = _stale(sql, params, age)
        if not stale:
            return
        claimed = _claim_conversations(stale)
        ids = [draft_id for draft_id, _ in claimed]
        if claimed and not enqueue.context_refresh(ids, expires=age.total_seconds()):
            _release_conversations(claimed)  # the broker is away: let the next page view try again
    except redis.RedisError as error:
        log.warning("context refresh not queued: %r", error)


def _stale(sql: str, params: dict, age: timedelta) -> list[tuple[int, str]]:
    """(draft id, conversation id) of the drafts the statement picks whose snapshots are older than `age`,
    one per conversation, in the statement's order."""
    params = {**params, "pending": Draft.Status.PENDING, "cutoff": timezone.now() - age}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    seen, unique = set(), []
    for draft_id, conversation_id in rows:
        if conversation_id not in seen:
            seen.add(conversation_id)
            unique.append((draft_id, conversation_id))
    return unique


# --- dedupe: one refresh queued per conversation per refresh_age() -------------------------------------

_redis_clients: dict[str, redis.Redis] = {}


def _redis() -> redis.Redis:
    url = settings.REDIS_URL
    if url not in _redis_clients:  # short timeouts: a page waits on this
        _redis_clients[url] = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    return _redis_clients[url]


def _claim_conversations(stale: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Those of `stale` whose conversation no page queued a refresh for lately (SET NX, one round trip).

    The key lives as long as a refreshed snapshot stays fresh enough not to be asked for again, so
    repeated views of the same drafts queue one refresh, not one each."""
    ttl = max(1, int(refresh_age().total_seconds()))
    pipe = _redis().pipeline(transaction=False)
    for _, conversation_id in stale:
        pipe.set(DEDUPE_PREFIX + conversation_id, 1, nx=True, ex=ttl)
    return [row for row, claimed in zip(stale, pipe.execute(), strict=True) if claimed]


def _release_conversations(claimed: list[tuple[int, str]]) -> None:
    _redis().delete(*(DEDUPE_PREFIX + conversation_id for _, conversation_id in claimed))
