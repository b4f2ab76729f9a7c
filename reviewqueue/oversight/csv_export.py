"""The evidence as CSV: one row per week x mailbox x kind, and the totals of the range."""

import csv
import io

from reviewqueue.oversight.outcomes import OUTCOMES
from reviewqueue.oversight.selectors import Figures

COLUMNS = ["week_start", "mailbox_id", "kind", "decisions", *(f"{o}_share" for o in OUTCOMES), *OUTCOMES,
           "stale_context_catches", "p50_seconds", "p90_seconds", "top_rejection_reason"]  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _guarded(text: str) -> str:
    # A spreadsheet would run a cell starting with a formula sign (reasons and ids are free text).
    return "'" + text if text.startswith(_FORMULA_START) else text


def _row(week: str, mailbox: str, kind: str, figures: Figures) -> list:
    top = figures.rejection_reasons[0][0] if figures.rejection_reasons else ""
    shares = [f"{figures.shares[o]:.4f}" if figures.shares[o] is not None else "" for o in OUTCOMES]
    waits = [_seconds(figures.p50_seconds), _seconds(figures.p90_seconds)]
    counts = [*figures.outcomes.values(), figures.stale_catches]
    return [week, _guarded(mailbox), _guarded(kind), figures.decisions, *shares, *counts, *waits, _guarded(top)]


def _seconds(value: float | None) -> str:
    return f"{value:.0f}" if value is not None else ""


def evidence_csv(weekly_cells: list[tuple[str, str, str, Figures]], total: Figures) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for week, mailbox, kind, figures in weekly_cells:
        writer.writerow(_row(week, mailbox, kind, figures))
    writer.writerow(_row("total", "(all selected)", "(all selected)", total))
    return out.getvalue()
