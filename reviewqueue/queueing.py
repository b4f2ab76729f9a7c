"""Queueing a task whose work is already committed in PostgreSQL: a broker that is down loses nothing.

Every durable work row (review's outbox items and fetches, callback deliveries, Slack deliveries) is
written first and queued after its commit; each app's sweeper queues again whatever is still due
once the broker is back, and the worker takes each row with a guarded update (reviewqueue/leases.py),
so a second message is harmless. An error from the broker at that point would only turn committed
work (a reviewer's decision, an admin's redelivery) into a failure for the caller: it is logged here
instead. Work that is NOT committed anywhere (a Slack button's payload) must not be sent this way.

Work that is committed nowhere and whose loss costs nothing but a little speed (review/context.py's
refresh of a conversation ahead of the reviewer) goes through send_best_effort: one attempt, no
publish retries, so a page that queues it is not held up while the broker is away.

When the broker itself loses its messages (Redis restarted without persistence, or flushed), the
sweepers learn when from broker_messages_kept_since: anything due before that time has no message left,
so they re-drive it at once instead of waiting out the grace they give work that may still be queued.

Neutral on purpose: review/, callbacks/ and slack/ all queue through it, and it imports none of them.
"""

import contextlib
import functools
import logging
import os
import threading
from datetime import UTC, datetime

import kombu.exceptions
import redis
from kombu.pools import ProducerPool

from reviewqueue.celery import app

log = logging.getLogger(__name__)


def send_committed(name: str, args: tuple, **options) -> bool:
    """Send task `name`; False (logged, left to the sweeper) when the broker cannot be reached."""
    try:
        app.send_task(name, args=args, **options)
    except kombu.exceptions.OperationalError as error:
        log.warning("not queued, left to the sweeper: %s%s: %s", name, args, error)
        return False
    return True


def send_best_effort(name: str, args: tuple, **options) -> bool:
    """Send task `name` once, without publish retries; False (logged) when the broker cannot take it.

    For work nothing depends on: the caller (a page a person waits for) goes on either way.
    """
    pool = _pool_without_retries()
    try:
        with pool.acquire(block=True, timeout=1) as producer:
            app.send_task(name, args=args, producer=producer, retry=False, **options)
    # Any failure of the broker's: kombu's own, and redis-py's that its transport lets through (a
    # Redis at maxmemory answers the push with a ResponseError).
    except (kombu.exceptions.KombuError, redis.RedisError, OSError) as error:
        log.warning("not queued (best effort): %s%s: %s", name, args, error)
        _pool_drop()  # its connections may be broken: the next send builds a new one
        return False
    return True


# In the broker's own database, so whatever drops the messages (a restart without persistence, a FLUSHDB)
# drops these keys with them.
KEPT_SINCE_KEY = "reviewqueue:broker:messages-kept-since"
_REDRIVEN_KEY = "reviewqueue:broker:redriven-after-loss:{}"


def broker_messages_kept_since() -> datetime | None:
    """Since when the broker has kept its messages: the time this sentinel was first set in its database
    (set to now when missing, i.e. the first ask after a loss). Work queued before it may have lost its
    message; work queued after it has one, unless lost since. None (logged) when the broker is unreachable.

    The first ask after a loss sets it up to a sweep's interval late: work queued in between is re-driven
    once too many, which the guarded takes make harmless."""
    try:
        with _broker_redis().pipeline(transaction=False) as pipe:
            pipe.set(KEPT_SINCE_KEY, datetime.now(UTC).timestamp(), nx=True)
            pipe.get(KEPT_SINCE_KEY)
            _, since = pipe.execute()
    except redis.RedisError as error:
        log.warning("broker unreachable, no loss of its messages known: %s", error)
        return None
    return datetime.fromtimestamp(float(since), tz=UTC)


def lost_with_the_broker(sweeper: str, rows, *, queued_at: str, limit: int) -> list[int]:
    """Ids of `rows` (a queryset) queued (their field `queued_at`) before the broker last lost its messages
    and not yet handed out by `sweeper` since that loss, at most `limit`, lowest first; [] when the broker
    is unreachable. For rows with no due time of their own to push forward: the broker keeps the last id
    handed out (lost with its messages), so each row is handed out once per loss. The caller re-drives them."""
    lost_before = broker_messages_kept_since()
    if lost_before is None:
        return []
    key = _REDRIVEN_KEY.format(sweeper)
    try:
        after = int(_broker_redis().get(key) or 0)
        ids = list(
            rows.filter(**{f"{queued_at}__lt": lost_before}, pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            _broker_redis().set(key, ids[-1])
    except redis.RedisError as error:
        log.warning("broker unreachable, %s re-drives nothing lost with it: %s", sweeper, error)
        return []
    return ids


def _broker_redis() -> redis.Redis:
    # Celery names a Unix socket redis+socket://; redis-py, unix://.
    return _redis_for(app.conf.broker_url.replace("redis+socket://", "unix://", 1))


@functools.cache
def _redis_for(url: str) -> redis.Redis:
    # One client (one connection pool) per broker URL, not one per sweep's call. Short timeouts: a sweep must not hang.
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


# Producers whose connections give up at the first refusal. Celery's pooled ones retry connecting for
# about 6 s (kombu's default_channel, within broker_connection_timeout) even with retry=False: a page
# would wait that long on a broker that is down. A connection made per send costs ~15 ms; pooled, ~1 ms.
_pools: dict[tuple, ProducerPool] = {}
_pools_lock = threading.Lock()


def _pool_key() -> tuple:
    return (os.getpid(), app.conf.broker_url)  # a forked process, or a test that moved the broker, gets its own


def _pool_without_retries() -> ProducerPool:
    key = _pool_key()
    with _pools_lock:
        if key not in _pools:
            options = {**(app.conf.broker_transport_options or {}), "max_retries": 0}
            connections = app.connection_for_write(transport_options=options).Pool(limit=app.pool.limit)
            _pools[key] = ProducerPool(connections, Producer=app.amqp.Producer)
        return _pools[key]


def _pool_drop() -> None:
    with _pools_lock:
        dropped = _pools.pop(_pool_key(), None)
    if dropped is not None:
        with contextlib.suppress(Exception):  # closing what is already broken may fail too; nothing to do then
            dropped.force_close_all()
