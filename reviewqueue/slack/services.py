"""Queueing a draft's Slack message: its post once held and in, its update once decided.

One SlackDelivery per (draft, kind), made by INSERT … ON CONFLICT DO NOTHING, so the signals (sent at
least once) and the sweep may ask any number of times. The task is queued after the commit.
"""

from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from reviewqueue import leases
from reviewqueue.review.models import Draft
from reviewqueue.slack import enqueue
from reviewqueue.slack.clients import slack_configured
from reviewqueue.slack.models import SlackChannel, SlackDelivery

SWEEP_GRACE = timedelta(seconds=20)  # a due delivery not taken this long has lost its broker message
SWEEP_BATCH = 200
POST_WINDOW = timedelta(days=2)  # the sweep posts drafts held this recently that have no message yet


def post_queue(*, draft_id: int) -> SlackDelivery | None:
    """A held draft whose content is in, in a mailbox with a channel: its one review request."""
    if not slack_configured():
        return None
    channel = _first_value(_CHANNEL_OF_HELD_DRAFT, [draft_id, Draft.Status.PENDING])
    if not channel:
        return None
    return _queue(draft_id, SlackDelivery.Kind.POST, channel)


def update_queue(*, draft_id: int) -> SlackDelivery | None:
    """A decided draft whose request was posted (or is being posted): the edit in place. Nothing while
    Slack is not configured (as the sweep: an update could not be sent)."""
    if not slack_configured():
        return None
    channel = _first_value(_CHANNEL_OF_POST, [draft_id, SlackDelivery.Kind.POST])
    if channel is None:
        return None
    return _queue(draft_id, SlackDelivery.Kind.UPDATE, channel)


# The two lookups above run on every committed fetch and decision (review's signals), Slack channels or
# not: written out because the ORM's compiling of them cost more CPU than running them.
_CHANNEL_OF_HELD_DRAFT = (  # the channel of a held, fetched draft's mailbox
    "SELECT (SELECT c.channel FROM slack_app_slackchannel c WHERE c.mailbox_id = d.mailbox_id LIMIT 1) "
    "FROM review_draft d WHERE d.id = %s AND d.status = %s AND d.fetched_at IS NOT NULL"
)
_CHANNEL_OF_POST = (  # the channel of the draft's post delivery
    "SELECT channel FROM slack_app_slackdelivery WHERE draft_id = %s AND kind = %s ORDER BY id LIMIT 1"
)


def _first_value(sql: str, params: list):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _queue(draft_id: int, kind: str, channel: str) -> SlackDelivery:
    with transaction.atomic():
        SlackDelivery.objects.bulk_create(
            [SlackDelivery(draft_id=draft_id, kind=kind, channel=channel)], ignore_conflicts=True
        )
        delivery = SlackDelivery.objects.get(draft_id=draft_id, kind=kind)
        # Queued again while never tried: a second message to the broker is harmless (the guarded take).
        if delivery.status == SlackDelivery.Status.PENDING and delivery.attempts == 0:
            transaction.on_commit(lambda: enqueue.delivery_run(delivery.pk))
    return delivery


def slack_sweep(*, grace: timedelta = SWEEP_GRACE) -> dict:
    """Beat's safety net: posts and updates a lost signal never queued, and deliveries a lost broker
    message or a dead worker left behind. A copy too many is harmless (the guarded take)."""
    now = timezone.now()
    posts = updates = 0
    if slack_configured():
        has_post = SlackDelivery.objects.filter(draft_id=OuterRef("pk"), kind=SlackDelivery.Kind.POST)
        has_update = SlackDelivery.objects.filter(draft_id=OuterRef("pk"), kind=SlackDelivery.Kind.UPDATE)
        channelled = SlackChannel.objects.values("mailbox_id")
        unposted = Draft.objects.filter(
            ~Exists(has_post),
            status=Draft.Status.PENDING,
            fetched_at__isnull=False,
            mailbox_id__in=channelled,
            created_at__gte=now - POST_WINDOW,
            updated_at__lte=now - grace,
        ).values_list("pk", flat=True)[:SWEEP_BATCH]
        for draft_id in unposted:
            posts += post_queue(draft_id=draft_id) is not None
        undecided = Draft.objects.filter(Exists(has_post), ~Exists(has_update)).exclude(status=Draft.Status.PENDING)
        for draft_id in undecided.filter(updated_at__lte=now - grace).values_list("pk", flat=True)[:SWEEP_BATCH]:
            updates += update_queue(draft_id=draft_id) is not None
    stale = SlackDelivery.objects.filter(leases.stale_q(now, grace)).order_by("next_attempt_at")
    redriven = list(stale.values_list("pk", flat=True)[:SWEEP_BATCH])
    for delivery_id in redriven:
        enqueue.delivery_run(delivery_id)
    return {"posts": posts, "updates": updates, "redriven": len(redriven)}
