"""Reads the queue page, the draft page and the API share. Each answers in a constant number of queries."""

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from reviewqueue.review.draft_reads import draft_with_decision_and_claim
from reviewqueue.review.models import Claim, Decision, Draft, OutboxItem
from reviewqueue.sla.selectors import overdue_q
from reviewqueue.text import UNSTORABLE_MESSAGE, is_storable

FLAG_NAMES = ("customer_replied", "recipient_not_contact", "spam", "attachments", "unknown_links", "edit_mismatch")
# What a queue page's drafts carry: the queue table, its poll version and the API's draft summary read
# nothing else, and every further column of 50 drafts costs CPU to decode and set (about a fifth more).
QUEUE_FIELDS = (
    "id", "email_id", "mailbox_id", "mailbox_address", "status", "from_address", "to", "cc", "subject",
    "received_at", "waiting_since", "updated_at", "conversation_id", "conversation_link", "spam_verdict",
    "unknown_link_domains", "revision_number", *(f"flag_{name}" for name in FLAG_NAMES),
)  # fmt: skip
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class QueueFilters:
    mailbox_id: str = ""
    flag: str = ""  # one of FLAG_NAMES, or ""
    claimed_by_me: bool = False
    overdue: bool = False  # past the mailbox's decision target (sla/selectors.py overdue_q)

    def __post_init__(self):
        if not is_storable(self.mailbox_id):  # PostgreSQL cannot compare it: a clear refusal, not a 500
            raise ValueError(f"mailbox {UNSTORABLE_MESSAGE}")
        if self.flag and self.flag not in FLAG_NAMES:
            raise ValueError(f"unknown flag {self.flag!r}; expected one of {', '.join(FLAG_NAMES)}")


@dataclass
class QueuePage:
    drafts: list[Draft]  # each with .claim_holder (User|None) and .claim_expires_at set
    page: int
    per_page: int
    total: int
    filters: QueueFilters = field(default_factory=QueueFilters)

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def pending_drafts(*, user, filters: QueueFilters) -> QuerySet:
    """Pending drafts in queue order: the customer who has waited longest first."""
    drafts = Draft.objects.filter(status=Draft.Status.PENDING)
    if filters.mailbox_id:
        drafts = drafts.filter(mailbox_id=filters.mailbox_id)
    if filters.flag:
        drafts = drafts.filter(**{f"flag_{filters.flag}": True})
    if filters.claimed_by_me:
        drafts = drafts.filter(claim__holder=user, claim__expires_at__gt=timezone.now())
    if filters.overdue:
        drafts = drafts.filter(overdue_q(timezone.now()))
    return drafts.order_by("waiting_since", "id")


def _counted_page(*, user, filters: QueueFilters, page: int, per_page: int):
    """(pending drafts, total, the page clamped to the last one, the page's ids as a subquery): one query."""
    drafts = pending_drafts(user=user, filters=filters)
    total = drafts.count()
    page = max(1, min(page, max(1, -(-total // per_page))))
    # The page's ids come from an index alone, then only those rows are read and joined: a plain
    # OFFSET over the join made PostgreSQL sort every pending draft for deep pages (130 ms at 10,000
    # drafts for page 100; about 1 ms this way).
    return total, page, drafts.values("pk")[(page - 1) * per_page : page * per_page]


def queue_page(
    *, user, filters: QueueFilters | None = None, page: int = 1, per_page: int = DEFAULT_PAGE_SIZE
) -> QueuePage:
    """One page of the queue: two queries (the count and the page, claims joined)."""
    filters = filters or QueueFilters()
    per_page = max(1, min(per_page, MAX_PAGE_SIZE))
    total, page, page_ids = _counted_page(user=user, filters=filters, page=page, per_page=per_page)
    rows = list(
        Draft.objects.filter(pk__in=page_ids)
        .select_related("claim__holder")
        .only(*QUEUE_FIELDS, "claim__expires_at", "claim__holder")
        .order_by("waiting_since", "id")
    )
    now = timezone.now()
    for draft in rows:
        _annotate_claim(draft, now)
    return QueuePage(drafts=rows, page=page, per_page=per_page, total=total, filters=filters)


@dataclass(frozen=True)
class QueueState:
    """What a queue page shows, in brief: enough to tell a poller whether its table changed."""

    total: int
    page: int
    rows: list[tuple]  # per draft in queue order: (id, updated_at, live claim's holder id, its expiry)

    @classmethod
    def of(cls, page: QueuePage) -> "QueueState":
        rows = [
            (d.pk, d.updated_at, d.claim_holder.pk if d.claim_holder else None, d.claim_expires_at) for d in page.drafts
        ]
        return cls(total=page.total, page=page.page, rows=rows)


def queue_state(
    *, user, filters: QueueFilters | None = None, page: int = 1, per_page: int = DEFAULT_PAGE_SIZE
) -> QueueState:
    """The state of the queue_page with the same arguments, without building its drafts: two queries.

    A poll of an unchanged table (every few seconds from each open queue) needs nothing more.
    """
    filters = filters or QueueFilters()
    per_page = max(1, min(per_page, MAX_PAGE_SIZE))
    total, page, page_ids = _counted_page(user=user, filters=filters, page=page, per_page=per_page)
    now = timezone.now()
    rows = [
        (pk, updated_at, holder_id, expires_at)
        if expires_at is not None and expires_at > now
        else (pk, updated_at, None, None)
        for pk, updated_at, holder_id, expires_at in Draft.objects.filter(pk__in=page_ids)
        .order_by("waiting_since", "id")
        .values_list("pk", "updated_at", "claim__holder_id", "claim__expires_at")
    ]
    return QueueState(total=total, page=page, rows=rows)


def _annotate_claim(draft: Draft, now) -> None:
    try:
        claim = draft.claim
    except Claim.DoesNotExist:
        claim = None
    live = claim is not None and claim.is_live(now)
    draft.claim_holder = claim.holder if live else None
    draft.claim_expires_at = claim.expires_at if live else None


@dataclass
class DraftDetail:
    draft: Draft  # with .claim_holder / .claim_expires_at
    decision: Decision | None
    snapshot: object | None  # intercom ConversationSnapshot the page shows (the latest), or None
    conversation: object | None  # its typed Conversation
    outbox_items: list[OutboxItem]

    @property
    def shown_snapshot_id(self) -> int | None:
        """Put this in the decision form: draft_decide(shown_snapshot_id=…) compares it with the latest."""
        return self.snapshot.pk if self.snapshot is not None else None


def draft_detail(*, draft_id: int) -> DraftDetail | None:
    """Everything the draft page shows: three queries (draft+decision+claim, snapshot, outbox)."""
    draft = draft_with_decision_and_claim(draft_id)  # written out: compiling its joins cost more than running them
    if draft is None:
        return None
    _annotate_claim(draft, timezone.now())
    try:
        decision = draft.decision
    except Decision.DoesNotExist:
        decision = None
    snapshot = None
    if draft.latest_snapshot_id is not None:
        from reviewqueue.integrations.intercom.models import ConversationSnapshot

        snapshot = ConversationSnapshot.objects.filter(pk=draft.latest_snapshot_id).first()
    # A pending draft has no outbox rows yet (a decision creates them): skip the query.
    outbox_items = (
        list(OutboxItem.objects.filter(draft_id=draft.pk).order_by("sequence", "pk")) if not draft.is_pending else []
    )
    return DraftDetail(
        draft=draft,
        decision=decision,
        snapshot=snapshot,
        conversation=snapshot.conversation if snapshot is not None else None,
        outbox_items=outbox_items,
    )


def queue_neighbour_id(
    *, user, draft: Draft, filters: QueueFilters | None = None, previous: bool = False
) -> int | None:
    """The next (or previous) pending draft after `draft` in queue order; the first one when `draft` left the queue.

    One query. "After a decision the next draft opens": call it with the decided draft.
    """
    drafts = pending_drafts(user=user, filters=filters or QueueFilters()).exclude(pk=draft.pk)
    key = Q(waiting_since__gt=draft.waiting_since) | Q(waiting_since=draft.waiting_since, id__gt=draft.pk)
    if previous:
        key = Q(waiting_since__lt=draft.waiting_since) | Q(waiting_since=draft.waiting_since, id__lt=draft.pk)
        return drafts.filter(key).order_by("-waiting_since", "-id").values_list("pk", flat=True).first()
    found = drafts.filter(key).values_list("pk", flat=True).first()
    return found if found is not None else drafts.values_list("pk", flat=True).first()


# The draft page's j/k links, in one statement written out: as an ORM expression (three subqueries,
# a Coalesce) it cost 2 ms of CPU to compile on every draft page, ten times what it takes to run.
# Same order as pending_drafts: (waiting_since, id); the row comparisons walk the draft_queue index.
_NEIGHBOURS_SQL = """
SELECT
  coalesce(
    (SELECT id FROM review_draft WHERE status = %(pending)s AND (waiting_since, id) > (%(since)s, %(id)s)
     ORDER BY waiting_since, id LIMIT 1),
    (SELECT id FROM review_draft WHERE status = %(pending)s AND id <> %(id)s ORDER BY waiting_since, id LIMIT 1)),
  (SELECT id FROM review_draft WHERE status = %(pending)s AND (waiting_since, id) < (%(since)s, %(id)s)
   ORDER BY waiting_since DESC, id DESC LIMIT 1)
"""


def queue_neighbours(*, draft: Draft) -> tuple[int | None, int | None]:
    """(next, previous) pending drafts around `draft` in queue order, in ONE query (the draft page's j/k links).

    Next wraps to the first pending draft when `draft` is the last, as queue_neighbour_id does.
    """
    params = {"pending": Draft.Status.PENDING, "since": draft.waiting_since, "id": draft.pk}
    with connection.cursor() as cursor:
        cursor.execute(_NEIGHBOURS_SQL, params)
        return cursor.fetchone()


def failed_outbox_items(*, limit: int = 100) -> list[OutboxItem]:
    """For the admins' health page: permanent failures, newest first, with their drafts (one query)."""
    return list(
        OutboxItem.objects.filter(status=OutboxItem.Status.FAILED).select_related("draft").order_by("-pk")[:limit]
    )


def queue_mailboxes() -> list[tuple[str, str]]:
    """(mailbox_id, label) of the mailboxes with pending drafts, for the queue's mailbox filter (one query).

    Added by the review-UI engineer for the queue page.
    """
    rows = (
        Draft.objects.filter(status=Draft.Status.PENDING)
        .values_list("mailbox_id", "mailbox_address")
        .order_by("mailbox_id")
        .distinct()
    )
    labels: dict[str, str] = {}
    for mailbox_id, address in rows:
        labels[mailbox_id] = labels.get(mailbox_id) or address or mailbox_id
    return sorted(labels.items(), key=lambda item: item[1])


def drafts_page(*, status: str, filters: QueueFilters | None = None, page: int = 1, per_page: int = DEFAULT_PAGE_SIZE):
    """Drafts that left the queue (decided, decided elsewhere, failed), newest first: two queries."""
    filters = filters or QueueFilters()
    per_page = max(1, min(per_page, MAX_PAGE_SIZE))
    drafts = Draft.objects.filter(status=status)
    if filters.mailbox_id:
        drafts = drafts.filter(mailbox_id=filters.mailbox_id)
    if filters.flag:
        drafts = drafts.filter(**{f"flag_{filters.flag}": True})
    total = drafts.count()
    page = max(1, min(page, max(1, -(-total // per_page))))  # past the last: the last (as the queue does)
    rows = list(
        drafts.defer("markdown", "tags").order_by("-updated_at", "-id")[(page - 1) * per_page : page * per_page]
    )
    for draft in rows:
        draft.claim_holder, draft.claim_expires_at = None, None
    return QueuePage(drafts=rows, page=page, per_page=per_page, total=total, filters=filters)
