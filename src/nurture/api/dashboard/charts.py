"""The dashboard's charts, drawn here as inline SVG: the page needs no script, no font and
no request beyond itself, and a chart reads the same numbers as the table beside it.

Every chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` (what a screen
reader announces; the table beside it holds the figures), drawn at the size the page shows
it so that its 12 px text stays 12 px, in colours with enough contrast on white, with the
value written beside every bar.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

__all__ = [
    "NO_VALUE",
    "PALETTE",
    "WIDTH",
    "Bar",
    "Series",
    "bar_chart",
    "funnel_chart",
    "nice_ticks",
    "stacked_chart",
]

PALETTE = ("#1f5aa6", "#b3541e", "#2e7d32", "#6a3d9a", "#8a6d00", "#5f6368")
"""Series colours, each at least 4.5:1 against white, told apart without hue too (order,
legend, labels)."""
WIDTH = 500
"""The width of every chart, in CSS pixels (the page gives charts that column)."""
NO_VALUE = "\N{EN DASH}"
"""Written where a figure has no value (no lead to divide by, say): not a zero."""

_VALUE_ROOM = 70  # for the value written after the longest bar
_CHAR = 6.6  # the average width of a character at 12 px
_BAR, _THIN, _GAP = 16, 13, 10
_MANY = 24
"""Bars in a chart from which they are drawn thinner."""
_INK = "#1a1a1a"
_FONT = f'font-size="12" fill="{_INK}"'

Format = Callable[[float], str]


@dataclass(frozen=True)
class Bar:
    """One value of one series, with an optional interval drawn as a whisker."""

    value: float | None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Series:
    """A named list of bars, one per category."""

    label: str
    bars: Sequence[Bar]


def _svg(chart_id: str, title: str, desc: str, height: float, body: list[str]) -> str:
    return (
        f'<svg class="chart" role="img" width="{WIDTH}" height="{height:.0f}" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="{chart_id}-t">{escape(title)}</title>'
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>{"".join(body)}</svg>'
    )


def _label_room(categories: Sequence[str]) -> int:
    """Room for the longest category name, within reason (longer ones are cut)."""
    longest = max((len(c) for c in categories), default=4)
    return int(min(max(longest * _CHAR + 14, 60), 190))


def _label(text: str, x: float, y: float) -> str:
    """A category name ending at ``x``, cut to fit, whole in its tooltip."""
    room = int((x - 6) / _CHAR)
    short = text if len(text) <= room else text[: room - 1] + "…"
    return (
        f'<text x="{x - 8:.0f}" y="{y:.0f}" text-anchor="end" {_FONT}>'
        f"<title>{escape(text)}</title>{escape(short)}</text>"
    )


def _legend(series: Sequence[Series], left: float) -> list[str]:
    parts, x = [], left
    for index, one in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        parts.append(f'<rect x="{x:.0f}" y="6" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16:.0f}" y="16" {_FONT}>{escape(one.label)}</text>')
        x += 30 + _CHAR * len(one.label)
    return parts


def nice_ticks(top: float) -> list[float]:
    """Round steps from 0 to at least ``top``: 1, 2, 2.5 or 5 times a power of ten, at
    most five of them."""
    if top <= 0:
        return [0.0, 1.0]
    base = 10 ** math.floor(math.log10(top / 5))
    step = next(base * f for f in (1, 2, 2.5, 5, 10) if top / (base * f) <= 5)
    return [round(step * i, 12) for i in range(math.ceil(top / step - 1e-9) + 1)]


def _axis(
    left: float, top: float, bottom: float, scale: float, fmt: Format, ticks: list[float]
) -> list[str]:
    return [
        f'<line x1="{left + t * scale:.1f}" y1="{top}" x2="{left + t * scale:.1f}" '
        f'y2="{bottom}" stroke="#c9ced6"/><text x="{left + t * scale:.1f}" y="{bottom + 14}" '
        f'text-anchor="middle" {_FONT}>{escape(fmt(t))}</text>'
        for t in ticks
    ]


def bar_chart(
    chart_id: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[Series],
    fmt: Format,
    axis_fmt: Format | None = None,
    legend: bool = False,
) -> str:
    """Horizontal bars, one group per category, one bar per series (with a whisker when
    the bar has an interval); a missing value is written as a dash, with no bar. Values
    are written by ``fmt``, the axis by ``axis_fmt`` (``fmt`` by default); the legend shows
    with several series, or when asked (a chart among others of one series each)."""
    highs = [b.high if b.high is not None else b.value for s in series for b in s.bars]
    ticks = nice_ticks(max((v for v in highs if v is not None), default=0.0))
    left = _label_room(categories)
    scale = (WIDTH - left - _VALUE_ROOM) / ticks[-1]
    thick = _BAR if len(categories) * len(series) <= _MANY else _THIN
    group = len(series) * thick + _GAP
    legend = legend or len(series) > 1
    top = 28 if legend else 8
    bottom = top + group * len(categories)
    body = _legend(series, left) if legend else []
    body += _axis(left, top, bottom, scale, axis_fmt or fmt, ticks)
    for row, name in enumerate(categories):
        y = top + row * group
        body.append(_label(name, left, y + group / 2 + 2))
        for index, one in enumerate(series):
            colour = PALETTE[index % len(PALETTE)]
            body += _bar(one.bars[row], left, y + index * thick, thick, scale, colour, fmt)
    return _svg(chart_id, title, desc, bottom + 22, body)


def _bar(
    bar: Bar, left: float, y: float, thick: int, scale: float, colour: str, fmt: Format
) -> list[str]:
    baseline = y + thick / 2 + 4
    if bar.value is None:
        return [f'<text x="{left + 4:.0f}" y="{baseline:.0f}" {_FONT}>{NO_VALUE}</text>']
    width = max(bar.value * scale, 1.0)
    parts = [
        f'<rect x="{left:.0f}" y="{y + 1:.0f}" width="{width:.1f}" height="{thick - 2}" '
        f'fill="{colour}"/>'
    ]
    end = width
    if bar.low is not None and bar.high is not None:
        low, high, mid = left + bar.low * scale, left + bar.high * scale, y + thick / 2
        parts.append(
            f'<path d="M{low:.1f} {mid - 5}v10M{low:.1f} {mid}H{high:.1f}M{high:.1f} {mid - 5}v10" '
            f'stroke="{_INK}" stroke-width="1.5" fill="none"/>'
        )
        end = max(end, bar.high * scale)
    value = escape(fmt(bar.value))
    parts.append(f'<text x="{left + end + 4:.1f}" y="{baseline:.0f}" {_FONT}>{value}</text>')
    return parts


def funnel_chart(
    chart_id: str, title: str, desc: str, steps: Sequence[tuple[str, int, str]]
) -> str:
    """The funnel: one centred bar per step, as wide as the leads that reached it, with its
    text (``steps``: label, reached, text) inside a bar wide enough, else beside it."""
    widest = max((reached for _, reached, _ in steps), default=0) or 1
    left = _label_room([label for label, _, _ in steps])
    room, height = WIDTH - left - 10, 28
    body = []
    for row, (label, reached, text) in enumerate(steps):
        y, width = 4 + row * (height + 6), max(room * reached / widest, 2.0)
        x, middle = left + (room - width) / 2, left + room / 2
        body.append(_label(label, left, y + 18))
        body.append(
            f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{height}" fill="{PALETTE[0]}"/>'
        )
        if width > _CHAR * len(text) + 12:
            body.append(
                f'<text x="{middle:.1f}" y="{y + 18}" text-anchor="middle" font-size="12" '
                f'fill="#ffffff">{escape(text)}</text>'
            )
        else:
            body.append(f'<text x="{x + width + 6:.1f}" y="{y + 18}" {_FONT}>{escape(text)}</text>')
    return _svg(chart_id, title, desc, 8 + len(steps) * (height + 6), body)


def stacked_chart(
    chart_id: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[Series],
    fmt: Format,
) -> str:
    """One bar per category split into its parts (each series a part), as shares of the
    category's total; the share is written in a part wide enough to hold it."""
    left = _label_room(categories)
    room, top = WIDTH - left - 10, 28
    body = _legend(series, left)
    for row, name in enumerate(categories):
        y = top + row * (_BAR + _GAP)
        body.append(_label(name, left, y + 12))
        total = sum(s.bars[row].value or 0 for s in series)
        x = float(left)
        for index, one in enumerate(series):
            share = (one.bars[row].value or 0) / total if total else 0.0
            body += _part(x, y, share, room, PALETTE[index % len(PALETTE)], fmt)
            x += share * room
    return _svg(chart_id, title, desc, top + len(categories) * (_BAR + _GAP) + 4, body)


def _part(x: float, y: float, share: float, room: float, colour: str, fmt: Format) -> list[str]:
    width = share * room
    parts = [f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{_BAR}" fill="{colour}"/>']
    text = fmt(share)
    if width > _CHAR * len(text) + 8:
        parts.append(
            f'<text x="{x + width / 2:.1f}" y="{y + 12}" text-anchor="middle" '
            f'font-size="12" fill="#ffffff">{escape(text)}</text>'
        )
    return parts
