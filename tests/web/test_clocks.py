"""Clock views from the SLA engine: running, paused, met, breached, at risk; row urgency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mailtriage.sla.clocks import ClockState
from mailtriage.store.models import Ticket
from mailtriage.web.clocks import ClockView, TicketClockReader, clock_view, worst_state
from tests.web.conftest import NOW, Seeded, local

T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


def _state(status: str, *, due: datetime, remaining: timedelta,
           stopped: datetime | None = None) -> ClockState:
    return ClockState(kind="resolution", status=status, priority="high",  # type: ignore[arg-type]
                      started_at=T0, due=due, target=4 * H, elapsed=4 * H - remaining,
                      remaining=remaining, stopped_at=stopped, flagged=False)


@pytest.mark.parametrize(("status", "due", "remaining", "stopped", "now", "left", "running"), [
    # running and at risk: the office time left
    ("running", T0 + 4 * H, 3 * H, None, T0 + H, 3 * H, True),
    ("at_risk", T0 + 4 * H, H, None, T0 + 3 * H, H, True),
    # breached while running: the wall-clock time past the deadline, negative
    ("breached", T0 + 4 * H, timedelta(0), None, T0 + 6 * H, -2 * H, True),
    # paused: the office time left when the customer answers
    ("paused", T0 + 30 * H, 2 * H, None, T0 + 3 * H, 2 * H, False),
    # stopped: met or breached, nothing left to show
    ("met", T0 + 4 * H, 2 * H, T0 + 2 * H, T0 + 5 * H, None, False),
    ("breached", T0 + 4 * H, timedelta(0), T0 + 5 * H, T0 + 6 * H, None, False),
])
def test_clock_view(status: str, due: datetime, remaining: timedelta, stopped: datetime | None,
                    now: datetime, left: timedelta | None, running: bool) -> None:
    view = clock_view(_state(status, due=due, remaining=remaining, stopped=stopped), now)
    assert (view.state, view.due, view.left, view.stopped_at) == (status, due, left, stopped)
    assert view.running is running


def test_worst_state_counts_running_clocks_only() -> None:
    def v(state: str, stopped: datetime | None = None) -> ClockView:
        return ClockView("response", T0, state, None, stopped)  # type: ignore[arg-type]

    assert worst_state((v("running"), v("breached"))) == "breached"
    assert worst_state((v("at_risk"), v("running"))) == "at_risk"
    assert worst_state((v("running"), v("paused"))) == "running"
    assert worst_state((v("met", T0), v("paused"))) == "none"
    assert worst_state((v("breached", T0), v("met", T0))) == "none"  # missed, but over


def _read(seeded: Seeded, number: int, now: datetime) -> tuple[ClockView, ClockView]:
    reader = TicketClockReader(seeded.config)
    with seeded.db.session() as s:
        t = s.scalar(select(Ticket).where(Ticket.number == number))
        assert t is not None
        return reader.read(s, t, now)


# Office hours Mon-Fri 08:30-17:00. NOW is Tue 10 Mar 2026 10:30.
def test_reader_high_incident_at_risk(seeded: Seeded) -> None:
    # received Tue 09:00, high: 2 office hours to respond, 4 to resolve
    response, resolution = _read(seeded, 1001, NOW)
    assert (response.state, response.due, response.left) == ("at_risk", local(10, 11),
                                                             timedelta(minutes=30))
    assert (resolution.state, resolution.due, resolution.left) == (
        "running", local(10, 13), timedelta(hours=2, minutes=30))


def test_reader_waiting_pauses_resolution_only(seeded: Seeded) -> None:
    # received Mon 14:00, answered and waiting since 14:30: 30 minutes of 16 office hours used;
    # 15h30 left from now: Tue 10:30-17:00 (6h30), Wed (8h30), Thu 08:30-09:00
    response, resolution = _read(seeded, 1006, NOW)
    assert (response.state, response.stopped_at) == ("met", local(9, 14, 30))
    assert (resolution.state, resolution.left) == ("paused", timedelta(hours=15, minutes=30))
    assert resolution.due == local(12, 9)


def test_reader_resolved_ticket_and_ticket_without_clock(seeded: Seeded) -> None:
    response, resolution = _read(seeded, 1004, NOW)
    assert (response.state, resolution.state) == ("met", "met")
    assert resolution.stopped_at == local(9, 15)
    response, resolution = _read(seeded, 1003, NOW)  # a change request has no clock
    assert (response.state, resolution.state, response.due) == ("none", "none", None)


def test_reader_breach_after_the_deadline(seeded: Seeded) -> None:
    # 1002: received Mon 09:00, medium; response due Mon 17:00, not answered
    response, _ = _read(seeded, 1002, NOW)
    assert (response.state, response.due) == ("breached", local(9, 17))
    assert response.left == local(9, 17) - NOW
