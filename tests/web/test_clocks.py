"""SLA clock states for the queue: met, missed, ok, at risk, breached, paused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailtriage.web.clocks import ClockView, clock_view, ticket_clocks, worst_state

T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.mark.parametrize(("due", "stopped", "paused", "now", "state", "left"), [
    (None, None, False, T0, "none", None),
    (T0 + 4 * H, T0 + 2 * H, False, T0 + 5 * H, "met", None),
    (T0 + 4 * H, T0 + 4 * H, False, T0 + 5 * H, "met", None),       # on the deadline is met
    (T0 + 4 * H, T0 + 5 * H, False, T0 + 6 * H, "missed", None),
    (T0 + 4 * H, None, False, T0 + 1 * H, "ok", 3 * H),
    (T0 + 4 * H, None, False, T0 + 3 * H, "at_risk", 1 * H),          # 25% left of 4h
    (T0 + 4 * H, None, False, T0 + 2 * H + 59 * timedelta(minutes=1), "ok",
     timedelta(minutes=61)),                                          # just over 25% left
    (T0 + 4 * H, None, False, T0 + 4 * H, "breached", timedelta(0)),  # at the deadline
    (T0 + 4 * H, None, False, T0 + 6 * H, "breached", -2 * H),
    (T0 + 4 * H, None, True, T0 + 6 * H, "paused", None),
])
def test_clock_view(due: datetime | None, stopped: datetime | None, paused: bool, now: datetime,
                    state: str, left: timedelta | None) -> None:
    view = clock_view("resolution", due=due, started=T0, stopped_at=stopped, paused=paused,
                      now=now, at_risk_fraction=0.75)
    assert view.state == state
    assert view.left == left


def test_at_risk_uses_the_given_measure() -> None:
    # Office time that only counts the first hour of every elapsed two: the remaining office
    # time is half the wall-clock time, so a clock with 40% wall time left is at risk by office
    # time only when less than 25% of office time is left.
    def half(start: datetime, end: datetime) -> timedelta:
        return (end - start) / 2

    wall = clock_view("response", due=T0 + 10 * H, started=T0, stopped_at=None, paused=False,
                      now=T0 + 8 * H, at_risk_fraction=0.75)
    assert wall.state == "at_risk"
    measured = clock_view("response", due=T0 + 10 * H, started=T0, stopped_at=None,
                          paused=False, now=T0 + 6 * H, at_risk_fraction=0.75, measure=half)
    assert measured.state == "ok"  # 4h wall = 2h office left of 5h office: 40% > 25%


def test_waiting_pauses_resolution_not_response() -> None:
    response, resolution = ticket_clocks(
        status="waiting", received_at=T0, response_due=T0 + 2 * H, resolution_due=T0 + 4 * H,
        first_response_at=None, resolved_at=None, now=T0 + 3 * H, at_risk_fraction=0.75)
    assert response.state == "breached"
    assert resolution.state == "paused"


def test_resolved_ticket_stops_both_clocks() -> None:
    response, resolution = ticket_clocks(
        status="resolved", received_at=T0, response_due=T0 + 2 * H, resolution_due=T0 + 4 * H,
        first_response_at=T0 + H, resolved_at=T0 + 5 * H, now=T0 + 9 * H, at_risk_fraction=0.75)
    assert (response.state, resolution.state) == ("met", "missed")


def test_worst_state() -> None:
    def v(state: str) -> ClockView:
        return ClockView("response", T0, state, None)  # type: ignore[arg-type]

    assert worst_state((v("ok"), v("breached"))) == "breached"
    assert worst_state((v("at_risk"), v("ok"))) == "at_risk"
    assert worst_state((v("met"), v("paused"))) == "none"
