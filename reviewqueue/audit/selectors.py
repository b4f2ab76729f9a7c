"""Reads the auditor pages, exports and summaries share."""

import statistics
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet, TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from reviewqueue.audit.models import AuditEvent

PAGE_SIZE = 50
# The narrow search table (migration 0007), filled by a trigger on every insert into the log.
_REASON_MATCH = "seq IN (SELECT seq FROM audit_auditreasonsearch WHERE document @@ websearch_to_tsquery('english', %s))"
_PAYLOAD_FILTERS = {"mailbox": "mailbox_id", "conversation": "conversation_id", "decision": "decision_id"}


def events_filtered(filters: dict) -> QuerySet[AuditEvent]:
    """Events matching the cleaned filters of EventFilterForm (empty values are ignored)."""
    return _filtered(filters, _seq_bounds(filters.get("since"), filters.get("until")))


def _filtered(filters: dict, seq_bounds: tuple[int | None, int | None]) -> QuerySet[AuditEvent]:
    """events_filtered with the time window's seq bounds already looked up (a search page needs them twice)."""
    events = AuditEvent.objects.all()
    if filters.get("since"):
        events = events.filter(created_at__gte=filters["since"])
    if filters.get("until"):
        events = events.filter(created_at__lte=filters["until"])
    above, below = seq_bounds
    if above is not None:
        events = events.filter(seq__gt=above)
    if below is not None:
        events = events.filter(seq__lt=below)
    if filters.get("actor"):
        events = events.filter(actor_label=filters["actor"])
    action = filters.get("action")
    if action:
        events = events.filter(action__startswith=action) if action.endswith(".") else events.filter(action=action)
    for name, key in _PAYLOAD_FILTERS.items():
        if filters.get(name):
            events = events.alias(**{f"p_{key}": KT(f"payload__{key}")}).filter(**{f"p_{key}": filters[name]})
    if filters.get("draft"):
        draft = filters["draft"]
        events = events.alias(p_draft_id=KT("payload__draft_id")).filter(
            Q(target_type="draft", target_id=draft) | Q(p_draft_id=draft)
        )
    if filters.get("q"):
        events = events.extra(where=[_REASON_MATCH], params=[filters["q"]])  # noqa: S610 (parameterised)
    return events


# The last seq before `since` and the first after `until`, each a step down the created_at index.
# Times can tie (an append keeps the previous event's time while the clock reads earlier): the seq
# taken is the one nearest the window, so the bound cuts no event of the tie off it.
_BEFORE_SINCE = "SELECT seq FROM audit_auditevent WHERE created_at < %s ORDER BY created_at DESC, seq DESC LIMIT 1"
_AFTER_UNTIL = "SELECT seq FROM audit_auditevent WHERE created_at > %s ORDER BY created_at, seq LIMIT 1"


def _seq_bounds(since, until) -> tuple[int | None, int | None]:
    """The time window from `since` to `until` (either may be None) as a range of seq: the events
    inside it lie strictly between the two seqs returned (None: no bound on that side).

    audit_record_many never lets time go backwards along seq, so the events outside a window are a
    prefix and a suffix of the log, and the seqs bordering them, looked up on the created_at index,
    bound the window exactly. Filtering created_at alone, a page (newest first, by seq) made the
    planner walk seq down through every newer event: half the log for a window in the middle, 137
    to 207 ms of execution at 1,000,000 events; bounded, it is a range of the primary key (0.05 ms).

    A bound is left out when nothing lies beyond it, so an event appended after this lookup is not
    cut off by a bound that was the head a moment before.

    _filtered keeps the created_at filter as well, for events written before times were made
    monotonic (appenders whose clocks disagreed could leave them out of order by microseconds): an
    event listed is then always inside the window the auditor asked for, and at worst one out of
    order across the window's edge is missed, where the seq bounds alone would also list events
    outside it. It costs little, the rows inside the bounds are read anyway (at most the planner
    adds a bitmap of the created_at index: ~1 ms for a one-hour window at 1,000,000 events).
    """
    lookups = [(lookup, value) for lookup, value in ((_BEFORE_SINCE, since), (_AFTER_UNTIL, until)) if value]
    if not lookups:
        return None, None
    with connection.cursor() as cursor:  # both lookups in one round trip
        cursor.execute("SELECT " + ", ".join(f"({lookup})" for lookup, _ in lookups), [value for _, value in lookups])
        found = iter(cursor.fetchone())
    return (next(found) if since else None), (next(found) if until else None)


def events_page(
    filters: dict, *, before: int | None = None, size: int = PAGE_SIZE
) -> tuple[list[AuditEvent], int | None]:
    """One newest-first page (keyset by seq) and the cursor of the next page, if there is one."""
    if filters.get("q"):
        return _search_page(filters, before=before, size=size)
    events = events_filtered(filters).order_by("-seq")
    if before:
        events = events.filter(seq__lt=before)
    return _cut(list(events[: size + 1]), size)


def _cut(page: list[AuditEvent], size: int) -> tuple[list[AuditEvent], int | None]:
    more = len(page) > size
    page = page[:size]
    return page, (page[-1].seq if more else None)


_SEARCH_BATCH = 500
_SEARCH_BATCHES = 40
_MATCHING_SEQS = (
    "SELECT seq FROM audit_auditreasonsearch WHERE document @@ websearch_to_tsquery('english', %s)"
    " AND seq > %s AND seq < %s ORDER BY seq DESC LIMIT %s"
)


def _search_page(filters: dict, *, before: int | None, size: int) -> tuple[list[AuditEvent], int | None]:
    """A search page walks the narrow search table newest first, a batch of matching seqs at a time,
    and applies the other filters to each batch: it stops as soon as the page is full, instead of
    joining every match of a common word. Past _SEARCH_BATCHES it falls back to the plain query.
    The walk starts and ends at the time window's seq bounds: matches outside it are not read."""
    seq_bounds = _seq_bounds(filters.get("since"), filters.get("until"))
    others = _filtered({**filters, "q": ""}, seq_bounds).order_by("-seq")
    found: list[AuditEvent] = []
    above, below = seq_bounds[0] or 0, min(before or 2**62, seq_bounds[1] or 2**62)
    for _ in range(_SEARCH_BATCHES):
        with connection.cursor() as cursor:
            cursor.execute(_MATCHING_SEQS, [filters["q"], above, below, _SEARCH_BATCH])
            seqs = [row[0] for row in cursor.fetchall()]
        if seqs:
            # One parameter, an array literal of integers: `seq__in` made Django prepare and bind 500
            # parameters one by one, and a Python list is dumped element by element (4 ms of CPU a batch).
            seq_array = "{" + ",".join(str(seq) for seq in seqs) + "}"
            batch = others.extra(where=["audit_auditevent.seq = ANY(%s::bigint[])"], params=[seq_array])
            found += list(batch[: size + 1 - len(found)])
        if len(found) > size or len(seqs) < _SEARCH_BATCH:
            return _cut(found, size)
        below = seqs[-1]
    rest = _filtered(filters, seq_bounds).order_by("-seq").filter(seq__lt=below)
    return _cut(found + list(rest[: size + 1 - len(found)]), size)


def decided_event(decision_id: str) -> AuditEvent | None:
    return (
        AuditEvent.objects.alias(p_decision_id=KT("payload__decision_id"))
        .filter(action="draft.decided", p_decision_id=str(decision_id))
        .order_by("seq")
        .first()
    )


def events_after_decision(decided: AuditEvent) -> list[AuditEvent]:
    """Everything that happened to the decided draft afterwards (sent, note written, delivered…)."""
    draft_id = str(decided.payload.get("draft_id") or decided.target_id)
    return list(
        AuditEvent.objects.alias(p_draft_id=KT("payload__draft_id"))
        .filter(seq__gt=decided.seq)
        .filter(Q(target_type="draft", target_id=draft_id) | Q(p_draft_id=draft_id))
        .order_by("seq")[:500]
    )


# --- Summaries -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionSummary:
    key: str
    decisions: int
    approved: int
    median_seconds: float | None

    @property
    def approval_rate(self) -> float:
        return self.approved / self.decisions if self.decisions else 0.0


def decision_summaries(filters: dict, *, by: str) -> list[DecisionSummary]:
    """Per reviewer (by="reviewer") or per mailbox (by="mailbox"), from the draft.decided events."""
    groups: dict[str, dict] = {}
    decided = events_filtered(filters).filter(action="draft.decided")
    for created_at, payload in decided.values_list("created_at", "payload").iterator(chunk_size=2000):
        key = _summary_key(payload, by)
        group = groups.setdefault(key, {"decisions": 0, "approved": 0, "waits": []})
        group["decisions"] += 1
        group["approved"] += payload.get("action") == "approve"
        wait = _seconds_waited(payload, created_at)
        if wait is not None:
            group["waits"].append(wait)
    return sorted(
        (
            DecisionSummary(key, g["decisions"], g["approved"], statistics.median(g["waits"]) if g["waits"] else None)
            for key, g in groups.items()
        ),
        key=lambda s: (-s.decisions, s.key),
    )


def _summary_key(payload: dict, by: str) -> str:
    if by == "mailbox":
        return str(payload.get("mailbox_id") or "(no mailbox)")
    reviewer = payload.get("reviewer") if isinstance(payload.get("reviewer"), dict) else {}
    return str(reviewer.get("username") or reviewer.get("name") or "(unknown)")


def _seconds_waited(payload: dict, decided_at) -> float | None:
    from django.utils.dateparse import parse_datetime

    raw_received, raw_decided = payload.get("draft_received_at"), payload.get("decided_at")
    try:
        received = parse_datetime(raw_received) if isinstance(raw_received, str) else None
        decided = parse_datetime(raw_decided) if isinstance(raw_decided, str) else None
    except ValueError:
        return None
    if received is None or received.tzinfo is None:
        return None
    decided = decided if decided is not None and decided.tzinfo is not None else decided_at
    return max((decided - received).total_seconds(), 0.0)


# --- Export --------------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "seq",
    "created_at",
    "actor_type",
    "actor_id",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "ip",
    "user_agent",
    "payload",
    "prev_hash",
    "hash",
)


def export_rows(filters: dict, *, chunk_size: int = 2000) -> Iterator[tuple]:
    """Filtered events in seq order (EXPORT_COLUMNS; the payload as its JSON text) through a
    server-side cursor: memory stays flat at any size."""
    columns = [column if column != "payload" else "payload_text" for column in EXPORT_COLUMNS]
    return (
        events_filtered(filters)
        .annotate(payload_text=Cast("payload", output_field=TextField()))
        .order_by("seq")
        .values_list(*columns)
        .iterator(chunk_size=chunk_size)
    )
