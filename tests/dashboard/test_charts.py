"""The device page's health plot: a line over time with its range and its first/last dates."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from server.dashboard.charts import line_chart


def test_line_chart_spans_the_plot_and_names_its_dates() -> None:
    start = datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp()
    day = 86400.0
    points = [(start, 90.0), (start + day, 50.0), (start + 9 * day, 10.0)]
    svg = str(line_chart(points, "Battery", lambda at: at.strftime("%d/%m"), y_min=0, y_max=100))
    assert "Battery: 10 (0–100)" in svg  # the latest value and the range, for screen readers
    assert ">01/03</text>" in svg and ">10/03</text>" in svg  # first and last day
    match = re.search(r'points="([^"]+)"', svg)
    assert match
    xs = [int(p.split(",")[0]) for p in match.group(1).split()]
    ys = [int(p.split(",")[1]) for p in match.group(1).split()]
    assert xs[0] == 380 and xs[-1] == 3140  # left edge to right edge, in tenths
    assert xs[0] < xs[1] < xs[2] and ys[0] < ys[1] < ys[2]  # later to the right, lower values lower
    assert str(line_chart([], "Battery", str)) == ""
