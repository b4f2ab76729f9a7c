"""The evidence the oversight page, its CSV and the readiness API show: rollups for closed days,
the days since the worker's last refresh computed live."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, timedelta

from django.db.models import Min, Sum
from django.utils import timezone

from reviewqueue.oversight.models import DailyRollup, RollupState
from reviewqueue.oversight.outcomes import OUTCOME_LABELS, OUTCOMES, histogram_percentile
from reviewqueue.oversight.rollups import STATE_NAME, Cell, cells_compute, day_start

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


def day_cells(selection: Selection) -> dict[tuple[date, str, str], Cell]:
    """{(day, mailbox, kind): Cell} for the selection: stored rollups, then live days over them."""
    cells: dict[tuple[date, str, str], Cell] = {}
    boundary = live_from()
    stored = DailyRollup.objects.filter(day__gte=selection.since, day__lte=selection.until, day__lt=boundary)
    if selection.mailbox_id:
        stored = stored.filter(mailbox_id=selection.mailbox_id)
    if selection.kind:
        stored = stored.filter(kind=selection.kind)
    fields = [
        "day",
        "mailbox_id",
        "kind",
        "decisions",
        "stale_catches",
        "wait_histogram",
        "rejection_reasons",
        *OUTCOMES,
    ]
    for row in stored.values_list(*fields):
        day, mailbox, kind, decisions, stale, histogram, reasons, *outcome_counts = row
        cells[(day, mailbox, kind)] = Cell(decisions, dict(zip(OUTCOMES, outcome_counts, strict=True)), stale,
                                           histogram, reasons)  # fmt: skip
    if selection.until >= boundary:
        live_since = max(selection.since, boundary)
        live = cells_compute(day_start(live_since), day_start(selection.until + timedelta(days=1)),
                             mailbox_id=selection.mailbox_id)  # fmt: skip
        cells.update({key: cell for key, cell in live.items() if selection.matches(key[1], key[2])})
    return cells


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


def evidence(selection: Selection) -> Evidence:
    cells = day_cells(selection)
    total, by_cell, by_week = Cell(), defaultdict(Cell), defaultdict(Cell)
    for (day, mailbox, kind), cell in cells.items():
        total.add(cell)
        by_cell[(mailbox, kind)].add(cell)
        by_week[week_start(day)].add(cell)
    weeks, week = [], week_start(selection.since)
    while week <= selection.until:
        weeks.append((week, Figures.of(by_week.get(week, Cell()))))
        week += timedelta(weeks=1)
    cell_figures = sorted(
        ((mailbox, kind, Figures.of(cell)) for (mailbox, kind), cell in by_cell.items()),
        key=lambda item: (-item[2].decisions, item[0], item[1]),
    )
    return Evidence(selection, Figures.of(total), cell_figures, weeks)


def weekly_cells(selection: Selection) -> list[tuple[str, str, str, Figures]]:
    """(week start, mailbox, kind, figures) for every week x mailbox x kind with decisions, for the CSV."""
    grouped: dict[tuple[date, str, str], Cell] = defaultdict(Cell)
    for (day, mailbox, kind), cell in day_cells(selection).items():
        grouped[(week_start(day), mailbox, kind)].add(cell)
    return [
        (week.isoformat(), mailbox, kind, Figures.of(cell)) for (week, mailbox, kind), cell in sorted(grouped.items())
    ]


def mailbox_history(mailbox_id: str) -> tuple[date | None, int]:
    """(the day of the mailbox's first decision, its number of decisions), over all time."""
    boundary = live_from()
    stored = DailyRollup.objects.filter(mailbox_id=mailbox_id, day__lt=boundary).aggregate(
        first=Min("day"), decisions=Sum("decisions")
    )
    first, decisions = stored["first"], stored["decisions"] or 0
    live = cells_compute(day_start(boundary), day_start(today_utc() + timedelta(days=1)), mailbox_id=mailbox_id)
    for (day, _, _), cell in live.items():
        decisions += cell.decisions
        first = day if first is None or day < first else first
    return first, decisions


def known_choices(found: Evidence | None = None) -> tuple[list[str], list[str]]:
    """The mailboxes and kinds with rollups or in `found` (today's are live), for the filters and verdicts."""
    mailboxes = set(DailyRollup.objects.order_by().values_list("mailbox_id", flat=True).distinct())
    kinds = set(DailyRollup.objects.order_by().values_list("kind", flat=True).distinct())
    for mailbox, kind, _ in found.by_cell if found else []:
        mailboxes.add(mailbox)
        kinds.add(kind)
    return sorted(mailboxes), sorted(kinds)


__all__ = ["OUTCOME_LABELS", "Evidence", "Figures", "Selection", "evidence", "mailbox_history"]
