"""How each SLA clock of a ticket stands at a moment: met, running, at risk, breached or paused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Measure = Callable[[datetime, datetime], timedelta]
"""The time that counts between two instants: office time, or plain elapsed time."""


def elapsed(start: datetime, end: datetime) -> timedelta:
    return end - start


ClockState = Literal["none", "met", "missed", "ok", "at_risk", "breached", "paused"]


@dataclass(frozen=True)
class ClockView:
    """One clock (response or resolution) as the queue and the ticket page show it."""

    kind: Literal["response", "resolution"]
    due: datetime | None
    state: ClockState
    left: timedelta | None

    @property
    def running(self) -> bool:
        return self.state in ("ok", "at_risk", "breached")


def clock_view(kind: Literal["response", "resolution"], *, due: datetime | None,
               started: datetime, stopped_at: datetime | None, paused: bool, now: datetime,
               at_risk_fraction: float, measure: Measure = elapsed) -> ClockView:
    """The state of one clock.

    A clock without a deadline has none. A stopped clock (responded, resolved) was met when it
    stopped at or before the deadline. A running clock is breached at its deadline, and at risk
    once less than ``1 - at_risk_fraction`` of the time from its start to its deadline is left,
    both measured with ``measure`` (office time in the app). ``left`` is the wall-clock time to
    the deadline, negative when overdue.
    """
    if due is None:
        return ClockView(kind, None, "none", None)
    if stopped_at is not None:
        return ClockView(kind, due, "met" if stopped_at <= due else "missed", None)
    left = due - now
    if paused:
        return ClockView(kind, due, "paused", None)
    if left <= timedelta(0):
        return ClockView(kind, due, "breached", left)
    span = measure(started, due)
    if span > timedelta(0) and measure(now, due) <= span * (1.0 - at_risk_fraction):
        return ClockView(kind, due, "at_risk", left)
    return ClockView(kind, due, "ok", left)


def ticket_clocks(*, status: str, received_at: datetime, response_due: datetime | None,
                  resolution_due: datetime | None, first_response_at: datetime | None,
                  resolved_at: datetime | None, now: datetime, at_risk_fraction: float,
                  measure: Measure = elapsed) -> tuple[ClockView, ClockView]:
    """Both clocks of a ticket. Waiting on the customer pauses resolution, never response."""
    closed = status in ("resolved", "closed")
    stopped_resolution = resolved_at if resolved_at is not None else (now if closed else None)
    response = clock_view("response", due=response_due, started=received_at,
                          stopped_at=first_response_at, paused=False, now=now,
                          at_risk_fraction=at_risk_fraction, measure=measure)
    if closed and first_response_at is None and response.running:
        response = ClockView("response", response_due, "none" if response_due is None else
                             ("met" if response.state != "breached" else "missed"), None)
    resolution = clock_view("resolution", due=resolution_due, started=received_at,
                            stopped_at=stopped_resolution, paused=status == "waiting", now=now,
                            at_risk_fraction=at_risk_fraction, measure=measure)
    return response, resolution


def worst_state(clocks: tuple[ClockView, ...]) -> ClockState:
    """The most urgent state among running clocks, for highlighting a queue row."""
    order: tuple[ClockState, ...] = ("breached", "at_risk", "ok")
    for state in order:
        if any(c.state == state for c in clocks):
            return state
    return "none"
