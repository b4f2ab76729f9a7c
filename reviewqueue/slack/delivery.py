"""Carrying out a SlackDelivery: at least once, one worker at a time, never touching a decision.

The take is reviewqueue/leases.py's guarded update. A post calls chat.postMessage and keeps the
message's ts; an update waits for its post's ts, then calls chat.update with who decided, how and
when. Slack's errors (ok: false, 429 with Retry-After, timeouts) go back to pending with backoff
(honouring Retry-After) until MAX_ATTEMPTS; an error another try cannot mend (a channel that does
not exist) fails at once. A failure is logged and kept on the row; the decision stands whatever
Slack says.

Exactly once: the post's row is unique per draft and only its lease holder calls Slack. A worker
killed after Slack took the message but before the ts was stored leaves the lease to lapse, and a
timeout may come after Slack posted: chat.postMessage has no idempotency key (contracts/slack.md).
So every post carries metadata naming its delivery, and a retried post first looks for it in the
channel (conversations.history) and keeps the ts it finds instead of posting again.
"""

import logging
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.db.models import Q
from django.utils import timezone

from reviewqueue import leases
from reviewqueue.integrations.slack.blocks import decided_blocks, decided_text, request_blocks, request_text
from reviewqueue.integrations.slack.client import SlackError
from reviewqueue.slack import enqueue
from reviewqueue.slack.clients import slack_client
from reviewqueue.slack.messages import outcome_of, review_request
from reviewqueue.slack.models import SlackDelivery

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)  # longer than the task may run (tasks.py: 45 s): a lapsed lease means a dead worker
BACKOFF_BASE = 2.0  # seconds, doubling per attempt
BACKOFF_CAP = 600.0
MAX_ATTEMPTS = 12  # about an hour of trying
WAIT_FOR_POST = 3.0  # seconds before an update looks again for its post's ts
MARKER_EVENT = "reviewqueue_review_request"  # the post's metadata event_type


class _Later(Exception):
    """Not failed, not ready: try again after `delay` without spending an attempt's backoff."""

    def __init__(self, message: str, delay: float):
        super().__init__(message)
        self.delay = delay


def delivery_run(*, delivery_id: int, client=None) -> str:
    """Carry one delivery out if it is due and nobody else does. Returns what happened (logs, tests)."""
    if not leases.lease_take(SlackDelivery, delivery_id, LEASE):
        return SlackDelivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first() or "missing"
    delivery = SlackDelivery.objects.select_related("draft").get(pk=delivery_id)
    own_client = client is None
    client = client or slack_client()
    try:
        if delivery.kind == SlackDelivery.Kind.POST:
            marker = _marker(delivery)
            if delivery.attempts > 1 and (ts := _already_posted(client, delivery, marker)):
                return _done(delivery, channel=delivery.channel, ts=ts)  # an earlier attempt's message
            posted = client.post_message(
                channel=delivery.channel,
                text=request_text(_request(delivery)),
                blocks=request_blocks(_request(delivery)),
                metadata=marker,
            )
            return _done(delivery, channel=posted.channel, ts=posted.ts)
        channel, ts = _posted(delivery)
        request, outcome = _request(delivery), outcome_of(delivery.draft)
        client.update_message(
            channel=channel, ts=ts, text=decided_text(request, outcome), blocks=decided_blocks(request, outcome)
        )
        return _done(delivery, channel=channel, ts=ts)
    except _Later as later:
        return _again(delivery, str(later), later.delay, spend=False)
    except SlackError as error:
        if not error.transient:
            return _fail(delivery, str(error))
        return _retry(delivery, str(error), error.retry_after)
    except SoftTimeLimitExceeded:
        return _retry(delivery, "took longer than the task's time limit", None)
    except Exception as error:  # a bug or an answer nobody foresaw: spent as an attempt, so it ends failed
        log.exception("slack delivery raised an unforeseen error", extra={"delivery": delivery.pk})
        return _retry(delivery, f"{type(error).__name__}: {error}", None)
    finally:
        if own_client:
            client.close()


def _marker(delivery: SlackDelivery) -> dict:
    """The post's message metadata: which delivery posted it, so a retry can find it in the channel."""
    return {"event_type": MARKER_EVENT, "event_payload": {"delivery_id": delivery.pk, "draft_id": delivery.draft_id}}


def _already_posted(client, delivery: SlackDelivery, marker: dict) -> str:
    """The ts of the message an earlier attempt posted, or "". An attempt that timed out, or whose worker
    was killed, may have posted before it could store the ts; chat.postMessage has no idempotency key,
    so the channel is asked first. Slack's refusal to answer (no channels:history scope, a channel
    given by name) leaves it unchecked: the post goes out again, as before. A transient error retries."""
    oldest = delivery.created_at.timestamp() - 1
    try:
        return client.find_message(channel=delivery.channel, metadata=marker, oldest=oldest)
    except SlackError as error:
        if error.transient:
            raise
        log.warning("slack: cannot look for an earlier post", extra={"delivery": delivery.pk, "error": str(error)})
        return ""


def _request(delivery: SlackDelivery):
    return review_request(delivery.draft)


def _posted(delivery: SlackDelivery) -> tuple[str, str]:
    post = SlackDelivery.objects.filter(draft_id=delivery.draft_id, kind=SlackDelivery.Kind.POST).first()
    if post is None or post.status == SlackDelivery.Status.FAILED:
        raise SlackError("the review request was never posted: nothing to update", transient=False)
    if post.status != SlackDelivery.Status.DONE or not post.ts:
        due_in = (post.next_attempt_at - timezone.now()).total_seconds() + 1
        raise _Later("waiting for the review request to be posted", max(WAIT_FOR_POST, due_in))
    return post.channel, post.ts


def _running(delivery: SlackDelivery):
    return SlackDelivery.objects.filter(pk=delivery.pk, status=SlackDelivery.Status.RUNNING)


def _done(delivery: SlackDelivery, *, channel: str, ts: str) -> str:
    _running(delivery).update(
        status=SlackDelivery.Status.DONE,
        channel=channel,
        ts=ts,
        done_at=timezone.now(),
        locked_until=None,
        last_error="",
    )
    return "done"


def _retry(delivery: SlackDelivery, error: str, retry_after: float | None) -> str:
    log.warning(
        "slack delivery failed", extra={"delivery": delivery.pk, "attempt": delivery.attempts, "error": error[:200]}
    )
    if delivery.attempts >= MAX_ATTEMPTS:
        return _fail(delivery, f"gave up after {delivery.attempts} attempts: {error}")
    delay = leases.backoff(delivery.attempts, base=BACKOFF_BASE, cap=BACKOFF_CAP, retry_after=retry_after)
    return _again(delivery, error, delay, spend=True)


def _again(delivery: SlackDelivery, error: str, delay: float, *, spend: bool) -> str:
    fields = {"status": SlackDelivery.Status.PENDING, "locked_until": None, "last_error": error[:2000]}
    fields["next_attempt_at"] = timezone.now() + timedelta(seconds=delay)
    if not spend:
        fields["attempts"] = max(0, delivery.attempts - 1)
    _running(delivery).update(**fields)
    enqueue.delivery_run(delivery.pk, countdown=delay)
    return "retry" if spend else "waiting"


def _fail(delivery: SlackDelivery, error: str) -> str:
    _running(delivery).update(status=SlackDelivery.Status.FAILED, locked_until=None, last_error=error[:2000])
    log.warning("slack delivery failed for good", extra={"delivery": delivery.pk, "error": error[:200]})
    if delivery.kind == SlackDelivery.Kind.POST:  # its update has nothing to edit: settle it too
        SlackDelivery.objects.filter(
            Q(status=SlackDelivery.Status.PENDING), draft_id=delivery.draft_id, kind=SlackDelivery.Kind.UPDATE
        ).update(status=SlackDelivery.Status.FAILED, last_error="the review request was never posted")
    return "failed"
