"""Daily rollups of decisions per mailbox and kind: computed from review's decisions, kept current
by the worker (oversight.rollups_refresh, every few minutes) and rebuilt by `manage.py oversight_rollups`.

The evidence page reads closed days from the rollups and computes today live (cells_compute), so
it is exact for today without waiting for the worker.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, transaction
from django.utils import timezone

from reviewqueue.oversight.models import DailyRollup, RollupState, WeeklyRollup
from reviewqueue.oversight.outcomes import OUTCOMES, STALE_CATCH_SQL, WAIT_BUCKET_SQL, counted_condition, outcome_sql

OTHER_KIND = "other"
REASON_LENGTH = 200
STATE_NAME = "decisions"


@dataclass
class Cell:
    """One day (or several summed) of one mailbox and kind."""

    decisions: int = 0
    outcomes: dict = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    stale_catches: int = 0
    wait_histogram: dict = field(default_factory=dict)
    rejection_reasons: dict = field(default_factory=dict)

    def add(self, other: "Cell") -> None:
        self.decisions += other.decisions
        for name, count in other.outcomes.items():
            self.outcomes[name] = self.outcomes.get(name, 0) + count
        self.stale_catches += other.stale_catches
        _add_counts(self.wait_histogram, other.wait_histogram)
        _add_counts(self.rejection_reasons, other.rejection_reasons)


def _add_counts(into: dict, counts: dict) -> None:
    # Keys are strings throughout (as JSON gives them back), so stored and live cells merge.
    for key, count in counts.items():
        into[key] = into.get(key, 0) + count


CellKey = tuple[date, str, str]  # (day, mailbox_id, kind)

# The kind is intake's: the intake record of the draft. It is joined through the conversation as well,
# the one indexed column the record shares with its draft (intake names the draft's conversation), so a
# day's few decisions find their records by index instead of hashing every intake record there is.

_FROM = """
    FROM review_decision d
    JOIN review_draft dr ON dr.id = d.draft_id
    LEFT JOIN routing_intakerecord ir ON ir.conversation_id = dr.conversation_id AND ir.draft_id = dr.id
    WHERE d.decided_at >= %s AND d.decided_at < %s AND {counted}
"""
_KEY = "(d.decided_at AT TIME ZONE 'UTC')::date, dr.mailbox_id, coalesce(nullif(ir.kind, ''), %s)"


def cells_compute(since: datetime, until: datetime, *, mailbox_id: str = "") -> dict[CellKey, Cell]:
    """The cells of the decisions made in [since, until): two grouped queries."""
    mailbox_sql, mailbox_params = ("AND dr.mailbox_id = %s", [mailbox_id]) if mailbox_id else ("", [])
    decisions_from = _FROM.format(counted=counted_condition())
    cells: dict[CellKey, Cell] = defaultdict(Cell)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_KEY}, {outcome_sql()}, {STALE_CATCH_SQL}, {WAIT_BUCKET_SQL}, count(*) "
            f"{decisions_from} {mailbox_sql} GROUP BY 1, 2, 3, 4, 5, 6",
            [OTHER_KIND, since, until, *mailbox_params],
        )
        for day, mailbox, kind, outcome, stale, bucket, count in cursor.fetchall():
            cell = cells[(day, mailbox, kind)]
            cell.decisions += count
            cell.outcomes[outcome] = cell.outcomes.get(outcome, 0) + count
            cell.stale_catches += count if stale else 0
            _add_counts(cell.wait_histogram, {str(bucket): count})
        cursor.execute(
            f"SELECT {_KEY}, left(d.reason, {REASON_LENGTH}), count(*) {decisions_from} {mailbox_sql} "
            f"AND d.action = 'reject' AND d.origin <> 'system' GROUP BY 1, 2, 3, 4",
            [OTHER_KIND, since, until, *mailbox_params],
        )
        for day, mailbox, kind, reason, count in cursor.fetchall():
            _add_counts(cells[(day, mailbox, kind)].rejection_reasons, {reason.strip() or "(no reason)": count})
    return dict(cells)


_SUMS = ", ".join(f"sum({column})" for column in ("decisions", "stale_catches", *OUTCOMES))
_STORED = "SELECT date_trunc('week', r.day)::date, r.mailbox_id, r.kind, {columns} FROM oversight_dailyrollup r {join} "
_JSON_EACH = ", jsonb_each_text(r.{column}) AS j"
_COUNTED = ("decisions", "stale_catches", "wait_histogram", "rejection_reasons", *OUTCOMES)


def _filtered(where: str, params: list, mailbox_id: str, kind: str) -> tuple[str, list]:
    if mailbox_id:
        where, params = where + " AND r.mailbox_id = %s", [*params, mailbox_id]
    if kind:
        where, params = where + " AND r.kind = %s", [*params, kind]
    return where, params


def daily_cells_summed(first: date, last: date, cells: dict, *, mailbox_id: str = "", kind: str = "") -> None:
    """Add the daily rollups of first..last to `cells`, summed per (week start, mailbox, kind) by PostgreSQL."""
    where, params = _filtered("WHERE r.day >= %s AND r.day <= %s", [first, last], mailbox_id, kind)
    with connection.cursor() as cursor:
        cursor.execute(_STORED.format(columns=_SUMS, join="") + where + " GROUP BY 1, 2, 3", params)
        for week, mailbox, kind_, decisions, stale, *outcome_counts in cursor.fetchall():
            cell = cells[(week, mailbox, kind_)]
            cell.decisions += decisions
            cell.stale_catches += stale
            for name, count in zip(OUTCOMES, outcome_counts, strict=True):
                cell.outcomes[name] += count
        for column in ("wait_histogram", "rejection_reasons"):
            columns, join = "j.key, sum(j.value::bigint)::bigint", _JSON_EACH.format(column=column)
            cursor.execute(_STORED.format(columns=columns, join=join) + where + " GROUP BY 1, 2, 3, 4", params)
            for week, mailbox, kind_, key, count in cursor.fetchall():
                counts = getattr(cells[(week, mailbox, kind_)], column)
                counts[key] = counts.get(key, 0) + count


def weekly_cells_read(first_week: date, last_week: date, cells: dict, *, mailbox_id: str = "", kind: str = "") -> None:
    """Add the weekly rollups of the weeks first_week..last_week (Mondays) to `cells`."""
    rows = WeeklyRollup.objects.filter(week__gte=first_week, week__lte=last_week)
    if mailbox_id:
        rows = rows.filter(mailbox_id=mailbox_id)
    if kind:
        rows = rows.filter(kind=kind)
    for week, mailbox, kind_, decisions, stale, histogram, reasons, *outcome_counts in rows.values_list(
        "week", "mailbox_id", "kind", *_COUNTED
    ):
        cells[(week, mailbox, kind_)].add(
            Cell(decisions, dict(zip(OUTCOMES, outcome_counts, strict=True)), stale, histogram, reasons)
        )


def _weeks_store(first_day: date, last_day: date, now) -> None:
    """Sum the daily rollups of the weeks holding first_day..last_day into their weekly rows again."""
    first_week = first_day - timedelta(days=first_day.weekday())
    last_week = last_day - timedelta(days=last_day.weekday())
    cells: dict = defaultdict(Cell)
    daily_cells_summed(first_week, last_week + timedelta(days=6), cells)
    rows = [
        WeeklyRollup(week=week, **_counts(mailbox, kind, cell, now)) for (week, mailbox, kind), cell in cells.items()
    ]
    WeeklyRollup.objects.filter(week__gte=first_week, week__lte=last_week).delete()
    WeeklyRollup.objects.bulk_create(rows, batch_size=1000)


def _counts(mailbox: str, kind: str, cell: Cell, now: datetime) -> dict:
    """A rollup row's columns but its day or week (models.RollupCounts) from one summed cell."""
    return {
        "mailbox_id": mailbox,
        "kind": kind,
        "decisions": cell.decisions,
        "stale_catches": cell.stale_catches,
        "wait_histogram": cell.wait_histogram,
        "rejection_reasons": cell.rejection_reasons,
        "computed_at": now,
        **{name: cell.outcomes.get(name, 0) for name in OUTCOMES},
    }


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def rollups_store(first_day: date, last_day: date) -> int:
    """Recompute and replace the rollups of the days first_day..last_day (UTC); returns the rows written."""
    cells = cells_compute(day_start(first_day), day_start(last_day + timedelta(days=1)))
    now = timezone.now()
    rows = [DailyRollup(day=day, **_counts(mailbox, kind, cell, now)) for (day, mailbox, kind), cell in cells.items()]
    with transaction.atomic():
        DailyRollup.objects.filter(day__gte=first_day, day__lte=last_day).delete()
        DailyRollup.objects.bulk_create(rows, batch_size=1000)
        _weeks_store(first_day, last_day, now)
    return len(rows)


def rollups_refresh(*, today: date | None = None) -> dict:
    """Roll up yesterday and today again, and any other day a decision newer than the last run
    landed in (a backfill, a late import). Decisions are never changed, so a day is only ever added to.

    One run at a time (a row lock on the state); a second runs after the first and finds little to do.
    """
    today = today or timezone.now().astimezone(UTC).date()
    with transaction.atomic():
        state, _ = RollupState.objects.select_for_update().get_or_create(name=STATE_NAME)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT max(id), array_agg(DISTINCT (decided_at AT TIME ZONE 'UTC')::date) "
                "FROM review_decision WHERE id > %s",
                [state.decision_id],
            )
            newest_id, new_days = cursor.fetchone()
        days = sorted(set(new_days or []) | {today - timedelta(days=1), today})
        written = sum(rollups_store(day, day) for day in _runs(days))
        state.decision_id = max(newest_id or 0, state.decision_id)
        state.refreshed_at = timezone.now()
        state.save(update_fields=["decision_id", "refreshed_at"])
    return {"days": len(days), "rows": written, "decision_id": state.decision_id}


def _runs(days: list[date]):
    """Each day once (rollups_store replaces a day range; one day at a time keeps each query small)."""
    yield from days


def rollups_rebuild(*, chunk_days: int = 7) -> dict:
    """Recompute every day that has decisions, a week at a time (the command and first start)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(decided_at), max(decided_at), max(id) FROM review_decision")
        first, last, newest_id = cursor.fetchone()
    if first is None:
        return {"days": 0, "rows": 0}
    start, end = first.astimezone(UTC).date(), last.astimezone(UTC).date()
    rows, day = 0, start
    while day <= end:
        chunk_end = min(day + timedelta(days=chunk_days - 1), end)
        rows += rollups_store(day, chunk_end)
        day = chunk_end + timedelta(days=1)
    RollupState.objects.update_or_create(
        name=STATE_NAME, defaults={"decision_id": newest_id, "refreshed_at": timezone.now()}
    )
    return {"days": (end - start).days + 1, "rows": rows}
