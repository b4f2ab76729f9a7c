"""Readiness: the last successful poll of MultiMail's pending list (see reviewqueue/health.py).

Not ready only when a poll has succeeded before and the last success is older than
STALE_POLLS intervals (at least five minutes): the webhook path may be quiet, but the safety net
must be running. Before the first successful poll (a fresh deployment, a test run, Redis just
flushed) the check answers ready with "no poll yet": failing /readyz then would keep a new
deployment from ever starting, and the poll records its first success within one interval.
"""

from django.conf import settings
from django.utils import timezone

from reviewqueue.health import readiness_check

STALE_POLLS = 5
MIN_STALE_SECONDS = 300


def poll_staleness_limit() -> float:
    return max(STALE_POLLS * settings.POLL_INTERVAL, MIN_STALE_SECONDS)


@readiness_check("poll")
def poll_ready() -> tuple[bool, str]:
    from reviewqueue.review.poll import poll_last_success

    try:
        last = poll_last_success()
    except Exception as error:  # the cache (Redis) is down: the broker check reports that already
        return True, f"unknown ({type(error).__name__})"
    if last is None:
        return True, "no poll yet"
    age = (timezone.now() - last).total_seconds()
    if age > poll_staleness_limit():
        return False, f"last successful poll {int(age)} s ago"
    return True, f"ok ({int(age)} s ago)"
