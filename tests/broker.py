"""The test run's own Redis database (REDIS_URL), read back as the broker: which tasks were really sent.

Tasks are published for real through Celery; no test replaces `.delay`. The `broker` fixture in
tests/conftest.py empties the database before and after each test that asks for it.
"""

import base64
import json

import redis
from django.conf import settings

from reviewqueue.queueing import KEPT_SINCE_KEY

QUEUE = "celery"  # Celery's default queue: a Redis list, newest message pushed on the left


class Broker:
    def __init__(self):
        self.redis = redis.Redis.from_url(settings.REDIS_URL)

    def flush(self):
        self.redis.flushdb()  # only the test run's own database (REDIS_URL points at it)

    def kept_messages_since(self, when):
        """As if the broker had kept its messages since `when` (the sweepers' date of its last loss of
        them, reviewqueue/queueing.py): without it, the first sweep after the fixture's flush dates the loss."""
        self.redis.set(KEPT_SINCE_KEY, when.timestamp())

    def queued(self) -> list[tuple[str, list]]:
        """(task name, positional args) of every message waiting, oldest first."""
        found = []
        for raw in self.redis.lrange(QUEUE, 0, -1):
            message = json.loads(raw)
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            found.append((message["headers"]["task"], args))
        return list(reversed(found))

    def names(self) -> list[str]:
        return [name for name, _ in self.queued()]
