"""Ticket clocks: the state of a ticket's response and resolution clocks at a given moment.

A pure function over the ticket's facts (:class:`TicketFacts`) and ``now``. Rules (spec ``sla.md``
decisions 6 and 7, and the points it leaves open):

* Both clocks start at receipt. The response clock stops at the first reply by a person of the
  helpdesk; the resolution clock stops at resolution.
* Waiting on the customer pauses the resolution clock, never the response clock. Office time
  inside a pause does not count. While a pause is still open the due instant shown is the one
  that holds if the customer answers now. (The caller also passes the time between a
  resolution and the customer reopening the ticket as a pause: ``services.clocks``.)
* A change of priority recomputes the clock from the original receipt with the new targets,
  keeping elapsed office time and pauses. When that recomputed deadline lies before the moment of
  change, the clock restarts at the moment of change with the new target (a new deadline of
  change + target) and is flagged; elapsed time is then counted from the change. Every change is
  handled this way in order, so the last change decides the deadline; a flag stays once set.
  Changes after a clock stopped, and changes after ``now``, do not touch that clock.
* Status: ``met`` / ``breached`` once stopped (met when stopped at or before the due instant);
  while running ``breached`` once ``now`` is past the due instant, else ``paused`` while waiting
  on the customer, else ``at_risk`` once the elapsed office time reaches
  ``SlaConfig.at_risk_fraction`` of the target, else ``running``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from mailtriage.config import SlaConfig
from mailtriage.errors import UsageError
from mailtriage.sla.calendar import BusinessCalendar, to_us
from mailtriage.sla.commitments import resolution_target, response_target, target_for

ClockStatus = Literal["running", "paused", "met", "breached", "at_risk"]
ClockKind = Literal["response", "resolution"]


@dataclass(frozen=True)
class PriorityChange:
    """The ticket's priority became ``priority`` at ``at``."""

    at: datetime
    priority: str


@dataclass(frozen=True)
class Pause:
    """The ticket waited on the customer from ``start`` to ``end`` (None: still waiting)."""

    start: datetime
    end: datetime | None = None


@dataclass(frozen=True)
class TicketFacts:
    """What the clocks of one incident are computed from."""

    received_at: datetime
    priority: str
    priority_changes: tuple[PriorityChange, ...] = ()
    first_response_at: datetime | None = None
    pauses: tuple[Pause, ...] = ()
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class ClockState:
    """One clock at ``now``."""

    kind: ClockKind
    status: ClockStatus
    priority: str
    started_at: datetime
    due: datetime
    target: timedelta
    elapsed: timedelta
    remaining: timedelta
    stopped_at: datetime | None
    flagged: bool


@dataclass(frozen=True)
class TicketClocks:
    """Both clocks of a ticket at ``now``; ``flagged`` when either was restarted at a change."""

    priority: str
    response: ClockState
    resolution: ClockState
    flagged: bool


def _merge_pauses(pauses: tuple[Pause, ...], origin: int, horizon: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for pause in pauses:
        start = to_us(pause.start)
        end = horizon if pause.end is None else min(to_us(pause.end), horizon)
        if pause.end is not None and to_us(pause.end) < start:
            raise UsageError("A pause cannot end before it starts.")
        start = max(start, origin)
        if end > start:
            spans.append((start, end))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _elapsed(cal: BusinessCalendar, origin: int, until: int, pauses: list[tuple[int, int]]) -> int:
    total = cal.office_us(origin, until)
    for start, end in pauses:
        total -= cal.office_us(max(start, origin), min(end, until))
    return total


def _due(cal: BusinessCalendar, origin: int, target: int, pauses: list[tuple[int, int]]) -> int:
    cursor, left = origin, target
    for start, end in pauses:
        if end <= cursor:
            continue
        if start > cursor:
            candidate = cal.deadline_us(cursor, left)
            if candidate <= start:
                return candidate
            left -= cal.office_us(cursor, start)
        cursor = max(cursor, end)
    return cal.deadline_us(cursor, left)


def _target_us(kind: ClockKind, priority: str, origin: datetime, cal: BusinessCalendar,
               sla: SlaConfig) -> int:
    target = target_for(priority, sla)
    span = response_target(target) if kind == "response" else resolution_target(origin, target,
                                                                                 cal)
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds


def _clock(kind: ClockKind, facts: TicketFacts, now: datetime, cal: BusinessCalendar,
           sla: SlaConfig) -> ClockState:
    now_us = to_us(now)
    received = cal.to_local(facts.received_at)
    received_us = to_us(received)
    stop_at = facts.first_response_at if kind == "response" else facts.resolved_at
    stop_us = to_us(stop_at) if stop_at is not None else None
    if stop_us is not None and stop_us > now_us:
        stop_at, stop_us = None, None  # a stop after now has not happened yet
    if stop_us is not None and stop_us < received_us:
        raise UsageError(f"The ticket's {kind} lies before its receipt.")
    horizon = now_us if stop_us is None else stop_us
    pauses = (_merge_pauses(facts.pauses, received_us, max(horizon, received_us))
              if kind == "resolution" else [])

    priority = facts.priority
    origin, origin_us = received, received_us
    target = _target_us(kind, priority, received, cal, sla)
    flagged = False
    for change in sorted(facts.priority_changes, key=lambda c: to_us(c.at)):
        at_us = to_us(change.at)
        if at_us > horizon:
            break
        priority = change.priority
        origin, origin_us = received, received_us
        target = _target_us(kind, priority, received, cal, sla)
        if at_us > received_us and _due(cal, received_us, target, pauses) < at_us:
            origin = cal.to_local(change.at)
            origin_us = at_us
            target = _target_us(kind, priority, origin, cal, sla)
            flagged = True

    own_pauses = [(max(s, origin_us), e) for s, e in pauses if e > origin_us]
    due_us = _due(cal, origin_us, target, own_pauses)
    elapsed = max(0, _elapsed(cal, origin_us, max(horizon, origin_us), own_pauses))
    status: ClockStatus
    if stop_us is not None:
        status = "met" if stop_us <= due_us else "breached"
    elif now_us > due_us:
        status = "breached"
    elif kind == "resolution" and any(
        to_us(p.start) <= now_us and (p.end is None or to_us(p.end) > now_us)
        for p in facts.pauses
    ):
        status = "paused"
    elif elapsed >= sla.at_risk_fraction * target:
        status = "at_risk"
    else:
        status = "running"
    return ClockState(
        kind=kind,
        status=status,
        priority=priority,
        started_at=origin,
        due=cal.from_us(due_us),
        target=timedelta(microseconds=target),
        elapsed=timedelta(microseconds=elapsed),
        remaining=timedelta(microseconds=max(0, target - elapsed)),
        stopped_at=stop_at,
        flagged=flagged,
    )


def next_status_change(state: ClockState, now: datetime, calendar: BusinessCalendar,
                       sla: SlaConfig) -> datetime | None:
    """When ``state``'s status changes next if no new fact arrives: a running clock turns at
    risk, an at-risk clock is breached just after its due instant. None for a clock that is
    stopped, paused (only a new fact ends a pause) or already breached."""
    if state.stopped_at is not None or state.status in ("paused", "breached"):
        return None
    if state.status == "running":
        target_us = state.target // timedelta(microseconds=1)
        elapsed_us = state.elapsed // timedelta(microseconds=1)
        to_risk = math.ceil(sla.at_risk_fraction * target_us) - elapsed_us
        if to_risk > 0:
            return calendar.from_us(calendar.deadline_us(to_us(now), to_risk))
    return state.due


def ticket_clocks(facts: TicketFacts, now: datetime, calendar: BusinessCalendar,
                  sla: SlaConfig) -> TicketClocks:
    """Both clocks of an incident at ``now``."""
    response = _clock("response", facts, now, calendar, sla)
    resolution = _clock("resolution", facts, now, calendar, sla)
    current = facts.priority
    now_us = to_us(now)
    for change in sorted(facts.priority_changes, key=lambda c: to_us(c.at)):
        if to_us(change.at) <= now_us:
            current = change.priority
    return TicketClocks(
        priority=current,
        response=response,
        resolution=resolution,
        flagged=response.flagged or resolution.flagged,
    )
