"""Charts drawn on the server as SVG: axes with units, ticks, labels sized to their text, rates on a
0-100% axis. No script and no inline style (the CSP forbids both); colours are SVG presentation
attributes. Every chart is followed on the page by a table of the same numbers (the accessible form).

Text widths are estimated at CHAR_WIDTH per character (12 px sans-serif is narrower on average), and
margins are sized from them, so no label runs past the drawing (the browser test checks the boxes).
"""

import math
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH = 720
HEIGHT = 260
FONT = 12
CHAR_WIDTH = 7.2  # a generous average width of a 12 px sans-serif character
TOP, RIGHT = 34, 24  # room for the legend above, and for the last x label's overhang
AXIS_TITLE = 18  # room for an axis title (one line)
TICK_ROOM = 8
COLOURS = ("#2563eb", "#7c3aed", "#d97706", "#dc2626", "#6b7280", "#059669")


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]
    colour: str = COLOURS[0]


def _text(x: float, y: float, content: str, *, anchor: str = "start", css: str = "chart-label", extra: str = "") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{FONT}" fill="currentColor" '
        f'class="{css}"{extra}>{escape(content)}</text>'
    )


def text_width(content: str) -> float:
    return len(content) * CHAR_WIDTH


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `top` (1, 2 or 5 times a power of ten apart)."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    ticks, value = [], 0.0
    while value < top + step / 2:
        ticks.append(round(value, 10))
        if value >= top:
            break
        value += step
    return ticks


def _frame(title: str, body: list[str], width: int = WIDTH, height: int = HEIGHT) -> SafeString:
    svg = (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )
    return mark_safe(svg)  # noqa: S308 — every text is escaped above


@dataclass(frozen=True)
class _Plot:
    left: float
    right: float
    top: float
    bottom: float
    ticks: list[float]

    def y(self, value: float) -> float:
        return self.bottom - (self.bottom - self.top) * value / (self.ticks[-1] or 1)


def _plot(categories: list[str], ticks: list[float], tick_text, y_title: str, x_title: str):
    """The plot area and its axes: y ticks and grid, the category labels under the x axis, both titles."""
    tick_labels = [tick_text(t) for t in ticks]
    left = AXIS_TITLE + TICK_ROOM + max(text_width(t) for t in tick_labels) + 6
    plot = _Plot(left=left, right=WIDTH - RIGHT, top=TOP, bottom=HEIGHT - AXIS_TITLE - FONT - 14, ticks=ticks)
    body = []
    for tick, label in zip(ticks, tick_labels, strict=True):
        y = plot.y(tick)
        body.append(f'<line x1="{left:.1f}" x2="{plot.right:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d1d5db"/>')
        body.append(_text(left - 6, y + 4, label, anchor="end", css="chart-tick"))
    body.append(f'<line x1="{left:.1f}" x2="{left:.1f}" y1="{plot.top:.1f}" y2="{plot.bottom:.1f}" stroke="#6b7280"/>')
    middle = (plot.top + plot.bottom) / 2
    body.append(_text(FONT + 2, middle, y_title, anchor="middle", css="chart-axis-title",
                      extra=f' transform="rotate(-90 {FONT + 2} {middle:.1f})"'))  # fmt: skip
    slot = (plot.right - left) / max(len(categories), 1)
    every = max(1, math.ceil(max((text_width(c) for c in categories), default=0) / max(slot - 6, 1)))
    for index, category in enumerate(categories):
        if index % every == 0:
            body.append(_text(left + slot * (index + 0.5), plot.bottom + FONT + 4, category, anchor="middle"))
    body.append(_text((left + plot.right) / 2, HEIGHT - 6, x_title, anchor="middle", css="chart-axis-title"))
    return plot, slot, body


def _legend(series: list[Series]) -> list[str]:
    body, x = [], AXIS_TITLE + TICK_ROOM
    for item in series:
        body.append(f'<rect x="{x:.1f}" y="8" width="12" height="12" fill="{item.colour}"/>')
        body.append(_text(x + 16, 18, item.name, css="chart-legend"))
        x += 16 + text_width(item.name) + 14
    return body


def column_chart(title: str, categories: list[str], values: list[float], *, y_title: str, x_title: str,
                 percent: bool = False) -> SafeString:  # fmt: skip
    """One column per category; `percent`: values are fractions drawn on a 0-100% axis."""
    top = 1.0 if percent else max(values, default=0)
    ticks = nice_ticks(1.0, 4) if percent else nice_ticks(top or 1)
    plot, slot, body = _plot(categories, ticks, _percent_tick if percent else _count_tick, y_title, x_title)
    for index, value in enumerate(values):
        y = plot.y(value or 0)
        x = plot.left + slot * index + slot * 0.15
        shown = f"{value:.1%}" if percent else f"{value:g}"
        body.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{plot.bottom - y:.1f}" '
            f'fill="{COLOURS[0]}"><title>{escape(categories[index])}: {escape(shown)}</title></rect>'
        )
    return _frame(title, body)


def stacked_share_chart(title: str, categories: list[str], series: list[Series], *, x_title: str) -> SafeString:
    """Each column splits 100% of its category among the series (values are fractions, None: no data)."""
    plot, slot, body = _plot(categories, nice_ticks(1.0, 4), _percent_tick, "share of decisions (%)", x_title)
    body += _legend(series)
    for index, category in enumerate(categories):
        base = 0.0
        x = plot.left + slot * index + slot * 0.15
        for item in series:
            share = item.values[index] or 0
            if share <= 0:
                continue
            y_top, y_bottom = plot.y(base + share), plot.y(base)
            body.append(
                f'<rect x="{x:.1f}" y="{y_top:.1f}" width="{slot * 0.7:.1f}" height="{y_bottom - y_top:.1f}" '
                f'fill="{item.colour}"><title>{escape(category)}: {escape(item.name)} {share:.1%}</title></rect>'
            )
            base += share
    return _frame(title, body)


def line_chart(title: str, categories: list[str], series: list[Series], *, y_title: str, x_title: str,
               unit_seconds: float, unit: str) -> SafeString:  # fmt: skip
    """Lines of durations (seconds) drawn in `unit` (unit_seconds each); a None breaks the line."""
    top = max((v for s in series for v in s.values if v is not None), default=0) / unit_seconds
    plot, slot, body = _plot(categories, nice_ticks(top or 1), _count_tick, f"{y_title} ({unit})", x_title)
    body += _legend(series)
    for item in series:
        points = [
            (plot.left + slot * (i + 0.5), plot.y(v / unit_seconds), v)
            for i, v in enumerate(item.values)
            if v is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
            body.append(f'<polyline points="{path}" fill="none" stroke="{item.colour}" stroke-width="2"/>')
        shown = [c for c, v in zip(categories, item.values, strict=True) if v is not None]
        for (x, y, value), category in zip(points, shown, strict=True):
            label = escape(f"{category}: {item.name} {value / unit_seconds:.1f} {unit}")
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{item.colour}"><title>{label}</title></circle>'
            )
    return _frame(title, body)


BAR = 20
BAR_GAP = 8
LABEL_CHARS = 60


def bar_list_chart(title: str, items: list[tuple[str, float, str]], *, x_title: str) -> SafeString:
    """Horizontal bars: (label, value, text after the bar). The label column fits the longest label."""
    labels = [label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…" for label, _, _ in items]
    label_room = max((text_width(label) for label in labels), default=0) + 10
    text_room = max((text_width(text) for _, _, text in items), default=0) + 10
    room = max(WIDTH - label_room - text_room - RIGHT, 60)
    top = max((value for _, value, _ in items), default=0) or 1
    height = TOP + len(items) * (BAR + BAR_GAP) + AXIS_TITLE + 8
    body = []
    for index, ((full, value, text), label) in enumerate(zip(items, labels, strict=True)):
        y = TOP + index * (BAR + BAR_GAP)
        width = max(room * value / top, 1 if value else 0)
        body.append(_text(label_room - 10, y + BAR - 6, label, anchor="end", extra=""))
        body.append(f'<rect x="{label_room:.1f}" y="{y}" width="{width:.1f}" height="{BAR}" fill="{COLOURS[3]}">'
                    f"<title>{escape(full)}: {escape(text)}</title></rect>")  # fmt: skip
        body.append(_text(label_room + width + 6, y + BAR - 6, text, css="chart-value"))
    body.append(_text(label_room, TOP - 12, x_title, css="chart-axis-title"))
    return _frame(title, body, height=height)


def _percent_tick(value: float) -> str:
    return f"{value:.0%}"


def _count_tick(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:g}"


def duration_unit(seconds: float | None) -> tuple[float, str]:
    """The unit a duration axis reads best in: seconds, minutes or hours."""
    if seconds is None or seconds < 120:
        return 1.0, "seconds"
    if seconds < 3 * 3600:
        return 60.0, "minutes"
    return 3600.0, "hours"
