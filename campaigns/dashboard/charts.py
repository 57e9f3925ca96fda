"""Charts as inline SVG, drawn on the server.

No script and no style attribute (the CSP allows neither), nothing fetched from elsewhere. Each
chart is an image with an accessible name (<title>) and a summary (<desc>); every bar and tile
carries its value as text, so nothing depends on telling colours apart, and the page shows the
same numbers in a table next to each chart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask_babel import format_decimal
from flask_babel import gettext as _
from markupsafe import Markup, escape

INK = "#1d1d1b"
MUTED = "#4a4a48"
GRID = "#d6d2c8"
BAR = "#5b2480"
BAR_DONE = "#1f6f3d"
WIDTH = 720
MAX_COLUMN_WIDTH = 40


def nice_step(value: float) -> int:
    """The smallest round number (1, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten; a whole
    number) that is at least `value`: steps for axes and the map's legend."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 3, 4, 5, 6, 8, 10):
        step = factor * power
        if step >= value and float(step).is_integer():
            return int(step)
    return int(10 * power)


def _number(n: float) -> str:
    return format_decimal(n)


def _svg(chart_id: str, title: str, desc: str, height: float, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{chart_id}" role="img" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'font-family="system-ui, sans-serif">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 - every text is escaped above


def column_chart(
    chart_id: str,
    title: str,
    desc: str,
    points: Sequence[tuple[str, str, int]],
    label_every: int,
    axes: tuple[str, str],
) -> Markup:
    """Vertical bars over time, under a visible title, with the axes named (`axes`: x, y).
    `points` are (axis label, full label, value); every `label_every`-th axis label is written
    under its bar (a second line after "\n", for the date where a day begins), the full label
    shows on hover. A bar is never wider than a few days' worth, so one day is not a wall."""
    left, right, top, bottom, height = 76, 10, 40, 68, 280
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    peak = max((v for _l, _f, v in points), default=0)
    step = nice_step(peak / 4) if peak else 1
    ceiling = step * max(1, math.ceil(peak / step))
    x_axis, y_axis = axes
    body = [
        f'<text x="0" y="18" font-size="16" font-weight="700" fill="{INK}">{escape(title)}</text>',
        f'<text transform="translate(14 {top + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle" '
        f'font-size="12" fill="{MUTED}">{escape(y_axis)}</text>',
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" font-size="12" '
        f'fill="{MUTED}">{escape(x_axis)}</text>',
    ]
    for tick in range(0, ceiling + 1, step):
        y = top + plot_h - plot_h * tick / ceiling
        body.append(
            f'<line x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="{MUTED}">{escape(_number(tick))}</text>'
        )
    slot = plot_w / max(len(points), 1)
    bar_w = min(max(slot * 0.8, 1), MAX_COLUMN_WIDTH)
    for i, (axis_label, full_label, value) in enumerate(points):
        x = left + i * slot + (slot - bar_w) / 2
        h = plot_h * value / ceiling
        hover = escape(f"{full_label}: {_number(value)}")
        body.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}" fill="{BAR}"><title>{hover}</title></rect>'
        )
        if i % label_every == 0:
            lines = "".join(
                f'<tspan x="{x + bar_w / 2:.1f}" dy="{0 if n == 0 else 14}">{escape(line)}</tspan>'
                for n, line in enumerate(axis_label.split("\n"))
            )
            body.append(
                f'<text y="{top + plot_h + 16}" text-anchor="middle" font-size="12" '
                f'fill="{INK}">{lines}</text>'
            )
    body.append(
        f'<line x1="{left}" x2="{WIDTH - right}" y1="{top + plot_h}" y2="{top + plot_h}" '
        f'stroke="{INK}"/>'
    )
    return _svg(chart_id, title, desc, height, body)


@dataclass
class Bar:
    label: str
    value: float  # the bar's length, between 0 and `scale`
    text: str  # what is written after the bar (the figure, and a word where colour says more)
    done: bool = False  # drawn in the "reached" colour (and the text says so too)


def bar_list(
    chart_id: str,
    title: str,
    desc: str,
    bars: Sequence[Bar],
    scale: float | None = None,
    reference: tuple[float, str] | None = None,
) -> Markup:
    """Horizontal bars, one labelled row each. `reference` draws a marked line at a value."""
    label_w, value_w, row_h, top = 270, 130, 28, 8
    bar_area = WIDTH - label_w - value_w
    scale = scale or max((b.value for b in bars), default=0) or 1
    height = top + row_h * len(bars) + (24 if reference else 8)
    body = []
    for i, bar in enumerate(bars):
        y = top + i * row_h
        length = bar_area * min(bar.value, scale) / scale
        label = bar.label if len(bar.label) <= 32 else bar.label[:31] + "…"
        body.append(
            f'<text x="{label_w - 8}" y="{y + 18}" text-anchor="end" font-size="13" '
            f'fill="{INK}">{escape(label)}<title>{escape(bar.label)}</title></text>'
            f'<rect x="{label_w}" y="{y + 5}" width="{max(length, 1):.1f}" height="{row_h - 10}" '
            f'fill="{BAR_DONE if bar.done else BAR}"/>'
            f'<text x="{label_w + length + 6:.1f}" y="{y + 18}" font-size="13" '
            f'fill="{INK}">{escape(bar.text)}</text>'
        )
    if reference:
        value, text = reference
        x = label_w + bar_area * min(value, scale) / scale
        bottom = top + row_h * len(bars)
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}" stroke="{INK}" '
            f'stroke-width="2" stroke-dasharray="5 3"/>'
            f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" font-size="12" '
            f'fill="{INK}">{escape(text)}</text>'
        )
    return _svg(chart_id, title, desc, height, body)


# -- The map ---------------------------------------------------------------------------------

# A tile-grid map: one square per country in its approximate place (column, row). Equal squares
# keep small countries as readable as large ones, and need no map data.
TILES = {
    "NO": (3, 0), "SE": (4, 0), "FI": (5, 0),
    "EE": (5, 1),
    "IE": (0, 2), "DK": (3, 2), "LV": (5, 2),
    "NL": (2, 3), "DE": (3, 3), "PL": (4, 3), "LT": (5, 3),
    "BE": (2, 4), "LU": (3, 4), "CZ": (4, 4), "SK": (5, 4),
    "FR": (2, 5), "AT": (4, 5), "HU": (5, 5), "RO": (6, 5),
    "PT": (0, 6), "ES": (1, 6), "IT": (3, 6), "SI": (4, 6), "HR": (5, 6), "BG": (6, 6),
    "MT": (3, 7), "GR": (6, 7), "CY": (7, 7),
}  # fmt: skip

# Light to dark; the text on each step has at least 4.5:1 contrast.
STEP_FILLS = ("#f6f3f8", "#e3d6ee", "#b996d6", "#6f3a99", "#3f1759")
STEP_TEXT = (INK, INK, INK, "#ffffff", "#ffffff")


@dataclass
class Step:
    low: int
    high: int
    fill: str
    text: str


def map_steps(peak: int) -> list[Step]:
    """Colour steps: "none", then four equal ranges of round numbers up to `peak`."""
    steps = [Step(0, 0, STEP_FILLS[0], STEP_TEXT[0])]
    if peak <= 0:
        return steps
    size = nice_step(peak / 4)
    for i in range(4):
        low, high = i * size + 1, (i + 1) * size
        steps.append(Step(low, high, STEP_FILLS[i + 1], STEP_TEXT[i + 1]))
        if high >= peak:
            break
    return steps


def _step_of(steps: list[Step], value: int) -> Step:
    return next((s for s in steps if s.low <= value <= s.high), steps[-1])


def tile_map(
    chart_id: str,
    title: str,
    desc: str,
    counts: dict[str, int],
    country_name: Callable[[str], str],
) -> Markup:
    """Europe as tiles, each with its country code and figure, coloured by step, with a legend."""
    tile, gap, top = 76, 6, 4
    left = (WIDTH - 8 * (tile + gap)) / 2
    steps = map_steps(max((counts.get(cc, 0) for cc in TILES), default=0))
    body = []
    for code, (col, row) in TILES.items():
        value = counts.get(code, 0)
        step = _step_of(steps, value)
        x, y = left + col * (tile + gap), top + row * (tile + gap)
        # Empty countries get a dashed outline as well as the lightest fill: not colour alone.
        outline = ' stroke-dasharray="4 3"' if value == 0 else ""
        body.append(
            f"<g><title>{escape(country_name(code))}: {escape(_number(value))}</title>"
            f'<rect x="{x:.1f}" y="{y}" width="{tile}" height="{tile}" rx="4" '
            f'fill="{step.fill}" stroke="{INK}"{outline}/>'
            f'<text x="{x + tile / 2:.1f}" y="{y + 30}" text-anchor="middle" font-size="17" '
            f'font-weight="700" fill="{step.text}">{code}</text>'
            f'<text x="{x + tile / 2:.1f}" y="{y + 54}" text-anchor="middle" font-size="14" '
            f'fill="{step.text}">{escape(_number(value))}</text></g>'
        )
    legend_y = top + 8 * (tile + gap) + 10
    body.append(
        f'<text x="{left:.1f}" y="{legend_y + 14}" font-size="14" font-weight="700" '
        f'fill="{INK}">{escape(_("Confirmed signatures"))}</text>'
    )
    for i, step in enumerate(steps):
        x = left + i * 135
        y = legend_y + 26
        outline = ' stroke-dasharray="4 3"' if step.high == 0 else ""
        if step.high == 0:
            text = _("none")
        elif step.low == step.high:
            text = _number(step.low)
        else:
            text = f"{_number(step.low)}–{_number(step.high)}"
        body.append(
            f'<rect x="{x:.1f}" y="{y}" width="22" height="22" fill="{step.fill}" '
            f'stroke="{INK}"{outline}/>'
            f'<text x="{x + 28:.1f}" y="{y + 16}" font-size="13" fill="{INK}">{escape(text)}</text>'
        )
    return _svg(chart_id, title, desc, legend_y + 60, body)
