"""How each SLA clock of a ticket is shown: running, paused, met, breached or at risk.

The states come from the SLA engine (``services.clocks.clocks_for`` over the ticket's recorded
facts), the same computation the alerts and the compliance deadlines use, so the queue, the
ticket page and the report agree.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from mailtriage.config import Config
from mailtriage.services.clocks import clocks_for, clocks_for_many
from mailtriage.services.commitments import CommitmentCalculator
from mailtriage.sla.clocks import ClockState, TicketClocks
from mailtriage.store.models import Ticket

ClockKind = Literal["response", "resolution"]
ViewState = Literal["none", "running", "paused", "met", "breached", "at_risk"]


@dataclass(frozen=True)
class ClockView:
    """One clock (response or resolution) as the queue and the ticket page show it.

    ``left`` is the office time still left for a running or paused clock, and the wall-clock
    time past the deadline (negative) for a running clock that is breached; None once stopped.
    """

    kind: ClockKind
    due: datetime | None
    state: ViewState
    left: timedelta | None
    stopped_at: datetime | None = None
    flagged: bool = False

    @property
    def running(self) -> bool:
        return self.stopped_at is None and self.state in ("running", "at_risk", "breached")


def no_clock(kind: ClockKind) -> ClockView:
    return ClockView(kind, None, "none", None)


def clock_view(state: ClockState, now: datetime) -> ClockView:
    """The view of one engine clock at ``now``."""
    left: timedelta | None
    if state.stopped_at is not None:
        left = None
    elif state.status == "breached":
        left = state.due - now
    else:
        left = state.remaining
    return ClockView(state.kind, state.due, state.status, left, state.stopped_at, state.flagged)


def views(clocks: TicketClocks | None, now: datetime) -> tuple[ClockView, ClockView]:
    """Response and resolution views; tickets without a clock show none."""
    if clocks is None:
        return no_clock("response"), no_clock("resolution")
    return clock_view(clocks.response, now), clock_view(clocks.resolution, now)


def worst_state(clocks: tuple[ClockView, ...]) -> ViewState:
    """The most urgent state among running clocks, for highlighting a queue row."""
    order: tuple[ViewState, ...] = ("breached", "at_risk", "running")
    for state in order:
        if any(c.state == state and c.running for c in clocks):
            return state
    return "none"


class TicketClockReader:
    """Reads tickets' clocks with one shared calendar.

    The business calendar fills its caches (holiday years, office intervals) lazily, so the
    request threads take turns using it.
    """

    def __init__(self, config: Config) -> None:
        self.calculator = CommitmentCalculator(config)
        self._lock = threading.Lock()

    def clocks(self, session: Session, ticket: Ticket, now: datetime) -> TicketClocks | None:
        """The engine's clocks of ``ticket`` at ``now`` (None without a clock)."""
        with self._lock:
            return clocks_for(session, ticket, self.calculator, now)

    def read(self, session: Session, ticket: Ticket, now: datetime) -> tuple[ClockView,
                                                                             ClockView]:
        return views(self.clocks(session, ticket, now), now)

    def read_many(self, session: Session, tickets: Sequence[Ticket],
                  now: datetime) -> dict[int, tuple[ClockView, ClockView]]:
        """``read`` for each ticket (by id), the facts of all of them read at once."""
        with self._lock:
            clocks = clocks_for_many(session, tickets, self.calculator, now)
        return {ticket_id: views(c, now) for ticket_id, c in clocks.items()}
