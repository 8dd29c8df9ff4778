"""The compliance chart's geometry: one bar per priority and kind, with the target marked."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    """A bar in SVG user units; ``percent`` is None when there was nothing to measure."""

    label: str
    kind: str
    x: float
    y: float
    width: float
    height: float
    percent: float | None
    target_y: float
    passed: bool | None
    n: int


@dataclass(frozen=True)
class Chart:
    width: float
    height: float
    plot_top: float
    plot_bottom: float
    bars: tuple[Bar, ...]
    gridlines: tuple[tuple[float, int], ...]


def compliance_chart(rows: list[tuple[str, str, int, float | None, float, bool | None]], *,
                     bar_width: float = 34.0, gap: float = 10.0, group_gap: float = 34.0,
                     plot_height: float = 180.0, left: float = 40.0, top: float = 12.0) -> Chart:
    """Lay out bars for rows of (priority, kind, n, percent, target, passed).

    Bars of one priority stand side by side; a bar's height is its percentage of the plot height.
    """
    bars: list[Bar] = []
    x = left + gap
    previous: str | None = None
    bottom = top + plot_height
    for priority, kind, n, percent, target, passed in rows:
        if previous is not None:
            x += group_gap if priority != previous else gap
        previous = priority
        value = 0.0 if percent is None else max(0.0, min(100.0, percent))
        height = plot_height * value / 100.0
        bars.append(Bar(label=priority, kind=kind, x=x, y=bottom - height, width=bar_width,
                        height=height, percent=percent,
                        target_y=bottom - plot_height * max(0.0, min(100.0, target)) / 100.0,
                        passed=passed, n=n))
        x += bar_width
    width = x + gap * 2
    grid = tuple((bottom - plot_height * p / 100.0, p) for p in (0, 25, 50, 75, 100))
    return Chart(width=max(width, 240.0), height=bottom + 40.0, plot_top=top,
                 plot_bottom=bottom, bars=tuple(bars), gridlines=grid)
