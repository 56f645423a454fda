"""Server-side chart geometry for accessible SVG (rendered by ``opendata/_chart.svg``).

A chart is bars for one daily series plus lines for others. Nothing depends on colour alone:
lines differ by dash pattern and marker shape, the legend draws each series' own shape and
names its latest value, and the highest bar carries its number. The SVG has a title and a
description in words, and the same numbers are in a table beside it.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils import dateformat
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

__all__ = ["Chart", "LineSpec", "bar_line_chart", "format_day", "format_number"]

# A narrow canvas, so that its text stays legible when a phone scales it to its width.
WIDTH = 480
HEIGHT = 260
LEFT, RIGHT, TOP, BOTTOM = 56, 8, 20, 28
MARKER = 3  # half the side of a square marker, the radius of a round one


def format_number(value: int | Decimal | None) -> str:
    """1,234 for counts, 1,234.5 for averages, — when unknown."""
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return f"{value:,.1f}"
    return f"{value:,}"


def format_day(day: datetime.date) -> str:
    """2020年11月26日 in Japanese, Nov 26, 2020 in English (Django's month names)."""
    return dateformat.format(day, pgettext("date format", "Y年n月j日"))


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float

    @property
    def corner_x(self) -> float:
        """Where a square marker centred on the point starts (templates cannot subtract)."""
        return round(self.x - MARKER, 1)

    @property
    def corner_y(self) -> float:
        return round(self.y - MARKER, 1)


@dataclass(frozen=True, slots=True)
class Line:
    style: str  # "solid" or "dashed": the CSS modifier, and what tells the lines apart
    marker: str  # "circle" or "square"
    path: str
    markers: tuple[Point, ...]


@dataclass(frozen=True, slots=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass(frozen=True, slots=True)
class LegendItem:
    """One series in the legend (HTML beside the SVG, so it reflows on a phone)."""

    kind: str  # "bar", "solid" or "dashed"
    marker: str
    text: str


@dataclass(frozen=True, slots=True)
class Chart:
    id: str
    title: str
    desc: str
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    bars: tuple[Bar, ...]
    lines: tuple[Line, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    labels: tuple[Label, ...]
    legend: tuple[LegendItem, ...]

    @property
    def y_label_x(self) -> int:
        return self.left - 6

    @property
    def x_label_y(self) -> int:
        return self.bottom + 18

    @property
    def tick_end_y(self) -> int:
        return self.bottom + 4


@dataclass(frozen=True, slots=True)
class LineSpec:
    label: str
    values: Sequence[int | Decimal | None]
    style: str = "dashed"
    marker: str = "circle"


def nice_ceiling(value: float) -> tuple[float, float]:
    """An axis maximum at or above ``value`` and its tick step (1, 2 or 5 times 10ⁿ)."""
    if value <= 0:
        return 4.0, 1.0
    raw_step = value / 4
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw_step)
    step = max(step, 1.0)
    return step * math.ceil(value / step), step


def _tick_days(days: Sequence[datetime.date]) -> tuple[list[int], str]:
    """Which days carry a tick, and how they are labelled, for the length of the period.

    Weeks (Mondays) up to a month, months up to about half a year, quarters up to about two
    years, years beyond: about four to eight labels, so they never overlap on a phone.
    """
    span = len(days)
    if span <= 31:
        return [i for i, d in enumerate(days) if d.weekday() == 0], "week"
    if span <= 200:
        return [i for i, d in enumerate(days) if d.day == 1], "month"
    if span <= 800:
        return [i for i, d in enumerate(days) if d.day == 1 and d.month in (1, 4, 7, 10)], "month"
    return [i for i, d in enumerate(days) if d.day == 1 and d.month == 1], "year"


def _x_ticks(days: Sequence[datetime.date], band: float) -> tuple[Tick, ...]:
    """Ticks at Mondays, months, quarters or years, with the year at the first and at January."""
    ticks: list[Tick] = []
    indexes, unit = _tick_days(days)
    for index in indexes:
        day = days[index]
        if unit == "year":
            label = dateformat.format(day, pgettext("chart axis: a year", "Y年"))
        elif unit == "month":
            with_year = not ticks or day.month == 1
            label = dateformat.format(
                day,
                pgettext("chart axis: a month and its year", "Y年n月")
                if with_year
                else pgettext("chart axis: a month", "n月"),
            )
        else:
            label = dateformat.format(day, pgettext("chart axis: a day", "n/j"))
        ticks.append(Tick(round(LEFT + band * (index + 0.5), 1), label))
    return tuple(ticks)


def bar_line_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    days: Sequence[datetime.date],
    bars: Sequence[int | None],
    bar_label: str,
    lines: Sequence[LineSpec] = (),
    unit: str = "",
) -> Chart:
    """Bars for ``bars`` and a line per LineSpec over ``days`` (all the same length)."""
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    band = plot_width / max(len(days), 1)
    known = [v for v in bars if v is not None] + [
        float(v) for spec in lines for v in spec.values if v is not None
    ]
    top_value, step = nice_ceiling(max(known, default=0))

    def y_of(value: float) -> float:
        return TOP + plot_height * (1 - value / top_value)

    chart_bars = tuple(
        Bar(
            round(LEFT + band * i + band * 0.1, 1),
            round(y_of(v), 1),
            round(band * 0.8, 1),
            round(TOP + plot_height - y_of(v), 1),
        )
        for i, v in enumerate(bars)
        if v  # a day of 0 has no bar to draw (and a long period has many)
    )
    chart_lines: list[Line] = []
    # A marker a week, or every few weeks over a long period: at most about 30 per line.
    every = 7 * max(1, math.ceil(len(days) / 7 / 30))
    for spec in lines:
        parts: list[str] = []
        points: list[Point] = []
        pen_down = False
        for i, v in enumerate(spec.values):
            if v is None:
                pen_down = False
                continue
            x, y = LEFT + band * (i + 0.5), y_of(float(v))
            parts.append(f"{'L' if pen_down else 'M'}{x:.1f} {y:.1f}")
            pen_down = True
            if i % every == (len(spec.values) - 1) % every:  # ending on the last day
                points.append(Point(round(x, 1), round(y, 1)))
        chart_lines.append(Line(spec.style, spec.marker, " ".join(parts), tuple(points)))

    y_ticks = tuple(
        Tick(round(y_of(step * n), 1), format_number(int(step * n)))
        for n in range(round(top_value / step) + 1)
    )
    labels: list[Label] = []
    if known and any(v is not None for v in bars):
        index, peak = max(
            ((i, v) for i, v in enumerate(bars) if v is not None), key=lambda item: item[1]
        )
        x = LEFT + band * (index + 0.5)
        anchor = "middle"
        if index < len(bars) * 0.15:
            anchor = "start"
        elif index > len(bars) * 0.85:
            anchor = "end"
        text = _("最多 %(value)s") % {"value": format_number(peak)}
        labels.append(Label(round(x, 1), round(max(y_of(peak) - 6, TOP - 6), 1), text, anchor))
    legend: list[LegendItem] = []
    latest_bar = next((v for v in reversed(bars) if v is not None), None)
    legend.append(
        LegendItem(
            "bar",
            "",
            _("%(label)s（最新 %(value)s%(unit)s）")
            % {"label": bar_label, "value": format_number(latest_bar), "unit": unit},
        )
    )
    for spec in lines:
        latest = next((v for v in reversed(spec.values) if v is not None), None)
        legend.append(
            LegendItem(
                spec.style,
                spec.marker,
                _("%(label)s（最新 %(value)s%(unit)s）")
                % {"label": spec.label, "value": format_number(latest), "unit": unit},
            )
        )
    return Chart(
        id=chart_id,
        title=title,
        desc=desc,
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        bottom=TOP + plot_height,
        bars=chart_bars,
        lines=tuple(chart_lines),
        y_ticks=y_ticks,
        x_ticks=_x_ticks(days, band),
        labels=tuple(labels),
        legend=tuple(legend),
    )
