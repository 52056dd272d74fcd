"""Charts as plain SVG text, drawn on the server.

No JavaScript, no fonts or files from elsewhere, and nothing a strict
Content-Security-Policy refuses: colours and fonts are SVG presentation
attributes, never ``style``. Every chart carries a ``<title>`` and a ``<desc>``
(which lists the figures, for screen readers) and each bar its own ``<title>``
with the exact amount. All text is escaped. The same functions serve the public
pages (``inline=True``: inside HTML, without the namespace attribute) and the
annual report (WeasyPrint renders SVG).

Amounts are ``Decimal``; they become floats only as drawing coordinates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from html import escape

from core.i18n import gettext
from core.money import ZERO, format_cny

PALETTE = ("#b3261e", "#1c4f8a", "#1f7a3a", "#9a5b00", "#6a3d9a", "#00838f", "#5b6877",
           "#c2185b")
INK, MUTED, GRID = "#1d2733", "#5b6877", "#d9dee5"
FONT = ("'Noto Sans CJK SC', 'Source Han Sans SC', 'WenQuanYi Micro Hei', "
        "'Microsoft YaHei', 'PingFang SC', sans-serif")
TITLE_SIZE, LABEL_SIZE, TICK_SIZE = 15, 12, 11

Series = Sequence[tuple[str, Sequence[Decimal]]]


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _safe_id(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", value) or "chart"


def text_width(text: str, size: float) -> float:
    """Rough rendered width: CJK and full-width characters are square, others narrower."""
    return sum(size if ord(c) > 0x2E7F else size * 0.58 for c in text)


def _fit(text: str, size: float, room: float) -> str:
    """The text, shortened with an ellipsis to fit ``room`` pixels."""
    if text_width(text, size) <= room:
        return text
    while text and text_width(text + "…", size) > room:
        text = text[:-1]
    return text + "…"


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest of 1, 2, 2.5, 5 or 10 times a power of ten not below ``value``."""
    if value <= 0:
        return Decimal(1)
    power = Decimal(10) ** value.adjusted()
    for step in (1, 2, Decimal("2.5"), 5, 10):
        if power * step >= value:
            return power * step
    return power * 10  # pragma: no cover - the loop always returns


def tick_label(value: Decimal) -> str:
    return format(value.normalize(), ",f")


def describe(categories: Sequence[str], series: Series) -> str:
    """The chart's figures as one sentence per category, for ``<desc>``."""
    parts = []
    for index, category in enumerate(categories):
        values = "，".join(f"{name} {format_cny(values[index])}" for name, values in series)
        parts.append(f"{category}：{values}")
    return "；".join(parts) + ("。" if parts else "")


def _open(chart_id: str, width: float, height: float, title: str, desc: str,
          inline: bool) -> list[str]:
    # Inside an HTML page the parser puts <svg> in the SVG namespace itself.
    namespace = "" if inline else ' xmlns="http://www.w3.org/2000/svg"'
    return [
        f'<svg{namespace} class="chart" id="{chart_id}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" viewBox="0 0 {width:.0f} '
        f'{height:.0f}" width="{width:.0f}" height="{height:.0f}" font-family="{_e(FONT)}">',
        f'<title id="{chart_id}-title">{_e(title)}</title>',
        f'<desc id="{chart_id}-desc">{_e(desc)}</desc>',
        f'<rect x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
        f'<text x="12" y="22" font-size="{TITLE_SIZE}" font-weight="bold" fill="{INK}">'
        f"{_e(title)}</text>",
    ]


def _legend(names: Sequence[str], x: float, y: float, width: float) -> tuple[list[str], int]:
    """Swatches and names, wrapping to new rows; the parts and the height used."""
    parts: list[str] = []
    left, row = x, 0
    for index, name in enumerate(names):
        room = 18 + text_width(name, LABEL_SIZE) + 16
        if left > x and left + room > x + width:
            left, row = x, row + 1
        top = y + row * 20
        parts.append(f'<rect x="{left:.1f}" y="{top:.1f}" width="12" height="12" '
                     f'fill="{PALETTE[index % len(PALETTE)]}"/>')
        parts.append(f'<text x="{left + 17:.1f}" y="{top + 11:.1f}" font-size="{LABEL_SIZE}" '
                     f'fill="{INK}">{_e(name)}</text>')
        left += room
    return parts, (row + 1) * 20


def _empty(parts: list[str], width: float, y: float) -> str:
    parts.append(f'<text x="{width / 2:.1f}" y="{y:.1f}" font-size="{LABEL_SIZE}" '
                 f'fill="{MUTED}" text-anchor="middle">{_e(gettext("None yet."))}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def bar_chart(title: str, categories: Sequence[str], series: Series, *, desc: str = "",
              chart_id: str = "chart", width: int = 640, height: int = 320,
              inline: bool = False) -> str:
    """Vertical bars, grouped by category (such as years), one colour per series
    (such as sources of income). Negative values draw as empty bars; their exact
    figures are still in the titles and the description."""
    chart_id = _safe_id(chart_id)
    names = [name for name, _ in series]
    values = [v for _, vs in series for v in vs]
    empty = not categories or not series or max(values, default=ZERO) <= 0
    legend, legend_height = (_legend(names, 12, 34, width - 24)
                             if len(series) > 1 and not empty else ([], 0))
    top = 34 + legend_height + 8
    if empty:
        height = top + 40
    parts = _open(chart_id, width, height, title, desc or describe(categories, series), inline)
    parts += legend
    if empty:
        return _empty(parts, width, top + 20)
    ceiling = nice_ceiling(max(values))
    ticks = [ceiling * i / 5 for i in range(6)]
    left = 12 + max(text_width(tick_label(t), TICK_SIZE) for t in ticks) + 8
    bottom = height - 28
    plot_w, plot_h = width - left - 12, bottom - top

    def y_of(value: Decimal) -> float:
        return bottom - float(max(value, ZERO) / ceiling) * plot_h

    for tick in ticks:
        y = y_of(tick)
        parts.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{width - 12:.1f}" y2="{y:.1f}" '
                     f'stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{left - 6:.1f}" y="{y + 4:.1f}" font-size="{TICK_SIZE}" '
                     f'fill="{MUTED}" text-anchor="end">{_e(tick_label(tick))}</text>')
    group_w = plot_w / len(categories)
    bar_w = min(group_w * 0.8 / len(series), 48)
    for index, category in enumerate(categories):
        start = left + group_w * index + (group_w - bar_w * len(series)) / 2
        for number, (name, vs) in enumerate(series):
            value = vs[index]
            y = y_of(value)
            parts.append(
                f'<rect x="{start + bar_w * number:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                f'height="{bottom - y:.1f}" fill="{PALETTE[number % len(PALETTE)]}">'
                f"<title>{_e(category)} · {_e(name)}：{_e(format_cny(value))}</title></rect>")
        label = _fit(category, LABEL_SIZE, group_w - 4)
        parts.append(f'<text x="{left + group_w * (index + 0.5):.1f}" y="{bottom + 18:.1f}" '
                     f'font-size="{LABEL_SIZE}" fill="{INK}" text-anchor="middle">'
                     f"{_e(label)}</text>")
    parts.append(f'<line x1="{left:.1f}" y1="{bottom:.1f}" x2="{width - 12:.1f}" '
                 f'y2="{bottom:.1f}" stroke="{MUTED}" stroke-width="1"/>')
    parts.append("</svg>")
    return "\n".join(parts)


def hbar_chart(title: str, categories: Sequence[str], series: Series, *, desc: str = "",
               chart_id: str = "chart", width: int = 640, inline: bool = False) -> str:
    """Horizontal bars, one row per category (such as purposes or counties), one bar
    per series in each row, each labelled with its amount. The height follows the
    number of rows."""
    chart_id = _safe_id(chart_id)
    names = [name for name, _ in series]
    values = [v for _, vs in series for v in vs]
    empty = not categories or not series or max(values, default=ZERO) <= 0
    bar_h, gap = 16, 10
    legend_height = 0
    legend: list[str] = []
    if len(series) > 1 and not empty:
        legend, legend_height = _legend(names, 12, 34, width - 24)
    top = 34 + legend_height + 8
    row_h = bar_h * max(len(series), 1) + gap
    height = top + (40 if empty else row_h * len(categories) + 12)
    parts = _open(chart_id, width, height, title, desc or describe(categories, series), inline)
    parts += legend
    if empty:
        return _empty(parts, width, top + 20)
    ceiling = max(values)
    label_room = min(max(text_width(c, LABEL_SIZE) for c in categories), width * 0.3)
    left = 12 + label_room + 10
    longest = max(text_width(format_cny(v), TICK_SIZE) for v in values)
    plot_w = max(width - left - 12 - longest - 8, 40)
    for index, category in enumerate(categories):
        y0 = top + row_h * index
        parts.append(f'<text x="{left - 10:.1f}" y="{y0 + bar_h * len(series) / 2 + 4:.1f}" '
                     f'font-size="{LABEL_SIZE}" fill="{INK}" text-anchor="end">'
                     f"<title>{_e(category)}</title>{_e(_fit(category, LABEL_SIZE, label_room))}"
                     "</text>")
        for number, (name, vs) in enumerate(series):
            value = vs[index]
            w = float(max(value, ZERO) / ceiling) * plot_w
            y = y0 + bar_h * number
            parts.append(
                f'<rect x="{left:.1f}" y="{y:.1f}" width="{w:.1f}" height="{bar_h - 2}" '
                f'fill="{PALETTE[number % len(PALETTE)]}">'
                f"<title>{_e(category)} · {_e(name)}：{_e(format_cny(value))}</title></rect>")
            parts.append(f'<text x="{left + w + 6:.1f}" y="{y + bar_h - 5:.1f}" '
                         f'font-size="{TICK_SIZE}" fill="{MUTED}">{_e(format_cny(value))}</text>')
    parts.append(f'<line x1="{left:.1f}" y1="{top - 4:.1f}" x2="{left:.1f}" '
                 f'y2="{height - 12:.1f}" stroke="{MUTED}" stroke-width="1"/>')
    parts.append("</svg>")
    return "\n".join(parts)
