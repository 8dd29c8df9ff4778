"""Reads a ticket's recorded facts (priority changes, pauses, responses) into SLA clock input."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtriage.services.commitments import CommitmentCalculator
from mailtriage.sla.clocks import Pause, PriorityChange, TicketClocks, TicketFacts, ticket_clocks
from mailtriage.store.models import Classification, Ticket, TicketEvent


def ticket_facts(session: Session, ticket: Ticket) -> TicketFacts | None:
    """The clock facts of an incident with a priority; None for tickets without a clock."""
    if ticket.type != "incident" or ticket.priority is None:
        return None
    events = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                             .order_by(TicketEvent.at, TicketEvent.id)).all()
    changes: list[PriorityChange] = []
    pauses: list[Pause] = []
    pause_start: datetime | None = None
    for e in events:
        if e.kind == "priority_changed" and e.data.get("to"):
            changes.append(PriorityChange(e.at, str(e.data["to"])))
        elif e.kind == "status_changed":
            if e.data.get("to") == "waiting" and pause_start is None:
                pause_start = e.at
            elif e.data.get("from") == "waiting" and pause_start is not None:
                pauses.append(Pause(pause_start, e.at))
                pause_start = None
        elif e.kind == "resumed" and pause_start is not None:
            pauses.append(Pause(pause_start, e.at))
            pause_start = None
    if pause_start is not None:
        pauses.append(Pause(pause_start, None))
    first = session.scalar(select(Classification.priority).where(
        Classification.ticket_id == ticket.id, Classification.priority.is_not(None))
        .order_by(Classification.id).limit(1))
    initial = changes[0].priority if changes and first is None else (first or ticket.priority)
    return TicketFacts(received_at=ticket.received_at, priority=initial,
                       priority_changes=tuple(changes),
                       first_response_at=ticket.first_response_at, pauses=tuple(pauses),
                       resolved_at=ticket.resolved_at)


def clocks_for(session: Session, ticket: Ticket, calc: CommitmentCalculator,
               now: datetime) -> TicketClocks | None:
    facts = ticket_facts(session, ticket)
    if facts is None:
        return None
    return ticket_clocks(facts, now, calc.calendar, calc.config.sla)


def refresh_deadlines(session: Session, ticket: Ticket, calc: CommitmentCalculator,
                      now: datetime) -> None:
    """Set the ticket's due instants and flag from its facts (None when it has no clock)."""
    session.flush()
    clocks = clocks_for(session, ticket, calc, now)
    if clocks is None:
        ticket.response_due = ticket.resolution_due = None
        return
    ticket.response_due = clocks.response.due
    ticket.resolution_due = clocks.resolution.due
    ticket.sla_flagged = ticket.sla_flagged or clocks.flagged
