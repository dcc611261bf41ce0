"""Charts as inline SVG, drawn in Python: no JavaScript, no fonts or files from anywhere.

Every function returns `Markup` ready to drop into a template. Every piece of text that reaches
the SVG (labels, names from the registry, numbers) goes through `_t`, which escapes it, so a name
such as `<script>` is shown, never run. Charts scale with the page (viewBox, width 100%) and carry
a `<title>` and `aria-label` for screen readers; the pages put the numbers in tables beside them.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup

WIDTH = 760
PALETTE = {
    "value": "#2f7d4f",
    "cost": "#b3412f",
    "net": "#1f5a8a",
    "actual": "#1f5a8a",
    "baseline": "#7a7a7a",
    "counterfactual": "#d08a1e",
    "target": "#6b4fa3",
    "band": "#1f5a8a",
    "muted": "#c9ced6",
    "grid": "#e6e8ec",
    "axis": "#5b6270",
}
FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif"


def _t(value: object) -> str:
    """Text for an SVG element or attribute, escaped."""
    return html.escape(str(value), quote=True)


def _n(x: float) -> str:
    """A coordinate, short."""
    return f"{x:.1f}".rstrip("0").rstrip(".") if math.isfinite(x) else "0"


def _finite(v: float | None) -> bool:
    return v is not None and isinstance(v, int | float) and math.isfinite(v)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (the usual 1-2-5 steps)."""
    if not (_finite(low) and _finite(high)):
        return [0.0, 1.0]
    if high < low:
        low, high = high, low
    if high == low:
        pad = abs(high) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = [round(first, 12)]
    while ticks[-1] < high - step * 1e-9:
        ticks.append(round(first + len(ticks) * step, 12))
    return ticks


def _svg(
    height: int, title: str, body: list[str], css_class: str = "chart", width: int = WIDTH
) -> Markup:
    return Markup(
        f'<svg class="{_t(css_class)}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{_t(title)}" preserveAspectRatio="xMidYMid meet" '
        f'xmlns="http://www.w3.org/2000/svg" style="{FONT}">'
        f"<title>{_t(title)}</title>" + "".join(body) + "</svg>"
    )


def empty_chart(title: str, message: str, height: int = 120, width: int = WIDTH) -> Markup:
    """A placeholder of the same size class, saying why there is no chart."""
    return _svg(
        height,
        title,
        [
            f'<rect x="1" y="1" width="{width - 2}" height="{height - 2}" rx="6" '
            f'fill="#f6f7f9" stroke="{PALETTE["grid"]}"/>',
            f'<text x="{width / 2}" y="{height / 2 + 5}" text-anchor="middle" font-size="14" '
            f'fill="{PALETTE["axis"]}">{_t(message)}</text>',
        ],
        css_class="chart chart-empty",
        width=width,
    )


# --- x/y charts: lines, points and bands ------------------------------------------------------


@dataclass
class Line:
    label: str
    points: Sequence[tuple[float, float | None]]  # (x, y); y None leaves a gap
    colour: str
    dashed: bool = False
    markers: bool = False
    width: float = 2.0


@dataclass
class Band:
    label: str
    points: Sequence[tuple[float, float | None, float | None]]  # (x, low, high)
    colour: str
    opacity: float = 0.18


@dataclass
class XYChart:
    title: str
    lines: list[Line] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    x_ticks: Sequence[tuple[float, str]] = ()  # positions and their labels
    y_format: Callable[[float], str] = lambda v: f"{v:,.4g}"
    y_label: str = ""
    vlines: Sequence[tuple[float, str]] = ()  # dashed vertical markers (e.g. go-live)
    zero_line: bool = False
    height: int = 300
    width: int = WIDTH


def _segments(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if _finite(y):
            runs[-1].append((x, y))
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def xy_chart(chart: XYChart) -> Markup:
    """Lines (with gaps for missing values), shaded intervals, a legend, axes and grid."""
    xs = [x for line in chart.lines for x, y in line.points if _finite(y)]
    xs += [x for band in chart.bands for x, lo, hi in band.points if _finite(lo) and _finite(hi)]
    ys = [y for line in chart.lines for _, y in line.points if _finite(y)]
    ys += [v for band in chart.bands for _, lo, hi in band.points for v in (lo, hi) if _finite(v)]
    if not xs or not ys:
        return empty_chart(chart.title, "no data to draw yet", width=chart.width)
    if chart.zero_line:
        ys.append(0.0)
    height, width = chart.height, chart.width
    legend, legend_h = _legend(
        [(ln.label, ln.colour, ln.dashed) for ln in chart.lines], chart.bands, width
    )
    left, right, top, bottom = 78, 28, legend_h + 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    x_lo, x_hi = min(xs), max(xs)
    if chart.x_ticks:
        x_lo = min(x_lo, min(p for p, _ in chart.x_ticks))
        x_hi = max(x_hi, max(p for p, _ in chart.x_ticks))
    if x_hi == x_lo:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    ticks = nice_ticks(min(ys), max(ys))
    y_lo, y_hi = ticks[0], ticks[-1]

    def sx(x: float) -> float:
        return left + (x - x_lo) / (x_hi - x_lo) * plot_w

    def sy(y: float) -> float:
        return top + (y_hi - y) / (y_hi - y_lo) * plot_h

    body: list[str] = []
    for tick in ticks:
        y = sy(tick)
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_n(y)}" y2="{_n(y)}" '
            f'stroke="{PALETTE["grid"]}"/>'
            f'<text x="{left - 8}" y="{_n(y + 4)}" text-anchor="end" font-size="12" '
            f'fill="{PALETTE["axis"]}">{_t(chart.y_format(tick))}</text>'
        )
    if chart.zero_line and y_lo < 0 < y_hi:
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_n(sy(0))}" y2="{_n(sy(0))}" '
            f'stroke="{PALETTE["axis"]}" stroke-width="1.2"/>'
        )
    for pos, label in chart.x_ticks:
        x = sx(pos)
        body.append(
            f'<line x1="{_n(x)}" x2="{_n(x)}" y1="{height - bottom}" y2="{height - bottom + 5}" '
            f'stroke="{PALETTE["axis"]}"/>'
            f'<text x="{_n(x)}" y="{height - bottom + 19}" text-anchor="middle" font-size="12" '
            f'fill="{PALETTE["axis"]}">{_t(label)}</text>'
        )
    body.append(
        f'<line x1="{left}" x2="{width - right}" y1="{height - bottom}" y2="{height - bottom}" '
        f'stroke="{PALETTE["axis"]}"/>'
    )
    if chart.y_label:
        body.append(
            f'<text x="14" y="{top + plot_h / 2}" font-size="12" fill="{PALETTE["axis"]}" '
            f'text-anchor="middle" transform="rotate(-90 14 {top + plot_h / 2})">'
            f"{_t(chart.y_label)}</text>"
        )
    for band in chart.bands:
        for run in _band_runs(band.points):
            upper = " ".join(f"{_n(sx(x))},{_n(sy(hi))}" for x, _, hi in run)
            lower = " ".join(f"{_n(sx(x))},{_n(sy(lo))}" for x, lo, _ in reversed(run))
            if len(run) == 1:  # a single month: a short bar instead of an area
                x, lo, hi = run[0]
                body.append(
                    f'<rect class="band" x="{_n(sx(x) - 4)}" y="{_n(sy(hi))}" width="8" '
                    f'height="{_n(max(sy(lo) - sy(hi), 1))}" fill="{band.colour}" '
                    f'fill-opacity="{band.opacity}"/>'
                )
            else:
                body.append(
                    f'<polygon class="band" points="{upper} {lower}" fill="{band.colour}" '
                    f'fill-opacity="{band.opacity}"/>'
                )
    for pos, label in chart.vlines:
        x = sx(pos)
        body.append(
            f'<line x1="{_n(x)}" x2="{_n(x)}" y1="{top}" y2="{height - bottom}" '
            f'stroke="{PALETTE["axis"]}" stroke-dasharray="3 3"/>'
            f'<text x="{_n(x + 4)}" y="{top + 12}" font-size="11" fill="{PALETTE["axis"]}">'
            f"{_t(label)}</text>"
        )
    for line in chart.lines:
        dash = ' stroke-dasharray="6 4"' if line.dashed else ""
        for run in _segments(line.points):
            coords = " ".join(f"{_n(sx(x))},{_n(sy(y))}" for x, y in run)
            if len(run) == 1:
                x, y = run[0]
                body.append(
                    f'<circle cx="{_n(sx(x))}" cy="{_n(sy(y))}" r="3" fill="{line.colour}"/>'
                )
            else:
                body.append(
                    f'<polyline class="series" points="{coords}" fill="none" '
                    f'stroke="{line.colour}" stroke-width="{line.width}"{dash} '
                    'stroke-linejoin="round"/>'
                )
            if line.markers:
                body += [
                    f'<circle cx="{_n(sx(x))}" cy="{_n(sy(y))}" r="3" fill="{line.colour}"/>'
                    for x, y in run
                ]
    body.append(legend)
    return _svg(height, chart.title, body, width=width)


def _band_runs(points):
    runs: list[list[tuple[float, float, float]]] = [[]]
    for x, lo, hi in points:
        if _finite(lo) and _finite(hi):
            runs[-1].append((x, lo, hi))
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def _legend(
    items: list[tuple[str, str, bool]], bands: Sequence[Band], width: int, left: int = 78
) -> tuple[str, int]:
    """Legend entries left to right, wrapping; returns the markup and the height it takes."""
    parts, x, y = [], left, 14
    entries = [("line", label, colour, dashed, 0.0) for label, colour, dashed in items]
    entries += [("band", b.label, b.colour, False, b.opacity) for b in bands]
    for kind, label, colour, dashed, opacity in entries:
        size = 40 + 7 * len(label)
        if x > left and x + size > width - 8:
            x, y = left, y + 18
        if kind == "line":
            dash = ' stroke-dasharray="6 4"' if dashed else ""
            parts.append(
                f'<line x1="{x}" x2="{x + 22}" y1="{y}" y2="{y}" stroke="{colour}" '
                f'stroke-width="2.5"{dash}/>'
            )
        else:
            parts.append(
                f'<rect x="{x}" y="{y - 6}" width="22" height="12" fill="{colour}" '
                f'fill-opacity="{opacity + 0.1}"/>'
            )
        parts.append(
            f'<text x="{x + 27}" y="{y + 4}" font-size="12" fill="#222">{_t(label)}</text>'
        )
        x += size
    return '<g class="legend">' + "".join(parts) + "</g>", y + 10


# --- bars --------------------------------------------------------------------------------------


@dataclass
class BarRow:
    label: str
    values: Sequence[float | None]  # one per series
    note: str = ""  # shown right of the bars
    href: str | None = None


def bar_chart(
    title: str,
    rows: Sequence[BarRow],
    series: Sequence[tuple[str, str]],  # (label, colour) per value
    fmt: Callable[[float], str],
    reference: tuple[float, str] | None = None,  # a vertical line, e.g. the target (1.0)
    label_width: int = 230,
    width: int = WIDTH,
) -> Markup:
    """Horizontal grouped bars, one group per row; negative values extend left of zero."""
    values = [v for r in rows for v in r.values if _finite(v)]
    if not rows or not values:
        return empty_chart(title, "nothing to compare yet", width=width)
    bar_h, gap = 14, 12
    group_h = bar_h * len(series) + gap
    top, bottom, right = 30, 30, 150
    height = top + group_h * len(rows) + bottom
    if reference is not None:
        values.append(reference[0])
    ticks = nice_ticks(min(0.0, min(values)), max(0.0, max(values)), 4)
    lo, hi = ticks[0], ticks[-1]
    plot_w = width - label_width - right

    def sx(v: float) -> float:
        return label_width + (v - lo) / (hi - lo) * plot_w

    body = []
    for tick in ticks:
        x = sx(tick)
        body.append(
            f'<line x1="{_n(x)}" x2="{_n(x)}" y1="{top - 4}" y2="{height - bottom}" '
            f'stroke="{PALETTE["grid"]}"/>'
            f'<text x="{_n(x)}" y="{height - bottom + 16}" text-anchor="middle" font-size="11" '
            f'fill="{PALETTE["axis"]}">{_t(fmt(tick))}</text>'
        )
    zero = sx(0.0)
    for i, row in enumerate(rows):
        y0 = top + i * group_h
        label = row.label if len(row.label) <= 34 else row.label[:33] + "…"
        text = (
            f'<text x="{label_width - 8}" y="{_n(y0 + group_h / 2)}" text-anchor="end" '
            f'font-size="12" fill="#222">{_t(label)}</text>'
        )
        if row.href:
            text = f'<a href="{_t(row.href)}">{text}</a>'
        body.append(text)
        for j, (value, (_, colour)) in enumerate(zip(row.values, series, strict=True)):
            if not _finite(value):
                continue
            y = y0 + j * bar_h
            x1, x2 = sorted((zero, sx(value)))
            body.append(
                f'<rect class="bar" x="{_n(x1)}" y="{_n(y)}" width="{_n(max(x2 - x1, 1))}" '
                f'height="{bar_h - 2}" fill="{colour}"><title>{_t(fmt(value))}</title></rect>'
            )
        if row.note:
            body.append(
                f'<text x="{width - right + 8}" y="{_n(y0 + group_h / 2)}" font-size="11" '
                f'fill="{PALETTE["axis"]}">{_t(row.note)}</text>'
            )
    body.append(
        f'<line x1="{_n(zero)}" x2="{_n(zero)}" y1="{top - 4}" y2="{height - bottom}" '
        f'stroke="{PALETTE["axis"]}"/>'
    )
    if reference is not None:
        x = sx(reference[0])
        body.append(
            f'<line x1="{_n(x)}" x2="{_n(x)}" y1="{top - 8}" y2="{height - bottom}" '
            f'stroke="{PALETTE["target"]}" stroke-width="2" stroke-dasharray="5 3"/>'
            f'<text x="{_n(x + 4)}" y="{top - 10}" font-size="11" fill="{PALETTE["target"]}">'
            f"{_t(reference[1])}</text>"
        )
    legend = "".join(
        f'<rect x="{label_width + k * 150}" y="6" width="12" height="12" fill="{colour}"/>'
        f'<text x="{label_width + k * 150 + 17}" y="16" font-size="12" fill="#222">'
        f"{_t(name)}</text>"
        for k, (name, colour) in enumerate(series)
    )
    body.append(f'<g class="legend">{legend}</g>')
    return _svg(height, title, body, width=width)


def waterfall(
    title: str,
    steps: Sequence[tuple[str, float, str]],  # (label, amount, kind: value | cost | total)
    fmt: Callable[[float], str],
    width: int = WIDTH,
) -> Markup:
    """Value by KPI, less costs, ending in net value: each bar starts where the last ended."""
    if not steps:
        return empty_chart(title, "no value or cost booked yet", width=width)
    running, bars = 0.0, []
    for label, amount, kind in steps:
        amount = amount if _finite(amount) else 0.0
        if kind == "total":
            start, end = 0.0, amount
            running = amount
        else:
            delta = -abs(amount) if kind == "cost" else amount
            start, end = running, running + delta
            running = end
        bars.append((label, start, end, kind, amount))
    levels = [0.0] + [v for _, s, e, _, _ in bars for v in (s, e)]
    ticks = nice_ticks(min(levels), max(levels), 5)
    lo, hi = ticks[0], ticks[-1]
    left, right, top, bottom = 78, 16, 24, 64
    height = 320
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / len(bars)

    def sy(v: float) -> float:
        return top + (hi - v) / (hi - lo) * plot_h

    body = []
    for tick in ticks:
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_n(sy(tick))}" y2="{_n(sy(tick))}" '
            f'stroke="{PALETTE["grid"]}"/>'
            f'<text x="{left - 8}" y="{_n(sy(tick) + 4)}" text-anchor="end" font-size="12" '
            f'fill="{PALETTE["axis"]}">{_t(fmt(tick))}</text>'
        )
    for i, (label, start, end, kind, amount) in enumerate(bars):
        colour = {
            "value": PALETTE["value"] if end >= start else PALETTE["cost"],
            "cost": PALETTE["cost"],
            "total": PALETTE["net"],
        }[kind]
        x = left + i * slot + slot * 0.15
        w = slot * 0.7
        y1, y2 = sorted((sy(start), sy(end)))
        shown = fmt(-abs(amount)) if kind == "cost" else fmt(amount)
        body.append(
            f'<rect class="bar" x="{_n(x)}" y="{_n(y1)}" width="{_n(w)}" '
            f'height="{_n(max(y2 - y1, 1))}" fill="{colour}"><title>{_t(label)}: '
            f"{_t(shown)}</title></rect>"
            f'<text x="{_n(x + w / 2)}" y="{_n(y1 - 5)}" text-anchor="middle" font-size="11" '
            f'fill="#222">{_t(shown)}</text>'
        )
        if i < len(bars) - 1 and bars[i + 1][3] != "total":
            body.append(
                f'<line x1="{_n(x + w)}" x2="{_n(x + slot)}" y1="{_n(sy(end))}" '
                f'y2="{_n(sy(end))}" stroke="{PALETTE["axis"]}" stroke-dasharray="2 2"/>'
            )
        short = label if len(label) <= 22 else label[:21] + "…"
        body.append(
            f'<text x="{_n(x + w / 2)}" y="{height - bottom + 16}" text-anchor="middle" '
            f'font-size="11" fill="#222">{_t(short)}</text>'
        )
    body.append(
        f'<line x1="{left}" x2="{width - right}" y1="{_n(sy(0))}" y2="{_n(sy(0))}" '
        f'stroke="{PALETTE["axis"]}"/>'
    )
    return _svg(height, title, body, width=width)


def share_bar(
    title: str,
    parts: Sequence[tuple[str, float, str]],  # (label, amount, colour), amounts >= 0
    fmt: Callable[[float], str],
    width: int = WIDTH,
) -> Markup:
    """One stacked bar of a whole (spend), with a legend line per part below it."""
    total = sum(a for _, a, _ in parts if _finite(a) and a > 0)
    if total <= 0:
        return empty_chart(title, "no spend recorded yet", height=90, width=width)
    left = 4
    bar_w = width - 2 * left
    height = 54 + 22 * len(parts)
    body, x = [], float(left)
    for label, amount, colour in parts:
        if not _finite(amount) or amount <= 0:
            continue
        w = amount / total * bar_w
        body.append(
            f'<rect class="bar" x="{_n(x)}" y="6" width="{_n(max(w, 1))}" height="32" '
            f'fill="{colour}"><title>{_t(label)}: {_t(fmt(amount))}</title></rect>'
        )
        x += w
    for k, (label, amount, colour) in enumerate(parts):
        amount = amount if _finite(amount) and amount > 0 else 0.0
        y = 62 + 22 * k
        body.append(
            f'<rect x="{left}" y="{y - 11}" width="13" height="13" fill="{colour}"/>'
            f'<text x="{left + 20}" y="{y}" font-size="14" fill="#222">{_t(label)}</text>'
            f'<text x="{width - left}" y="{y}" font-size="14" fill="#222" text-anchor="end">'
            f"{_t(fmt(amount))} · {amount / total:.0%}</text>"
        )
    return _svg(height, title, body, width=width)


def pipeline(
    title: str,
    stages: Sequence[tuple[str, int, float]],  # (stage, initiatives, spend)
    fmt: Callable[[float], str],
    width: int = WIDTH,
) -> Markup:
    """The stage pipeline as chevrons: how many initiatives sit in each stage and their spend."""
    if not stages:
        return empty_chart(title, "no initiatives in the registry", width=width)
    height, gap = 108, 6
    n = len(stages)
    w = (width - 16 - gap * (n - 1)) / n
    tip = 14
    most = max((c for _, c, _ in stages), default=0) or 1
    body = []
    for i, (stage, count, spend) in enumerate(stages):
        x = 8 + i * (w + gap)
        killed = stage == "killed"
        strength = 0.25 + 0.75 * (count / most)
        colour = PALETTE["muted"] if killed else PALETTE["net"]
        points = (
            f"{_n(x)},10 {_n(x + w - tip)},10 {_n(x + w)},40 {_n(x + w - tip)},70 {_n(x)},70 "
            + (f"{_n(x + tip)},40" if i else f"{_n(x)},40")
        )
        text_colour = "#fff" if strength > 0.55 and not killed else "#111"
        body.append(
            f'<polygon class="stage" points="{points}" fill="{colour}" '
            f'fill-opacity="{_n(strength) if not killed else 1}"/>'
            f'<text x="{_n(x + w / 2 + (tip / 2 if i else 0))}" y="36" text-anchor="middle" '
            f'font-size="13" font-weight="600" fill="{text_colour}">{_t(stage)}</text>'
            f'<text x="{_n(x + w / 2 + (tip / 2 if i else 0))}" y="55" text-anchor="middle" '
            f'font-size="12" fill="{text_colour}">{count} initiative{"s" if count != 1 else ""}'
            "</text>"
            f'<text x="{_n(x + w / 2)}" y="92" text-anchor="middle" font-size="12" '
            f'fill="{PALETTE["axis"]}">{_t(fmt(spend))} spent</text>'
        )
    return _svg(height, title, body, width=width)
