"""Turns stored tickets into the JSON shapes of the public contract (CLI ``--json`` and the API)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtriage.sla.clocks import ClockState, TicketClocks
from mailtriage.store.models import (
    Attachment,
    Classification,
    Correction,
    Message,
    OutboxItem,
    Ticket,
    TicketEvent,
)


def iso(value: datetime | None, zone: tzinfo) -> str | None:
    """ISO 8601 with the calendar's offset, or None."""
    return None if value is None else value.astimezone(zone).isoformat()


def ticket_summary(t: Ticket, zone: tzinfo) -> dict[str, Any]:
    """The fields of ``tickets list --json``."""
    return {
        "id": t.id,
        "number": t.number,
        "subject": t.subject,
        "requester": t.requester,
        "requester_name": t.requester_name,
        "type": t.type,
        "priority": t.priority,
        "confidence": None if t.confidence is None else round(float(t.confidence), 4),
        "needs_review": bool(t.needs_review),
        "received_at": iso(t.received_at, zone),
        "response_due": iso(t.response_due, zone),
        "resolution_due": iso(t.resolution_due, zone),
        "status": t.status,
        "sla": t.sla_level,
        "language": t.language,
        "decided_by": t.decided_by,
        "reasons": list(t.reasons or []),
        "first_response_at": iso(t.first_response_at, zone),
        "resolved_at": iso(t.resolved_at, zone),
        "sla_flagged": bool(t.sla_flagged),
        "change_hours": t.change_hours,
        "change_generic": bool(t.change_generic),
        "change_window": t.change_window,
        "linked_ticket": t.linked_ticket_id,
    }


def _clock_json(state: ClockState, zone: tzinfo) -> dict[str, Any]:
    return {
        "state": state.status,
        "started_at": iso(state.started_at, zone),
        "due": iso(state.due, zone),
        "stopped_at": iso(state.stopped_at, zone),
        "target_seconds": int(state.target.total_seconds()),
        "elapsed_seconds": int(state.elapsed.total_seconds()),
        "remaining_seconds": int(state.remaining.total_seconds()),
        "flagged": state.flagged,
    }


def clocks_json(clocks: TicketClocks | None, now: datetime, zone: tzinfo) -> dict[str, Any] | None:
    """Both SLA clocks at ``now`` (None for a ticket without a clock).

    ``state`` is running, paused, at_risk, met or breached; the seconds are office time.
    """
    if clocks is None:
        return None
    return {"at": iso(now, zone), "priority": clocks.priority, "flagged": clocks.flagged,
            "response": _clock_json(clocks.response, zone),
            "resolution": _clock_json(clocks.resolution, zone)}


def ticket_detail(session: Session, t: Ticket, zone: tzinfo, *, clocks: TicketClocks | None,
                  now: datetime) -> dict[str, Any]:
    """The fields of ``tickets show --json``: the summary, the SLA clocks at ``now``, messages
    and history."""
    data = ticket_summary(t, zone)
    data["clocks"] = clocks_json(clocks, now, zone)
    messages = session.scalars(
        select(Message).where(Message.ticket_id == t.id).order_by(Message.received_at, Message.id)
    ).all()
    data["messages"] = [
        {
            "id": m.id,
            "direction": m.direction,
            "message_id": m.message_id,
            "from": m.sender,
            "from_name": m.sender_name,
            "subject": m.subject,
            "received_at": iso(m.received_at, zone),
            "origin": m.origin,
            "outcome": m.outcome,
            "reason": m.outcome_reason,
            "language": m.language,
            "text": m.new_text or m.text,
            "notes": list(m.notes or []),
            "attachments": [
                {"id": a.id, "filename": a.filename, "content_type": a.content_type,
                 "size": a.size}
                for a in session.scalars(select(Attachment).where(Attachment.message_id == m.id))
            ],
        }
        for m in messages
    ]
    data["classifications"] = [
        {"type": c.type, "priority": c.priority, "confidence": c.confidence,
         "needs_review": c.needs_review, "rules": c.rules, "reasons": c.reasons,
         "model_version": c.model_version, "source": c.source, "at": iso(c.created_at, zone)}
        for c in session.scalars(select(Classification).where(Classification.ticket_id == t.id)
                                 .order_by(Classification.id))
    ]
    data["corrections"] = [
        {"actor": c.actor, "at": iso(c.created_at, zone), "before": c.before, "after": c.after,
         "note": c.note}
        for c in session.scalars(select(Correction).where(Correction.ticket_id == t.id)
                                 .order_by(Correction.id))
    ]
    data["events"] = [
        {"kind": e.kind, "at": iso(e.at, zone), "actor": e.actor, "data": e.data}
        for e in session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id)
                                 .order_by(TicketEvent.at, TicketEvent.id))
    ]
    data["outbox"] = [
        {"kind": o.kind, "status": o.status, "to": o.recipients, "subject": o.subject,
         "message_id": o.message_id, "attempts": o.attempts, "last_error": o.last_error,
         "created_at": iso(o.created_at, zone), "sent_at": iso(o.sent_at, zone)}
        for o in session.scalars(select(OutboxItem).where(OutboxItem.ticket_id == t.id)
                                 .order_by(OutboxItem.id))
    ]
    return data
