"""Staff corrections: type, priority, status and change estimate, audited, learnt from, told.

One transaction records the correction (who, when, before, after, note), a staff
classification, the events the SLA clocks read, the new deadlines, a training example that
weighs more than seed data, and (when the commitment changed) an update to the customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtriage.classify.decision import PRIORITIES, TYPES
from mailtriage.config import Config
from mailtriage.errors import NotFoundError, UsageError
from mailtriage.services.clocks import refresh_deadlines
from mailtriage.services.commitments import CommitmentCalculator
from mailtriage.services.replies import ReplyComposer
from mailtriage.statuses import DONE_STATUSES, STATUSES
from mailtriage.store.database import Database
from mailtriage.store.models import (
    Classification,
    Correction,
    Message,
    Ticket,
    TicketEvent,
    TrainingExample,
)


@dataclass(frozen=True)
class CorrectionResult:
    """What a correction changed."""

    ticket_number: int
    before: dict[str, Any]
    after: dict[str, Any]
    commitment_changed: bool
    customer_update: str


def snapshot(t: Ticket) -> dict[str, Any]:
    """The corrected fields; instants in UTC, so one instant always reads the same (a value
    from the database and one just computed in the calendar's zone must compare equal)."""

    def iso(v: datetime | None) -> str | None:
        return None if v is None else v.astimezone(UTC).isoformat()

    return {"type": t.type, "priority": t.priority, "status": t.status,
            "needs_review": t.needs_review, "response_due": iso(t.response_due),
            "resolution_due": iso(t.resolution_due), "change_hours": t.change_hours,
            "change_generic": t.change_generic}


def _validate(type_: str | None, priority: str | None, status: str | None,
              hours: float | None) -> None:
    if type_ is not None and type_ not in TYPES:
        raise UsageError(f"Unknown type {type_!r}; use incident, change or other.")
    if priority is not None and priority not in PRIORITIES:
        raise UsageError(f"Unknown priority {priority!r}; use high, medium or low.")
    if status is not None and status not in STATUSES:
        raise UsageError(f"Unknown status {status!r}; use {', '.join(STATUSES)}.")
    if hours is not None and not 0 < hours <= 10000:
        raise UsageError("The estimate must be a positive number of hours.")


def set_status(session: Session, ticket: Ticket, status: str, *, actor: str, now: datetime,
               note: str = "") -> None:
    """Change the status with an audited event; resolution and closing are stamped."""
    if status == ticket.status:
        return
    session.add(TicketEvent(ticket_id=ticket.id, kind="status_changed", at=now, actor=actor,
                            data={"from": ticket.status, "to": status, "note": note}))
    if status == "resolved":
        ticket.resolved_at = now
    elif status == "closed":
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    elif ticket.status in DONE_STATUSES:
        ticket.resolved_at = None
        ticket.closed_at = None
    ticket.status = status


def apply_correction(config: Config, db: Database, number: int, *, actor: str,
                     type_: str | None = None, priority: str | None = None,
                     status: str | None = None, note: str = "", now: datetime,
                     change_hours: float | None = None,
                     generic: bool | None = None,
                     calc: CommitmentCalculator | None = None) -> CorrectionResult:
    """Correct ticket ``number``; see the module docstring for everything it records.
    ``calc``: a calculator to reuse over many corrections (its calendar caches)."""
    _validate(type_, priority, status, change_hours)
    if all(v is None for v in (type_, priority, status, change_hours, generic)):
        raise UsageError("Nothing to correct: give a type, priority, status or estimate.")
    calc = calc or CommitmentCalculator(config)
    with db.session() as s:
        t = s.scalar(select(Ticket).where(Ticket.number == number))
        if t is None:
            raise NotFoundError(f"There is no ticket #{number}.")
        before = snapshot(t)
        new_type = type_ or t.type
        new_priority = priority if priority is not None else t.priority
        if new_type != "incident":
            if priority is not None:
                raise UsageError("Only incidents have a priority; give --type incident too.")
            new_priority = None
        elif new_priority is None:
            raise UsageError("An incident needs a priority; give --priority high, medium or "
                             "low.")
        classification_changed = (new_type, new_priority) != (t.type, t.priority)
        if new_type != t.type:
            s.add(TicketEvent(ticket_id=t.id, kind="type_changed", at=now, actor=actor,
                              data={"from": t.type, "to": new_type}))
        if new_priority != t.priority and new_priority is not None:
            s.add(TicketEvent(ticket_id=t.id, kind="priority_changed", at=now, actor=actor,
                              data={"from": t.priority, "to": new_priority}))
        t.type, t.priority = new_type, new_priority
        t.needs_review = False
        if change_hours is not None:
            t.change_hours = change_hours
        if generic is not None:
            t.change_generic = generic
        if t.type == "change":
            _set_change_window(s, config, calc, t, now)
        else:
            t.change_window = None
        if status is not None:
            set_status(s, t, status, actor=actor, now=now, note=note)
        refresh_deadlines(s, t, calc, now)
        after = snapshot(t)
        t.decided_by = f"staff: {actor}"
        t.confidence = 1.0
        if classification_changed or before["needs_review"]:
            t.reasons = [f"corrected by {actor}" + (f": {note}" if note else "")]
            s.add(Classification(ticket_id=t.id, type=t.type, priority=t.priority,
                                 confidence=1.0, needs_review=False, rules=[],
                                 reasons=list(t.reasons), model_version=None, source="staff"))
            _remember_example(s, config, t)
        correction = Correction(ticket_id=t.id, actor=actor, before=before, after=after,
                                note=note, created_at=now)
        s.add(correction)
        s.flush()
        commitment_keys = ("type", "priority", "response_due", "resolution_due",
                           "change_hours", "change_generic")
        changed = any(before[k] != after[k] for k in commitment_keys)
        # A status change alone (a pause ending) moves due instants but assesses nothing anew:
        # the customer hears of it only when the classification or the estimate changed.
        reassessed = any(before[k] != after[k] for k in commitment_keys
                         if k not in ("response_due", "resolution_due"))
        update = "none"
        if (changed and (reassessed or status is None) and config.notify.update_on_correction
                and t.status not in DONE_STATUSES):
            update = ReplyComposer(config, lambda: now).queue_update(
                s, t, previous_kind=before["type"], previous_priority=before["priority"],
                correction_id=correction.id)
        return CorrectionResult(t.number, before, after, changed, update)


def _set_change_window(s: Session, config: Config, calc: CommitmentCalculator, t: Ticket,
                       now: datetime) -> None:
    from mailtriage.services.replies import workload_now
    from mailtriage.sla.changes import change_window

    if t.change_hours is None and not t.change_generic:
        t.change_window = None
        return
    workload = workload_now(s, config)
    window = change_window(calc.calendar.local_date(now), t.change_hours or 0.0,
                           workload, calc.calendar,
                           generic=t.change_generic)
    t.change_window = {
        "kind": window.kind, "workload": window.workload,
        "earliest": window.earliest.isoformat() if window.earliest else None,
        "latest": window.latest.isoformat() if window.latest else None,
    }


def _remember_example(s: Session, config: Config, t: Ticket) -> None:
    """The ticket's first mail, labelled by staff, as a training example (one per ticket)."""
    first = s.scalar(select(Message).where(Message.ticket_id == t.id, Message.direction == "in")
                     .order_by(Message.received_at, Message.id).limit(1))
    body = (first.new_text or first.text) if first else ""
    key = f"ticket-{t.id}"
    row = s.scalar(select(TrainingExample).where(TrainingExample.source == "correction",
                                                 TrainingExample.external_id == key))
    if row is None:
        row = TrainingExample(source="correction", external_id=key, ticket_id=t.id)
        s.add(row)
    row.subject, row.body = t.subject, body
    row.label_type, row.label_priority = t.type or "other", t.priority
    row.weight = config.classify.correction_weight


def tickets_received_before(db: Database, before: datetime,
                            statuses: Sequence[str]) -> list[int]:
    """Numbers of the tickets received before ``before`` whose status is one of ``statuses``,
    oldest first (for a bulk status change, e.g. closing the old mail a first run found)."""
    for status in statuses:
        _validate(None, None, status, None)
    with db.session() as s:
        return [int(n) for n in s.scalars(select(Ticket.number).where(
            Ticket.received_at < before, Ticket.status.in_(list(statuses)))
            .order_by(Ticket.received_at, Ticket.number))]
