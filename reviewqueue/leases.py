"""The lease-and-backoff take shared by durable work rows (the shape of review/outbox.py and
callbacks/delivery.py, for new work tables to reuse rather than copy).

A row has `status` (pending / running / …), `attempts`, `next_attempt_at` and `locked_until`. A worker
takes it with one guarded UPDATE: due and pending, or running on a lapsed lease (its worker died).
Only the worker whose update changed the row runs it, so two workers never run one row at once.
`LeasedDelivery` gives a delivery table those columns (an abstract model: no table of its own).
"""

import random
from datetime import timedelta

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

PENDING, RUNNING = "pending", "running"


class LeasedDelivery(models.Model):
    """The columns of a message carried out at least once with a lease and backoff (Slack, escalations)."""

    class Status(models.TextChoices):
        PENDING = PENDING
        RUNNING = RUNNING
        DONE = "done"
        FAILED = "failed"  # gave up; shown to a person

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


def due_q(now) -> Q:
    return Q(status=PENDING, next_attempt_at__lte=now) | Q(status=RUNNING, locked_until__lt=now)


def lease_take(model, pk: int, lease: timedelta, *, extra: Q | None = None) -> bool:
    """Take row `pk` of `model` for `lease` if it is due (and matches `extra`): True when this caller has it."""
    now = timezone.now()
    rows = model.objects.filter(due_q(now), pk=pk)
    if extra is not None:
        rows = rows.filter(extra)
    return rows.update(status=RUNNING, locked_until=now + lease, attempts=F("attempts") + 1) == 1


def backoff(attempts: int, *, base: float, cap: float, retry_after: float | None = None, rand=random.uniform) -> float:
    """Seconds before the next attempt: doubling from `base`, capped, with jitter; never sooner than asked."""
    delay = min(cap, base * 2 ** max(0, attempts - 1)) * rand(0.8, 1.2)
    return max(delay, min(retry_after or 0, cap))


def stale_q(now, grace: timedelta) -> Q:
    """Due rows nobody took within `grace` (their broker message was lost), and lapsed leases."""
    return Q(status=PENDING, next_attempt_at__lte=now - grace) | Q(status=RUNNING, locked_until__lt=now)
