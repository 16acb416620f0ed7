"""Charts drawn on the server as inline SVG: no script, no library, works on a closed network."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from markupsafe import Markup, escape

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
STATE_COLOURS = {
    "intake": "#7a7a7a",
    "refurbishing": "#E69F00",
    "repair": "#D55E00",
    "ready": "#009E73",
    "on_loan": "#0072B2",
    "returned": "#56B4E9",
    "retired": "#3d3d3d",
}

_ROW = 26
_LABEL_W = 150
_W = 640


def state_bars(
    counts: dict[str, int], t: Callable[[str], str], num: Callable[[int], str]
) -> Markup:
    """One horizontal bar per lifecycle state, labelled with its count."""
    biggest = max(counts.values(), default=0) or 1
    height = _ROW * len(counts) + 8
    span = _W - _LABEL_W - 70
    parts = [_svg_open(height, t("devices_by_state"))]
    for i, (state, n) in enumerate(counts.items()):
        y = 4 + i * _ROW
        w = round(span * n / biggest, 1)
        label = escape(t("st_" + state))
        parts.append(
            f'<text x="{_LABEL_W - 8}" y="{y + 17}" text-anchor="end">{label}</text>'
            f'<rect x="{_LABEL_W}" y="{y + 3}" width="{w}" height="{_ROW - 8}" '
            f'fill="{STATE_COLOURS.get(state, "#777")}"><title>{label}: {n}</title></rect>'
            f'<text x="{_LABEL_W + w + 6}" y="{y + 17}">{escape(num(n))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_bars(
    groups: Sequence[tuple[str, dict[str, int]]],
    t: Callable[[str], str],
    num: Callable[[int], str],
) -> Markup:
    """One bar per place, split by state, with a legend."""
    biggest = max((sum(g.values()) for _, g in groups), default=0) or 1
    span = _W - _LABEL_W - 70
    legend_h = 24
    height = legend_h + _ROW * len(groups) + 8
    parts = [_svg_open(height, t("devices_by_location"))]
    x = 0.0
    for state, colour in STATE_COLOURS.items():
        parts.append(
            f'<rect x="{x}" y="4" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16}" y="15" class="small">{escape(t("st_" + state))}</text>'
        )
        x += 16 + 7.2 * len(t("st_" + state)) + 12
    for i, (label, states) in enumerate(groups):
        y = legend_h + 4 + i * _ROW
        shown = t("hub") if label == "hub" else label
        parts.append(
            f'<text x="{_LABEL_W - 8}" y="{y + 17}" text-anchor="end">{escape(shown)}</text>'
        )
        x = float(_LABEL_W)
        for state, colour in STATE_COLOURS.items():
            n = states.get(state, 0)
            if not n:
                continue
            w = span * n / biggest
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{_ROW - 8}" '
                f'fill="{colour}">'
                f"<title>{escape(shown)} · {escape(t('st_' + state))}: {n}</title></rect>"
            )
            x += w
        parts.append(
            f'<text x="{x + 6:.1f}" y="{y + 17}">{escape(num(sum(states.values())))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def progress_bar(pct: float, label: str) -> Markup:
    """A plain progress bar (the figures sit beside it as text)."""
    w = max(0.0, min(100.0, pct))
    return Markup(
        f'<svg class="progress" viewBox="0 0 100 6" preserveAspectRatio="none" role="img" '
        f'aria-label="{escape(label)}"><rect width="100" height="6" class="track"/>'
        f'<rect width="{w:.1f}" height="6" class="fill"/></svg>'
    )


def health_plots(
    series: dict[str, list[tuple[float, float]]],
    t: Callable[[str], str],
    fmt_date: Callable[[datetime], str],
    fmt_time: Callable[[datetime], str],
) -> Markup:
    """A captioned plot per figure in `series` (its text key -> points), in its order; "no
    data" for a figure without points."""
    no_data = escape(t("no_data"))
    out = []
    for key, points in series.items():
        title = t(key)
        body = (
            line_chart(
                points,
                title,
                fmt_date,
                fmt_time,
                y_min=0,
                y_max=None if key == "temperature" else 100,
            )
            if points
            else Markup(f'<p class="muted">{no_data}</p>')
        )
        out.append(f"<figure>\n<figcaption>{escape(title)}</figcaption>\n{body}\n</figure>\n")
    return Markup("".join(out))


def line_chart(
    points: Sequence[tuple[float, float]],
    title: str,
    fmt_date: Callable[[datetime], str],
    fmt_time: Callable[[datetime], str] | None = None,
    *,
    y_min: float | None = None,
    y_max: float | None = None,
) -> Markup:
    """A line over time (points of Unix seconds and a value) with its range and first/last
    dates as text."""
    w, h, left, bottom = 320, 140, 38, 22
    if not points:
        return Markup("")
    values = [v for _, v in points]
    lo = min(values) if y_min is None else min(y_min, min(values))
    hi = max(values) if y_max is None else max(y_max, max(values))
    if hi - lo < 1e-9:
        hi, lo = hi + 1, lo - 1
    shown = _thin(points, 400)
    t0, t1 = shown[0][0], shown[-1][0]
    dt = (t1 - t0) or 1.0
    if fmt_time is not None and dt < 2 * 86400:  # a short history: show the hours too
        fmt_date = fmt_time
    plot_w, plot_h = w - left - 6, h - bottom - 8
    # The line in tenths of a unit, as integers inside a group scaled by 0.1: integer text
    # costs a third of `{x:.1f}` and a chart has hundreds of points; same precision.
    # x = left + sx * (t - t0), y = 8 + sy * (hi - v), the scale worked out once per chart.
    sx, sy = 10 * plot_w / dt, 10 * plot_h / (hi - lo)
    x0, y0 = 10 * left + 0.5, 80 + sy * hi + 0.5  # +0.5: int() then rounds to nearest
    path = " ".join([f"{int(x0 + sx * (ts - t0))},{int(y0 - sy * v)}" for ts, v in shown])
    last = values[-1]
    summary = f"{title}: {last:.0f} ({lo:.0f}–{hi:.0f})"
    return Markup(
        f'<svg class="line" viewBox="0 0 {w} {h}" role="img" aria-label="{escape(summary)}">'
        f'<line x1="{left}" y1="8" x2="{left}" y2="{8 + plot_h}" class="axis"/>'
        f'<line x1="{left}" y1="{8 + plot_h}" x2="{w - 6}" y2="{8 + plot_h}" class="axis"/>'
        f'<text x="{left - 4}" y="14" text-anchor="end" class="small">{hi:.0f}</text>'
        f'<text x="{left - 4}" y="{8 + plot_h}" text-anchor="end" class="small">{lo:.0f}</text>'
        f'<text x="{left}" y="{h - 4}" class="small">{escape(fmt_date(_utc(points[0][0])))}</text>'
        f'<text x="{w - 6}" y="{h - 4}" text-anchor="end" class="small">'
        f"{escape(fmt_date(_utc(points[-1][0])))}</text>"
        f'<g transform="scale(0.1)"><polyline points="{path}" class="series"/></g></svg>'
    )


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _thin(points: Sequence[tuple[float, float]], most: int) -> Sequence[tuple[float, float]]:
    """At most `most` points, evenly picked, always keeping the last."""
    if len(points) <= most:
        return points
    step = len(points) / most
    picked = [points[int(i * step)] for i in range(most)]
    picked[-1] = points[-1]
    return picked


def _svg_open(height: int, label: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {_W} {height}" role="img" '
        f'aria-label="{escape(label)}" preserveAspectRatio="xMinYMin meet">'
    )
