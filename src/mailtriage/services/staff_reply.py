"""A reply written by staff (web UI or CLI): threaded, sent through the outbox, a response.

The reply goes to the ticket's requester with In-Reply-To and References pointing at the latest
customer message, the ticket number in the subject, and our recognisable Message-ID. It is
recorded as a response by a person: the first one stops the response clock. Optionally the
ticket waits on the customer afterwards (pausing the resolution clock) or is resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from mailtriage.config import Config
from mailtriage.errors import NotFoundError, UsageError
from mailtriage.ingest.message import Address
from mailtriage.notify.compose import OutgoingMail, compose_message, new_message_id
from mailtriage.notify.subject import reply_subject
from mailtriage.services.clocks import refresh_deadlines
from mailtriage.services.commitments import CommitmentCalculator
from mailtriage.services.corrections import set_status
from mailtriage.statuses import AFTER_REPLY_STATUSES
from mailtriage.store.database import Database
from mailtriage.store.models import Message, OutboxItem, Participant, Ticket, TicketEvent

MAX_REPLY = 100_000


@dataclass(frozen=True)
class StaffReplyResult:
    """The queued reply."""

    ticket_number: int
    message_id: str
    recipient: str
    first_response: bool
    status: str


def send_staff_reply(config: Config, db: Database, number: int, *, actor: str, text: str,
                     now: datetime, then_status: str | None = None) -> StaffReplyResult:
    """Queue a staff reply on ticket ``number`` and record it as a response."""
    body = text.replace("\r\n", "\n").replace("\x00", "").strip()
    if not body:
        raise UsageError("The reply is empty.")
    if len(body) > MAX_REPLY:
        raise UsageError(f"The reply is longer than {MAX_REPLY} characters.")
    if then_status is not None and then_status not in AFTER_REPLY_STATUSES:
        raise UsageError("After a reply the ticket can be open, waiting or resolved.")
    with db.session() as s:
        t = s.scalar(select(Ticket).where(Ticket.number == number))
        if t is None:
            raise NotFoundError(f"There is no ticket #{number}.")
        if not t.requester:
            raise UsageError(f"Ticket #{number} has no requester address to reply to.")
        last = s.scalar(select(Message).where(Message.ticket_id == t.id,
                                              Message.direction == "in",
                                              Message.message_id.is_not(None))
                        .order_by(Message.received_at.desc(), Message.id.desc()).limit(1))
        first = s.scalar(select(Message.message_id).where(
            Message.ticket_id == t.id, Message.direction == "in",
            Message.message_id.is_not(None)).order_by(Message.received_at, Message.id).limit(1))
        refs = tuple(dict.fromkeys(r for r in (first, last.message_id if last else None) if r))
        domain = config.smtp.from_address.rsplit("@", 1)[1]
        message_id, _token = new_message_id(domain)
        language = "en" if t.language == "en" else "nl"
        outgoing = OutgoingMail(
            sender=Address(config.smtp.from_address, config.smtp.from_name),
            recipient=Address(t.requester, t.requester_name),
            subject=reply_subject(t.subject, t.number, language), text=body + "\n", html=None,
            message_id=message_id, date=now, auto_submitted="no",
            in_reply_to=last.message_id if last else None,
            references=refs, language=language)
        data = compose_message(outgoing)
        s.add(OutboxItem(ticket_id=t.id, kind="reply", dedup_key=f"reply:{message_id}",
                         message_id=message_id, sender=config.smtp.from_address,
                         recipient=t.requester.lower(), recipients=[outgoing.envelope_recipient],
                         subject=outgoing.subject, body=data, status="pending",
                         next_attempt_at=now))
        s.add(Message(ticket_id=t.id, direction="out", mailbox="(staff)", folder="",
                      uid=message_id, sha256=_sha(data), size=len(data), message_id=message_id,
                      sender=config.smtp.from_address, sender_name=actor,
                      subject=outgoing.subject, received_at=now, origin="person",
                      outcome="response", outcome_reason=f"reply by {actor} from the staff UI",
                      language=language, text=body, new_text=body, notes=[], raw=data))
        first_response = t.first_response_at is None
        if first_response:
            t.first_response_at = now
        s.add(TicketEvent(ticket_id=t.id, kind="response", at=now, actor=actor,
                          data={"via": "staff-ui", "message_id": message_id}))
        if s.scalar(select(Participant.id).where(Participant.ticket_id == t.id,
                                                 Participant.address == actor)) is None:
            s.add(Participant(ticket_id=t.id, address=actor[:320], role="staff"))
        target = then_status or ("open" if t.status == "new" else None)
        if target:
            set_status(s, t, target, actor=actor, now=now, note="after a staff reply")
        refresh_deadlines(s, t, CommitmentCalculator(config), now)
        return StaffReplyResult(t.number, message_id, t.requester, first_response, t.status)


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
