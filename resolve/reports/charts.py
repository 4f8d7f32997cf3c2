"""Charts as SVG drawn on the server: horizontal bars, plain or stacked, in GOV.UK colours.

Why our own few lines rather than a charting library: the pages must work without JavaScript (so
no client-side library), our content security policy allows no inline scripts, and the charts we
need are bars with labels, which an SVG string does in a hundred lines. Of the libraries already
installed none draws charts (matplotlib and pygal are not dependencies, and adding one for bars is
not worth its weight). Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>``
that says every value in words, and the page shows a table with the same figures beside it; the
SVG prints as drawn (no colour is the only carrier of meaning: each stacked part is labelled in the
legend and the table).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count
from xml.sax.saxutils import escape

# GOV.UK Design System colours (govuk-frontend's palette).
BLUE = "#1d70b8"
GREEN = "#00703c"
RED = "#d4351c"
ORANGE = "#f47738"
PURPLE = "#4c2c92"
DARK_GREY = "#505a5f"
MID_GREY = "#b1b4b6"
TEXT = "#0b0c0c"

_ids = count(1)
WIDTH = 900
LABEL_WIDTH = 330
BAR_HEIGHT = 22
GAP = 8
FONT = 'font-family="GDS Transport, arial, sans-serif" font-size="14"'


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    colour: str
    values: Sequence[int]


def _attr(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def _clip(label: str, limit: int = 44) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def stacked_bar_chart(*, title: str, labels: Sequence[str], series: Sequence[Series]) -> str:
    """One horizontal bar per label, made of one part per series; a legend names the series."""
    chart_id = f"chart-{next(_ids)}"
    totals = [sum(s.values[index] for s in series) for index in range(len(labels))]
    largest = max(totals, default=0) or 1
    plot = WIDTH - LABEL_WIDTH - 60
    legend_height = 28 if len(series) > 1 else 0
    height = legend_height + len(labels) * (BAR_HEIGHT + GAP) + GAP
    words = []
    for index, label in enumerate(labels):
        parts = ", ".join(f"{s.name} {s.values[index]}" for s in series) if len(series) > 1 else ""
        words.append(f"{label}: {totals[index]}" + (f" ({parts})" if parts else ""))
    description = "; ".join(words) if words else "No challenges to show."
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="app-chart" role="img" '
        f'viewBox="0 0 {WIDTH} {max(height, 40)}" width="100%" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    x: float = LABEL_WIDTH
    if legend_height:
        for s in series:
            out.append(f'<rect x="{x}" y="6" width="14" height="14" fill="{s.colour}"/>')
            out.append(f'<text x="{x + 18}" y="18" {FONT} fill="{TEXT}">{escape(s.name)}</text>')
            x += 26 + 8 * len(s.name)
    if not labels:
        out.append(f'<text x="0" y="24" {FONT} fill="{TEXT}">No challenges to show.</text>')
    for index, label in enumerate(labels):
        y: float = legend_height + GAP + index * (BAR_HEIGHT + GAP)
        out.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 16}" text-anchor="end" {FONT} fill="{TEXT}">'
            f"<title>{escape(label)}</title>{escape(_clip(label))}</text>"
        )
        x = LABEL_WIDTH
        for s in series:
            value = s.values[index]
            if value:
                width = plot * value / largest
                out.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}" fill="{s.colour}">'
                    f"<title>{_attr(f'{label}, {s.name}: {value}')}</title></rect>"
                )
                x += width
        out.append(f'<text x="{x + 6:.1f}" y="{y + 16}" {FONT} fill="{TEXT}">{totals[index]}</text>')
    out.append("</svg>")
    return "".join(out)


def bar_chart(
    *, title: str, labels: Sequence[str], values: Sequence[int], colour: str = BLUE, name: str = ""
) -> str:
    """One horizontal bar per label."""
    return stacked_bar_chart(title=title, labels=labels, series=[Series(name or title, colour, values)])
