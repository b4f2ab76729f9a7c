"""Reconciliation: MultiMail's audit log against our decisions.

MultiMail records every decide call (its API key, not the person). We read its audit log, keep its
decide entries, and list two kinds of disagreement for auditors:
- a decision MultiMail recorded that no reviewqueue reviewer made (decided outside reviewqueue);
- a decision of ours that MultiMail has not recorded once a grace period has passed.

The audit-log order is not documented; the sandbox (and what we have seen) lists newest first, so
each run reads from the top until it reaches the newest entry of the previous complete run (the
stored mark), bounded by MAX_PAGES. A read that runs out of pages first keeps the page it stopped at, and
the next run goes on from there down to the mark before it reads the top again: read from the top each
time, a backlog over MAX_PAGES pages (runs lost to a broker restart at 5.6 drafts/s) was never read
again (the soak: 526 decisions reported missing that MultiMail had). This needs cursors that stay put
while entries arrive, as the sandbox's do (positions from the oldest entry). Entries are stored once
(unique entry id), so re-reading is safe.

Each run looks only at what is new, so it costs the same after a million decisions as after ten:
MultiMail decisions not yet checked against ours (each is checked once: our draft.decided event
commits before the outbox carries the decision to MultiMail, so a MultiMail entry of ours always
finds it), and our decisions that left the grace period since the last complete run (one whose
entry has not arrived by then becomes a finding, resolved when a later run stores the entry).
"""

import itertools
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models.fields.json import KT

from reviewqueue.audit.models import AuditEvent, MultiMailDecision, ReconciliationFinding, ReconciliationState
from reviewqueue.audit.services import Actor, audit_record

SOURCE = "multimail"
PAGE_LIMIT = 100
MAX_PAGES = 100
GRACE = timedelta(minutes=15)  # decide calls leave through the outbox; give them time to land
LOOKBACK = timedelta(days=7)  # how far back our own decisions are checked each run
# Our events naming an email MultiMail should record a decision on: a decision, and the edited
# version of an approval with edits (review/edits.py), written before its approval leaves.
OUR_DECISION_ACTIONS = ("draft.decided", "edit.sent")


@dataclass(frozen=True)
class ReconciliationReport:
    entries_read: int = 0
    decisions_stored: int = 0
    outside_found: int = 0
    not_at_multimail_found: int = 0
    resolved: int = 0
    complete: bool = True
    skipped: str = ""


def is_decision_entry(entry) -> bool:
    """A decide call on an email, as MultiMail names it: oversight.approved / .approved_and_sent / .rejected
    (the sandbox and MultiMail's statuses); other spellings of approve/reject/decide are accepted too."""
    if entry.resource_type not in ("email", "") or not entry.resource_id:
        return False
    action = entry.action.lower()
    if action.startswith("oversight.") and action != "oversight.pending":
        return True
    return any(word in action for word in ("approve", "reject", "decide"))


def reconciliation_run(*, client=None, now: datetime | None = None, grace: timedelta = GRACE) -> ReconciliationReport:
    """Read MultiMail's new audit entries, match decisions both ways, record findings, audit the run."""
    from reviewqueue.integrations.multimail.client import MultiMailNotConfigured, get_multimail_client

    now = now or datetime.now(UTC)
    client = client or get_multimail_client()
    if not client.has_key("admin"):
        return ReconciliationReport(skipped="MULTIMAIL_ADMIN_API_KEY is not set: MultiMail's audit log is unavailable")
    start = ReconciliationState.objects.filter(source=SOURCE).first() or ReconciliationState(source=SOURCE)
    position = _Position(start.cursor, start.resume_cursor, start.resume_newest)
    try:
        read, stored, position, complete = _read_new_entries(client, position)
    except MultiMailNotConfigured as error:
        return ReconciliationReport(skipped=str(error))

    with transaction.atomic():
        state, _ = ReconciliationState.objects.select_for_update().get_or_create(source=SOURCE)
        outside = _find_outside_decisions(now)
        missing, resolved = _find_unrecorded_decisions(now, grace, since=state.checked_through)
        state.cursor, state.resume_cursor, state.resume_newest = (
            position.mark,
            position.resume_cursor,
            position.resume_newest,
        )
        if complete:
            state.checked_through = now - grace  # an incomplete read may have missed entries: look again
        state.last_run_at = now
        state.save()
        report = ReconciliationReport(read, stored, outside, missing, resolved, complete)
        audit_record(
            actor=Actor.system("audit.reconcile"),
            action="audit.reconciled",
            target_type="reconciliation",
            target_id=SOURCE,
            payload=asdict(report),
        )
    return report


@dataclass(frozen=True)
class _Position:
    """How far MultiMail's log has been read: `mark`, the newest entry read through; while a read is
    unfinished, the page it goes on from and the newest entry it read (the mark once it is finished)."""

    mark: str
    resume_cursor: str = ""
    resume_newest: str = ""


def _read_new_entries(client, position: _Position) -> tuple[int, int, _Position, bool]:
    """Read down to the mark, at most MAX_PAGES pages: first the rest of an unfinished read, then from the
    top. Returns entries read, decisions stored, where the next run goes on from, and whether this run
    read everything there was (down from the top)."""
    read = stored = 0
    pages_left = MAX_PAGES
    while pages_left:
        resuming = bool(position.resume_cursor)
        segment = _read_down_to_mark(client, position, pages_left)
        read, stored, pages_left = read + segment.read, stored + segment.stored, pages_left - segment.pages
        if segment.cursor is not None:  # out of pages before the mark
            return read, stored, _Position(position.mark, segment.cursor, segment.newest), False
        position = _Position(segment.newest or position.mark)
        if not resuming:
            return read, stored, position, True
    return read, stored, position, False  # the unfinished read is done; the top is read next run


@dataclass(frozen=True)
class _Segment:
    read: int
    stored: int
    pages: int
    cursor: str | None  # where to go on from; None once the mark (or the log's end) was reached
    newest: str


def _read_down_to_mark(client, position: _Position, pages: int) -> _Segment:
    """From the unfinished read's page (or the top), page down to the mark, at most `pages` pages."""
    mark, cursor = position.mark, position.resume_cursor or None
    newest = position.resume_newest if cursor else ""
    read = stored = used = 0
    while used < pages:
        used += 1
        page = client.audit_log(limit=PAGE_LIMIT, cursor=cursor)
        new = list(itertools.takewhile(lambda entry: entry.id != mark, page.entries))  # newest first
        newest = newest or (new[0].id if new else "")
        read += len(new)
        stored += _store_decisions([entry for entry in new if is_decision_entry(entry)])
        if len(new) < len(page.entries) or not page.cursor or not page.entries:
            return _Segment(read, stored, used, None, newest)
        cursor = page.cursor
    return _Segment(read, stored, used, cursor, newest)


def _store_decisions(entries) -> int:
    """Store a page's decide entries, each once (the entry id is unique); how many were new."""
    if not entries:
        return 0
    ids = {entry.id for entry in entries}
    known = MultiMailDecision.objects.filter(entry_id__in=ids).count()
    MultiMailDecision.objects.bulk_create(
        [
            MultiMailDecision(
                entry_id=entry.id,
                email_id=entry.resource_id,
                action=entry.action,
                actor_key_id=entry.actor_key_id,
                metadata=entry.metadata or {},
                created_at=entry.created_at,
            )
            for entry in entries
        ],
        ignore_conflicts=True,
    )
    return len(ids) - known


def _our_decided_email_ids(email_ids) -> set[str]:
    return set(
        AuditEvent.objects.annotate(email=KT("payload__email_id"))
        .filter(action__in=OUR_DECISION_ACTIONS, email__in=list(email_ids))
        .values_list("email", flat=True)
    )


def _find_outside_decisions(now: datetime) -> int:
    """Check each MultiMail decision not checked before against ours; a finding for each we did not make."""
    found = 0
    unchecked = MultiMailDecision.objects.filter(checked_at__isnull=True).order_by("id")
    for chunk in _chunks(unchecked, 1000):
        ours = _our_decided_email_ids(d.email_id for d in chunk)
        for decision in chunk:
            if decision.email_id not in ours:
                found += _outside_finding(decision, now)
        MultiMailDecision.objects.filter(pk__in=[d.pk for d in chunk]).update(checked_at=now)
    return found


def _outside_finding(decision: MultiMailDecision, now: datetime) -> int:
    _, created = ReconciliationFinding.objects.get_or_create(
        kind=ReconciliationFinding.Kind.OUTSIDE_REVIEWQUEUE,
        email_id=decision.email_id,
        defaults={
            "found_at": now,
            "multimail_entry_id": decision.entry_id,
            "multimail_action": decision.action,
            "detail": f"MultiMail recorded {decision.action} by key {decision.actor_key_id or '?'}"
            f" with no reviewqueue decision for this email",
        },
    )
    return int(created)


def _find_unrecorded_decisions(now: datetime, grace: timedelta, *, since: datetime | None) -> tuple[int, int]:
    """Our decisions that left the grace period after `since` (the last complete run's bound) and
    that MultiMail has not recorded; then the earlier findings whose entry has arrived since."""
    window_start = max(since, now - LOOKBACK) if since else now - LOOKBACK
    ours = (
        AuditEvent.objects.annotate(email=KT("payload__email_id"))
        .filter(action__in=OUR_DECISION_ACTIONS, created_at__gt=window_start, created_at__lte=now - grace)
        # An approval with edits is carried out on the edited email (its edit.sent event), not on
        # the original, which is cancelled (or rejected, which MultiMail records as a decision anyway).
        .exclude(action="draft.decided", payload__contains={"edited": True})  # @>: never NULL for old payloads
        .values_list("seq", "email", "payload")
    )
    already = ReconciliationFinding.objects.filter(kind=ReconciliationFinding.Kind.NOT_AT_MULTIMAIL)
    ours = ours.exclude(email__in=already.values("email_id"))
    found = 0
    for chunk in _chunks(ours, 1000):
        recorded = set(
            MultiMailDecision.objects.filter(email_id__in=[email for _, email, _ in chunk]).values_list(
                "email_id", flat=True
            )
        )
        for seq, email_id, payload in chunk:
            if email_id and email_id not in recorded:
                found += _unrecorded_finding(seq, email_id, payload, now, grace)
    resolved = ReconciliationFinding.objects.filter(
        kind=ReconciliationFinding.Kind.NOT_AT_MULTIMAIL,
        resolved_at__isnull=True,
        email_id__in=MultiMailDecision.objects.values("email_id"),
    ).update(resolved_at=now)
    return found, resolved


def _unrecorded_finding(seq: int, email_id: str, payload: dict, now: datetime, grace: timedelta) -> int:
    _, created = ReconciliationFinding.objects.get_or_create(
        kind=ReconciliationFinding.Kind.NOT_AT_MULTIMAIL,
        email_id=email_id,
        defaults={
            "found_at": now,
            "event_seq": seq,
            "detail": f"decision {payload.get('decision_id')} ({payload.get('action')}) is not in"
            f" MultiMail's audit log after {int(grace.total_seconds() // 60)} minutes",
        },
    )
    return int(created)


def _chunks(queryset, size: int):
    batch = []
    for item in queryset.iterator(chunk_size=size):
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
