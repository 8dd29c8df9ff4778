"""Staff answers that reached us before the customer's mail: made responses once it arrives.

A customer writes to a staff member directly with the helpdesk in CC; the copy to the helpdesk
is held up (greylisting, a slow relay) while the staff member answers at once. The answer comes
in first, refers to no ticket and is kept as ignored, with the Message-IDs it answers as
``AwaitedReference`` rows. At the end of each run (after every mailbox, before the staff alerts)
this pass looks for stored customer mail with one of those Message-IDs: the staff mail becomes
that ticket's response, at the later of its own receipt and the ticket's (a response never lies
before the ticket), so the response clock shows what really happened. References nobody
answered within ``AWAIT_DAYS`` are dropped.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mailtriage.services.intake import record_response
from mailtriage.store.models import AwaitedReference, Message, Ticket

AWAIT_DAYS = 14


def record_early_responses(session: Session, now: datetime) -> list[int]:
    """Match awaited references with stored customer mail (see the module docstring); the
    numbers of the tickets that got their response so."""
    matches = session.execute(
        select(AwaitedReference.message_id, Message.ticket_id)
        .join(Message, Message.message_id == AwaitedReference.ref)
        .where(Message.direction == "in", Message.ticket_id.is_not(None))
        .order_by(AwaitedReference.message_id, Message.id)).all()
    done: list[int] = []
    matched: set[int] = set()
    for staff_message_id, ticket_id in matches:
        if staff_message_id in matched:
            continue  # it answers one mail; the first stored one with an awaited id wins
        matched.add(staff_message_id)
        msg = session.get(Message, staff_message_id)
        ticket = session.get(Ticket, ticket_id)
        if msg is None or ticket is None or msg.outcome != "ignored":
            continue
        at = max(msg.received_at, ticket.received_at)
        msg.outcome_reason = ("response by staff: it answers the customer's mail of this "
                              "ticket, which reached us after it")
        record_response(session, ticket, msg, at=at, via="early")
        done.append(ticket.number)
    if matched:
        session.execute(delete(AwaitedReference).where(
            AwaitedReference.message_id.in_(sorted(matched))))
    session.execute(delete(AwaitedReference).where(
        AwaitedReference.created_at < now - timedelta(days=AWAIT_DAYS)))
    return done
