"""Sending callbacks: at least once, the same webhook-id on every attempt, one worker at a time.

The take is the outbox's (review/outbox.py; the due test is reviewqueue/leases.py's): one guarded
update moves a due delivery (pending and due, or running on a lapsed lease: its worker died) to
running with a LEASE, and only the worker whose update changed the row sends it. Then:

- 2xx: delivered.
- 5xx, 408, 429, a timeout, a refused or broken connection, a name that does not resolve: tried
  again with exponential backoff (and jitter, honouring Retry-After) until the first failure after
  `retry_until`, at least RETRY_WINDOW (24 h) after the event; then failed.
- any other answer (other 4xx, a 3xx: redirects are not followed), a URL the outbound guard
  refuses (a private address) or a token revoked since the event: failed at once. An admin can
  redeliver (services.delivery_redeliver); a revoked token's delivery fails again.

Each attempt is signed afresh (a new webhook-timestamp, the same id and body). A retry due within
SHORT_DELAY is queued with a countdown; a later one is left to the sweeper (beat, every 15 s), as
countdowns longer than the broker's visibility timeout would be handed out again and again.
"""

import logging
import random
from dataclasses import dataclass
from datetime import timedelta

import httpx
from celery.exceptions import SoftTimeLimitExceeded
from django.db.models import F
from django.utils import timezone

from reviewqueue import leases, outbound
from reviewqueue.callbacks import enqueue, services, signing
from reviewqueue.callbacks.models import CallbackDelivery, CallbackEndpoint
from reviewqueue.routing.crypto import SecretUnreadable

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)  # longer than the task may run (tasks.py: 45 s): a lapsed lease means a dead worker
TIMEOUT = httpx.Timeout(15.0, connect=5.0)  # the spec recommends 15 to 30 s for the receiver to answer
BACKOFF_BASE = 5.0  # seconds; doubles per attempt
BACKOFF_CAP = 3600.0  # then hourly until the window closes
SHORT_DELAY = 60.0  # retries due sooner go to the broker with a countdown; later ones to the sweeper
SWEEP_GRACE = timedelta(seconds=10)  # a due delivery not taken this long has lost its broker message
SWEEP_BATCH = 500
MAX_ERROR = 2000
ANSWER_KEPT = 300  # bytes of a failed answer kept in last_error
ABANDON_AFTER = timedelta(seconds=2 * BACKOFF_CAP)  # past retry_until, longer than any scheduled retry waits
RETRY_STATUSES = frozenset({408, 429})
USER_AGENT = "reviewqueue-callbacks/1"


@dataclass(frozen=True)
class Outcome:
    """One attempt's result: delivered, retry (with an optional wait the receiver asked for) or failed."""

    kind: str
    error: str = ""
    status_code: int | None = None
    retry_after: float | None = None


def backoff(attempts: int, retry_after: float | None = None, rand=random.uniform) -> float:
    return leases.backoff(attempts, base=BACKOFF_BASE, cap=BACKOFF_CAP, retry_after=retry_after, rand=rand)


def delivery_run(*, delivery_id: int, client: httpx.Client | None = None) -> str:
    """Send one delivery if it is due and nobody else sends it. Returns what happened (logs, tests)."""
    now = timezone.now()
    taken = CallbackDelivery.objects.filter(leases.due_q(now), pk=delivery_id).update(
        status=CallbackDelivery.Status.RUNNING,
        locked_until=now + LEASE,
        attempts=F("attempts") + 1,
        last_attempt_at=now,
    )
    if not taken:
        current = CallbackDelivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()
        return current or "missing"
    delivery = CallbackDelivery.objects.select_related("token").get(pk=delivery_id)
    if now > delivery.retry_until + ABANDON_AFTER:
        # Every attempt's worker died before it could record anything (killed, or past the hard time
        # limit): the sweeper hands the delivery out on each lapsed lease, so the window is kept here.
        return _record(
            delivery, Outcome("failed", f"gave up: no attempt finished ({delivery.last_error or 'workers died'})")
        )
    try:
        outcome = _attempt(delivery, client)
    except Exception as error:
        # A bug, or something no branch foresaw: left RUNNING, the sweeper would hand it out every lease.
        # Spent as an attempt instead, and retried with backoff until the window closes.
        log.exception("callback attempt raised an unforeseen error", extra={"delivery": delivery.pk})
        outcome = Outcome("retry", f"{type(error).__name__}: {error}")
    return _record(delivery, outcome)


def _attempt(delivery: CallbackDelivery, client: httpx.Client | None) -> Outcome:
    if delivery.token.revoked_at is not None:
        # Revoking a token cuts its agent off: nothing more about its drafts goes to its endpoint.
        return Outcome(
            "failed", f"not sent: the intake token was revoked at {delivery.token.revoked_at:%Y-%m-%d %H:%M} UTC"
        )
    endpoint = CallbackEndpoint.objects.filter(token_id=delivery.token_id).first()
    if endpoint is None:
        return Outcome("failed", "the intake token has no callback URL any more")
    try:
        secret = services.endpoint_secret(endpoint)
    except SecretUnreadable as error:
        return Outcome("failed", f"the callback secret cannot be read ({error}); rotate it on the token's page")
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **signing.signed_headers(
            secret=secret, webhook_id=delivery.webhook_id, timestamp=int(timezone.now().timestamp()), body=delivery.body
        ),
    }
    own_client = client is None
    client = client or outbound.outbound_client(timeout=TIMEOUT)
    try:
        request = client.build_request("POST", endpoint.url, content=delivery.body.encode(), headers=headers)
        response = outbound.send_checked(client, request, stream=True)
        try:
            return _classify(response, _answer_start(response))
        finally:
            response.close()
    except outbound.OutboundHostUnresolved as error:
        return Outcome("retry", str(error))
    except outbound.OutboundURLRefused as error:
        return Outcome("failed", f"refused: {error}")
    except SoftTimeLimitExceeded:
        return Outcome("retry", "took longer than the task's time limit")
    except httpx.TimeoutException as error:
        return Outcome("retry", f"timed out: {type(error).__name__}")
    except httpx.TransportError as error:
        return Outcome("retry", f"connection failed: {type(error).__name__}: {error}")
    finally:
        if own_client:
            client.close()


def _answer_start(response: httpx.Response) -> str:
    """The first ANSWER_KEPT bytes of the receiver's answer, for the log; the rest is never read."""
    if 200 <= response.status_code < 300:
        return ""
    kept = b""
    for chunk in response.iter_bytes():
        kept += chunk
        if len(kept) >= ANSWER_KEPT:
            break
    return kept[:ANSWER_KEPT].decode("utf-8", errors="replace")


def _classify(response: httpx.Response, answer: str) -> Outcome:
    status = response.status_code
    if 200 <= status < 300:
        return Outcome("delivered", status_code=status)
    snippet = answer.strip()
    error = f"HTTP {status}" + (f": {snippet}" if snippet else "")
    if status >= 500 or status in RETRY_STATUSES:
        return Outcome("retry", error, status, _retry_after(response))
    if 300 <= status < 400:
        where = response.headers.get("location", "")
        return Outcome("failed", f"HTTP {status}: redirects are not followed (Location: {where})", status)
    return Outcome("failed", error, status)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


def _record(delivery: CallbackDelivery, outcome: Outcome) -> str:
    now = timezone.now()
    running = CallbackDelivery.objects.filter(pk=delivery.pk, status=CallbackDelivery.Status.RUNNING)
    common = {"locked_until": None, "last_status_code": outcome.status_code}
    if outcome.kind == "delivered":
        running.update(status=CallbackDelivery.Status.DELIVERED, delivered_at=now, last_error="", **common)
        return "delivered"
    log.warning(
        "callback attempt failed",
        extra={"delivery": delivery.pk, "attempt": delivery.attempts, "error": outcome.error[:200]},
    )
    if outcome.kind == "retry" and now < delivery.retry_until:
        delay = backoff(delivery.attempts, outcome.retry_after)
        running.update(
            status=CallbackDelivery.Status.PENDING,
            next_attempt_at=now + timedelta(seconds=delay),
            last_error=outcome.error[:MAX_ERROR],
            **common,
        )
        if delay <= SHORT_DELAY:
            enqueue.delivery_run(delivery.pk, countdown=delay)
        return "retry"
    error = outcome.error
    if outcome.kind == "retry":
        until = f"{delivery.retry_until:%Y-%m-%d %H:%M} UTC"
        error = f"gave up after {delivery.attempts} attempts, the last past {until}: {error}"
    running.update(status=CallbackDelivery.Status.FAILED, last_error=error[:MAX_ERROR], **common)
    return "failed"


def deliveries_sweep(*, grace: timedelta = SWEEP_GRACE) -> int:
    """Queue every delivery that is due and not taken: retries left for later, broker messages lost,
    and running ones whose lease lapsed (the worker was killed mid-send). A copy too many is harmless:
    delivery_run takes each with a guarded update."""
    now = timezone.now()
    ids = list(
        CallbackDelivery.objects.filter(leases.stale_q(now, grace))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for delivery_id in ids:
        enqueue.delivery_run(delivery_id)
    return len(ids)
