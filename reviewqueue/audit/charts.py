"""Small bar charts drawn on the server as SVG markup: no script, no inline style (the CSP forbids
both); colours come from CSS classes in app.css."""

from dataclasses import dataclass

BAR_HEIGHT = 18
GAP = 6
LABEL_WIDTH = 160
CHART_WIDTH = 520
TEXT_WIDTH = 130  # after the longest bar: "12 · 100% approved" at the chart's font size


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    y: int
    width: int
    label_y: int


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    label_width: int
    title: str


def bar_chart(title: str, items: list[tuple[str, float, str]]) -> BarChart:
    """items: (label, value, text shown after the bar). Bars scale to the largest value."""
    top = max((value for _, value, _ in items), default=0) or 1
    room = CHART_WIDTH - LABEL_WIDTH - TEXT_WIDTH
    bars = [
        Bar(
            label=label[:28],
            value=value,
            text=text,
            y=index * (BAR_HEIGHT + GAP),
            width=max(int(room * value / top), 1 if value else 0),
            label_y=index * (BAR_HEIGHT + GAP) + BAR_HEIGHT - 5,
        )
        for index, (label, value, text) in enumerate(items)
    ]
    return BarChart(bars, CHART_WIDTH, max(len(bars) * (BAR_HEIGHT + GAP), BAR_HEIGHT), LABEL_WIDTH, title)
