"""After an intake commits: tag the email with its conversation at MultiMail, then queue the draft's fetch.

Tagging (a second call: MultiMail's send takes no tags) is not needed for intake's answer, so it
happens after commit, in a task. Intakes hand their follow-ups over in batches: each pushes its
record onto a Redis list, and only the first since the last batch started publishes the task that
takes the list (intake_followups), so a busy intake costs one task per batch, not one per draft.
That task starts FOLLOWUPS_DELAY after it is queued, so a batch gathers what arrives meanwhile
rather than the one or two intakes a quick worker would otherwise find.
"""

import logging
from functools import cache

import redis
from django.conf import settings

from reviewqueue.review import enqueue as review_enqueue
from reviewqueue.routing import enqueue
from reviewqueue.routing.models import IntakeRecord

logger = logging.getLogger(__name__)

# Follow-ups waiting for the batch task, as "<record id>:<refresh 0/1>", oldest first.
FOLLOWUPS_PENDING = "routing:intake-followups"
# Set while a batch task is queued and has not started: later intakes only push. It expires in case
# the task is lost; the next intake then queues another, which takes what this one left.
FOLLOWUPS_SCHEDULED = "routing:intake-followups:scheduled"
FOLLOWUPS_SCHEDULED_TTL = 60
FOLLOWUPS_BATCH = 100
# Seconds a batch waits to gather intakes: the tag and the fetch of a draft come this much later at most
# (a reviewer sees a draft once fetched), and a busy intake pays one task per second, not per draft or two.
FOLLOWUPS_DELAY = 1.0


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)  # thread-safe, with its own connection pool


def enqueue_followup(record_id: int, *, refresh: bool) -> None:
    """Push the record for the next batch (one round trip); queue the batch task only when none waits.

    The push comes before the check: a batch task that has already cleared the flag takes the list
    after that, so it finds this record, and when the flag is still set its task has not started."""
    pipeline = _redis().pipeline(transaction=False)
    pipeline.rpush(FOLLOWUPS_PENDING, f"{record_id}:{int(refresh)}")
    pipeline.set(FOLLOWUPS_SCHEDULED, 1, nx=True, ex=FOLLOWUPS_SCHEDULED_TTL)
    _, scheduled_now = pipeline.execute()
    if scheduled_now:
        enqueue.intake_followups(countdown=FOLLOWUPS_DELAY)


def intake_followups() -> int:
    """The batch task: follow up every pushed record, oldest first, until the list is empty; how many.

    A record taken off the list by a batch that then dies loses its tag (only logged when it fails,
    too) but not its fetch: the outbox sweeper fetches a draft nobody fetched."""
    client = _redis()
    client.delete(FOLLOWUPS_SCHEDULED)  # from now on a new intake queues the next batch
    done = 0
    while pending := client.lpop(FOLLOWUPS_PENDING, FOLLOWUPS_BATCH):
        refresh_by_id = dict(_pending_item(item) for item in pending)
        records = list(IntakeRecord.objects.filter(pk__in=refresh_by_id).order_by("pk"))
        # The fetches of these records leave together once the last is tagged, a few to a message
        # (review's draft_fetches), instead of a message each. Should a record fail unexpectedly, those
        # not yet sent are dropped with it: the outbox sweeper fetches what nobody fetched.
        fetches = []
        for record in records:
            _tag(record)
            fetches.append((record.draft_id, refresh_by_id[record.pk]))
            done += 1
        review_enqueue.draft_fetches(fetches)
    return done


def _pending_item(item: bytes) -> tuple[int, bool]:
    record_id, refresh = item.decode().split(":")
    return int(record_id), refresh == "1"


def intake_followup(*, record_id: int, refresh: bool = False) -> None:
    """One record's follow-up: its tag, then its draft's fetch, queued whatever happened to the tag
    (`refresh` when the draft existed before this intake); had this task been lost, the outbox
    sweeper would still fetch it."""
    record = IntakeRecord.objects.get(pk=record_id)
    try:
        _tag(record)
    finally:
        review_enqueue.draft_fetch(record.draft_id, refresh)


def _tag(record: IntakeRecord) -> None:
    """After commit: tag the email with its conversation at MultiMail, before its draft's fetch is queued.

    Tagging first puts the tag on before the draft is fetched, so before a reviewer normally sees it.
    The email's other tags are kept (add_tags reads them first, under the email's tag lock): even a draft
    this intake made may have been fetched, decided and tagged by the outbox while the batch was on its
    way (the soak saw such decision tags overwritten). A failed tag is only logged, as it always
    was: the IntakeRecord links email and conversation on our side.
    """
    from reviewqueue.integrations.multimail.client import MultiMailError, add_tags, get_multimail_client

    client, tags = get_multimail_client(), {"intercom_conversation_id": record.conversation_id}
    try:
        add_tags(client, mailbox_id=record.mailbox_id, email_id=record.email_id, tags=tags)
    except MultiMailError:
        logger.warning("intake: tagging email %s failed", record.email_id, exc_info=True)
