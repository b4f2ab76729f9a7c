"""The evidence the oversight page, its CSV and the readiness API show: rollups for closed days,
the days since the worker's last refresh computed live."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, timedelta

from django.db.models import Min, Sum
from django.utils import timezone

from reviewqueue.oversight.models import DailyRollup, RollupState
from reviewqueue.oversight.outcomes import OUTCOMES, histogram_percentile
from reviewqueue.oversight.rollups import (
    STATE_NAME,
    Cell,
    cells_compute,
    daily_cells_summed,
    day_start,
    weekly_cells_read,
)

WEEKS_SHOWN = 12


@dataclass(frozen=True)
class Selection:
    since: date  # first day, UTC
    until: date  # last day, UTC, included
    mailbox_id: str = ""
    kind: str = ""

    def matches(self, mailbox: str, kind: str) -> bool:
        return (not self.mailbox_id or mailbox == self.mailbox_id) and (not self.kind or kind == self.kind)


def today_utc() -> date:
    return timezone.now().astimezone(UTC).date()


def default_selection(*, mailbox_id: str = "", kind: str = "") -> Selection:
    today = today_utc()
    return Selection(since=week_start(today) - timedelta(weeks=WEEKS_SHOWN - 1), until=today,
                     mailbox_id=mailbox_id, kind=kind)  # fmt: skip


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def live_from() -> date:
    """The first day not rolled up for certain: the day of the last refresh (it went on after). Before
    any refresh, every day is computed live (correct, only slower)."""
    state = RollupState.objects.filter(name=STATE_NAME).first()
    if state is None or state.refreshed_at is None:
        return date(2000, 1, 1)
    return min(state.refreshed_at.astimezone(UTC).date(), today_utc())


CellKey = tuple[date, str, str]  # (week start, mailbox, kind)


class Reader:
    """One request's reading of the evidence: the live days (those since the last rollup refresh) are
    computed once, for every mailbox, and shared by the page's figures and its verdicts."""

    def __init__(self):
        self.boundary = live_from()
        self.today = today_utc()
        self._live: dict | None = None

    def live_days(self) -> dict:
        """{(day, mailbox, kind): Cell} of the days not rolled up for certain (two queries, once)."""
        if self._live is None:
            self._live = cells_compute(day_start(self.boundary), day_start(self.today + timedelta(days=1)))
        return self._live

    def week_cells(self, selection: Selection) -> dict[CellKey, Cell]:
        """{(week start, mailbox, kind): Cell} for the selection: rollups summed by PostgreSQL per week, then
        the live days added."""
        cells: dict[CellKey, Cell] = defaultdict(Cell)
        if selection.since < self.boundary:
            self._stored(selection, cells)
        if selection.until >= self.boundary:
            for (day, mailbox, kind), cell in self.live_days().items():
                if selection.since <= day <= selection.until and selection.matches(mailbox, kind):
                    cells[(week_start(day), mailbox, kind)].add(cell)
        return cells

    def _stored(self, selection: Selection, cells: dict) -> None:
        """Whole weeks from the weekly rollups; the days of cut weeks from the daily ones."""
        last_day = min(selection.until, self.boundary - timedelta(days=1))
        first_week = week_start(selection.since + timedelta(days=6))  # the first week starting on or after since
        last_week = week_start(last_day + timedelta(days=1)) - timedelta(weeks=1)  # the last one ending by last_day
        filters = {"mailbox_id": selection.mailbox_id, "kind": selection.kind}
        if first_week <= last_week:
            weekly_cells_read(first_week, last_week, cells, **filters)
            day_ranges = [(selection.since, first_week - timedelta(days=1)), (last_week + timedelta(weeks=1), last_day)]
        else:
            day_ranges = [(selection.since, last_day)]
        for first, last in day_ranges:
            if first <= last:
                daily_cells_summed(first, last, cells, **filters)


@dataclass(frozen=True)
class Figures:
    """The evidence of one group of decisions (a mailbox x kind, a week, the whole selection)."""

    decisions: int
    outcomes: dict  # outcome -> count
    shares: dict  # outcome -> fraction of decisions (0..1), None when there are none
    stale_catches: int
    p50_seconds: float | None
    p90_seconds: float | None
    rejection_reasons: list[tuple[str, int]]  # most frequent first

    @classmethod
    def of(cls, cell: Cell) -> "Figures":
        shares = {name: (cell.outcomes.get(name, 0) / cell.decisions if cell.decisions else None) for name in OUTCOMES}
        reasons = sorted(cell.rejection_reasons.items(), key=lambda item: (-item[1], item[0]))
        return cls(
            decisions=cell.decisions,
            outcomes={name: cell.outcomes.get(name, 0) for name in OUTCOMES},
            shares=shares,
            stale_catches=cell.stale_catches,
            p50_seconds=histogram_percentile(cell.wait_histogram, 0.5),
            p90_seconds=histogram_percentile(cell.wait_histogram, 0.9),
            rejection_reasons=reasons,
        )

    def as_dict(self) -> dict:
        return {
            "decisions": self.decisions,
            "outcomes": self.outcomes,
            "shares": {name: (round(share, 4) if share is not None else None) for name, share in self.shares.items()},
            "stale_context_catches": self.stale_catches,
            "time_to_decision_seconds": {"p50": _rounded(self.p50_seconds), "p90": _rounded(self.p90_seconds)},
            "top_rejection_reasons": [{"reason": r, "count": n} for r, n in self.rejection_reasons[:5]],
        }


def _rounded(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


@dataclass(frozen=True)
class Evidence:
    selection: Selection
    total: Figures
    by_cell: list[tuple[str, str, Figures]]  # (mailbox, kind, figures), most decisions first
    weeks: list[tuple[date, Figures]]  # oldest first, every week of the selection (empty ones too)
    week_cells: dict  # {(week start, mailbox, kind): Cell}, for the CSV


def evidence(selection: Selection, reader: Reader | None = None) -> Evidence:
    week_cells = (reader or Reader()).week_cells(selection)
    total, by_cell, by_week = Cell(), defaultdict(Cell), defaultdict(Cell)
    for (week, mailbox, kind), cell in week_cells.items():
        by_cell[(mailbox, kind)].add(cell)
        by_week[week].add(cell)
    for cell in by_cell.values():
        total.add(cell)
    weeks, week = [], week_start(selection.since)
    while week <= selection.until:
        weeks.append((week, Figures.of(by_week.get(week, Cell()))))
        week += timedelta(weeks=1)
    cell_figures = sorted(
        ((mailbox, kind, Figures.of(cell)) for (mailbox, kind), cell in by_cell.items()),
        key=lambda item: (-item[2].decisions, item[0], item[1]),
    )
    return Evidence(selection, Figures.of(total), cell_figures, weeks, dict(week_cells))


def weekly_cells(found: Evidence) -> list[tuple[str, str, str, Figures]]:
    """(week start, mailbox, kind, figures) for every week x mailbox x kind with decisions, for the CSV."""
    return [
        (week.isoformat(), mailbox, kind, Figures.of(cell))
        for (week, mailbox, kind), cell in sorted(found.week_cells.items())
    ]


def mailbox_histories(mailbox_ids: list[str], reader: Reader) -> dict[str, tuple[date | None, int]]:
    """{mailbox: (the day of its first decision, its number of decisions)} over all time, in one query
    (and the reader's live days) whatever the number of mailboxes."""
    histories: dict[str, tuple[date | None, int]] = dict.fromkeys(mailbox_ids, (None, 0))
    stored = (
        DailyRollup.objects.filter(mailbox_id__in=mailbox_ids, day__lt=reader.boundary)
        .values("mailbox_id")
        .annotate(first=Min("day"), decisions=Sum("decisions"))
        .order_by()
    )
    for row in stored:
        histories[row["mailbox_id"]] = (row["first"], row["decisions"] or 0)
    for (day, mailbox, _), cell in reader.live_days().items():
        if mailbox in histories:
            first, decisions = histories[mailbox]
            histories[mailbox] = (day if first is None or day < first else first, decisions + cell.decisions)
    return histories


def known_choices(found: Evidence | None = None) -> tuple[list[str], list[str]]:
    """The mailboxes and kinds with rollups or in `found` (today's are live), for the filters and verdicts."""
    mailboxes = set(DailyRollup.objects.order_by().values_list("mailbox_id", flat=True).distinct())
    kinds = set(DailyRollup.objects.order_by().values_list("kind", flat=True).distinct())
    for mailbox, kind, _ in found.by_cell if found else []:
        mailboxes.add(mailbox)
        kinds.add(kind)
    return sorted(mailboxes), sorted(kinds)
