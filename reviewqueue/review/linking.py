"""Linking a draft to its conversation by recipient again, while Intercom's search catches up.

A draft without a conversation tag is linked to its recipient's most recent open conversation,
found through Intercom's search. That search finds a contact created moments ago only after a lag
("This delay can take a few minutes": contracts/intercom.md), so finding nothing may just mean
asking too early. Such a draft is fetched again (a refresh: the email, then the search) with
doubling gaps, each as long as the draft was old at its last fetch but at least FIRST_GAP, until
it is linked or WINDOW old. The outbox sweeper runs this every 15 s, so nothing depends on a
broker message surviving.
"""

from datetime import datetime, timedelta

from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from reviewqueue.review import enqueue
from reviewqueue.review.models import Draft

FIRST_GAP = timedelta(seconds=30)
WINDOW = timedelta(minutes=15)  # fetches at about 0, 30 s, 1, 2, 4 and 8 minutes
BATCH = 500


def drafts_to_link_again(now: datetime) -> list[int]:
    """Pending drafts with a recipient but no conversation yet, whose gap since their last fetch has passed."""
    age_at_last_fetch = ExpressionWrapper(F("fetched_at") - F("created_at"), output_field=DurationField())
    gap = Greatest(Value(FIRST_GAP, output_field=DurationField()), age_at_last_fetch)
    due_if_fetched_before = ExpressionWrapper(
        Value(now, output_field=DateTimeField()) - gap, output_field=DateTimeField()
    )
    unlinked = Draft.objects.filter(
        status=Draft.Status.PENDING,
        conversation_id="",
        created_at__gte=now - WINDOW,
        fetched_at__lte=due_if_fetched_before,
    ).exclude(to=[])
    return list(unlinked.order_by("pk").values_list("pk", flat=True)[:BATCH])


def link_again() -> int:
    """Enqueue a refresh of each draft due to be linked again; how many were."""
    draft_ids = drafts_to_link_again(timezone.now())
    for draft_id in draft_ids:
        enqueue.draft_fetch(draft_id, True)
    return len(draft_ids)
