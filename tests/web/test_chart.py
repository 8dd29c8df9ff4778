"""Compliance chart geometry."""

from __future__ import annotations

from mailtriage.web.chart import compliance_chart


def test_bar_heights_and_targets() -> None:
    chart = compliance_chart([
        ("high", "response", 4, 100.0, 100.0, True),
        ("high", "resolution", 4, 75.0, 85.0, False),
        ("medium", "response", 0, None, 100.0, None),
    ], bar_width=30, gap=10, group_gap=40, plot_height=200, left=40, top=10)
    high_resp, high_res, medium = chart.bars
    bottom = 210.0
    assert (high_resp.x, high_resp.height, high_resp.y) == (50.0, 200.0, 10.0)
    assert (high_res.x, high_res.height, high_res.y) == (90.0, 150.0, 60.0)
    assert high_res.target_y == bottom - 170.0
    assert (medium.x, medium.height) == (160.0, 0.0)  # a group gap, and no bar without data
    assert chart.plot_bottom == bottom
    assert chart.gridlines[0] == (bottom, 0)
    assert chart.gridlines[-1] == (10.0, 100)


def test_percent_is_clamped() -> None:
    (bar,) = compliance_chart([("low", "response", 1, 140.0, 100.0, True)],
                              plot_height=100).bars
    assert bar.height == 100.0
