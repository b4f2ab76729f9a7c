"""The evidence page's charts and the tables under them, from selectors.Evidence."""

from dataclasses import dataclass

from django.utils.safestring import SafeString

from reviewqueue.oversight import charts
from reviewqueue.oversight.outcomes import OUTCOME_LABELS, OUTCOMES
from reviewqueue.oversight.selectors import Evidence

OUTCOME_COLOURS = dict(zip(OUTCOMES, ("#059669", "#2563eb", "#d97706", "#dc2626", "#6b7280"), strict=True))
X_TITLE = "week starting (UTC)"


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    svg: SafeString
    headers: list[str]
    rows: list[list[str]]


def _share(value: float | None) -> str:
    return f"{value:.1%}" if value is not None else "—"


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 3 * 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def evidence_charts(evidence: Evidence) -> list[Chart]:
    weeks = [(f"{week:%b %d}", week.isoformat(), figures) for week, figures in evidence.weeks]
    labels = [short for short, _, _ in weeks]
    return [
        _decisions_chart(weeks, labels),
        _outcomes_chart(weeks, labels),
        _wait_chart(weeks, labels),
        _stale_chart(weeks, labels),
        _reasons_chart(evidence),
    ]


def _decisions_chart(weeks, labels) -> Chart:
    title = "Decisions per week"
    svg = charts.column_chart(title, labels, [f.decisions for _, _, f in weeks], y_title="decisions per week",
                              x_title=X_TITLE)  # fmt: skip
    return Chart(
        "decisions", title, svg, ["Week starting", "Decisions"], [[iso, str(f.decisions)] for _, iso, f in weeks]
    )


def _outcomes_chart(weeks, labels) -> Chart:
    title = "Outcomes per week, as shares of the week's decisions"
    series = [
        charts.Series(OUTCOME_LABELS[o], [f.shares[o] for _, _, f in weeks], OUTCOME_COLOURS[o]) for o in OUTCOMES
    ]
    svg = charts.stacked_share_chart(title, labels, series, x_title=X_TITLE)
    rows = [[iso, str(f.decisions), *(_share(f.shares[o]) for o in OUTCOMES)] for _, iso, f in weeks]
    return Chart("outcomes", title, svg, ["Week starting", "Decisions", *(OUTCOME_LABELS[o] for o in OUTCOMES)], rows)


def _wait_chart(weeks, labels) -> Chart:
    title = "Time to decision per week, median (p50) and p90"
    unit_seconds, unit = charts.duration_unit(max((f.p90_seconds or 0 for _, _, f in weeks), default=0))
    series = [
        charts.Series("p50", [f.p50_seconds for _, _, f in weeks], charts.COLOURS[0]),
        charts.Series("p90", [f.p90_seconds for _, _, f in weeks], charts.COLOURS[2]),
    ]
    svg = charts.line_chart(title, labels, series, y_title="time to decision", x_title=X_TITLE,
                            unit_seconds=unit_seconds, unit=unit)  # fmt: skip
    rows = [[iso, duration_text(f.p50_seconds), duration_text(f.p90_seconds)] for _, iso, f in weeks]
    return Chart("wait", title, svg, ["Week starting", "p50", "p90"], rows)


def _stale_chart(weeks, labels) -> Chart:
    title = "Stale-context catches per week, as a share of decisions"
    rates = [f.stale_catches / f.decisions if f.decisions else 0 for _, _, f in weeks]
    svg = charts.column_chart(title, labels, rates, y_title="catches (% of decisions)", x_title=X_TITLE, percent=True)
    rows = [[iso, str(f.stale_catches), _share(f.stale_catches / f.decisions if f.decisions else None)]
            for _, iso, f in weeks]  # fmt: skip
    return Chart("stale", title, svg, ["Week starting", "Catches", "Share of decisions"], rows)


def _reasons_chart(evidence: Evidence) -> Chart:
    title = "Top rejection reasons"
    total = evidence.total
    rejected = total.outcomes.get("rejected", 0)
    top = total.rejection_reasons[:8]
    items = [(reason, count, f"{count} · {count / rejected:.0%} of rejections" if rejected else str(count))
             for reason, count in top]  # fmt: skip
    svg = (
        charts.bar_list_chart(title, items, x_title="rejections by a person, in the range") if items else SafeString("")
    )
    rows = [[reason, str(count), _share(count / rejected if rejected else None)] for reason, count in top]
    return Chart("reasons", title, svg, ["Reason", "Rejections", "Share of rejections"], rows)
