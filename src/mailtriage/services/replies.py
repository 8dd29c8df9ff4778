"""Queues mail to customers in the outbox: the acknowledgement and updates after corrections.

The policy (``notify.policy``) decides whether to answer; this module counts the replies already
sent to the address (the rate limit), renders the right template with the ticket's commitment,
composes the bytes and writes the outbox row in the caller's transaction. Every decision not to
answer is recorded on the ticket with its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailtriage.config import Config, Workload
from mailtriage.ingest.message import Address, OriginVerdict, ParsedMail
from mailtriage.notify.compose import OutgoingMail, compose_message, new_message_id, thread_headers
from mailtriage.notify.context import AckContext, UpdateContext, standard_change_terms
from mailtriage.notify.policy import decide_auto_reply
from mailtriage.notify.render import RenderedMail, render_ack, render_update
from mailtriage.notify.wording import Language
from mailtriage.sla.changes import current_workload
from mailtriage.store.models import Message, OutboxItem, Setting, Ticket, TicketEvent

CUSTOMER_KINDS = ("ack", "update")
OPEN_STATUSES = ("new", "open", "waiting")


def open_change_hours(session: Session) -> float:
    """The estimated hours of open change requests (unestimated ones count as 4 hours)."""
    rows = session.execute(select(Ticket.change_hours).where(
        Ticket.type == "change", Ticket.status.in_(OPEN_STATUSES))).scalars().all()
    return float(sum(4.0 if h is None else h for h in rows))


def workload_now(session: Session, config: Config) -> Workload:
    """Staff's setting in the database, else the config, else derived from the backlog."""
    setting = session.get(Setting, "workload")
    if setting is not None:
        level = setting.value.get("level")
        if level == "low" or level == "high":
            return level  # type: ignore[no-any-return]
    return current_workload(config.sla, open_change_hours(session))


class ReplyComposer:
    """Builds and queues customer mail for tickets; one instance per run."""

    def __init__(self, config: Config, now: Callable[[], datetime], *,
                 dry_run: bool = False) -> None:
        self.config = config
        self.now = now
        self.dry_run = dry_run
        self.domain = config.smtp.from_address.rsplit("@", 1)[1]
        self.sender = Address(config.smtp.from_address, config.smtp.from_name)

    # -- what the mail says -----------------------------------------------------------------

    def ack_context(self, session: Session, ticket: Ticket) -> AckContext:
        language: Language = "en" if ticket.language == "en" else (
            "nl" if ticket.language == "nl" else self.config.notify.default_language)
        base = AckContext(
            ticket_number=ticket.number, subject=ticket.subject, language=language,
            kind="review", helpdesk_name=self.config.notify.helpdesk_name,
            issued_at=self.now(), requester_name=ticket.requester_name,
            timezone=self.config.calendar.timezone,
            resolution_percent=self.config.sla.resolution_target_percent)
        if ticket.needs_review or ticket.type is None:
            return base
        if ticket.type == "incident" and ticket.priority in ("high", "medium", "low") \
                and ticket.response_due and ticket.resolution_due:
            return replace(base, kind="incident",
                           priority=ticket.priority,  # type: ignore[arg-type]
                           response_due=ticket.response_due,
                           resolution_due=ticket.resolution_due,
                           guaranteed=ticket.sla_level == "guaranteed")
        if ticket.type == "change":
            workload = workload_now(session, self.config)
            terms = standard_change_terms(workload)
            window = None
            if ticket.change_window and ticket.change_window.get("earliest"):
                window = (date.fromisoformat(ticket.change_window["earliest"]),
                          date.fromisoformat(ticket.change_window["latest"]))
            return replace(base, kind="change", workload=workload, change_terms=terms,
                           estimate_hours=ticket.change_hours, change_window=window,
                           generic_code=ticket.change_generic,
                           over_limit=bool(ticket.change_hours and ticket.change_hours > 8))
        if ticket.type == "other":
            return replace(base, kind="other")
        return base

    # -- queueing ------------------------------------------------------------------------------

    def replies_in_window(self, session: Session, address: str) -> int:
        since = self.now() - timedelta(minutes=self.config.notify.rate_limit_window_minutes)
        return int(session.scalar(select(func.count(OutboxItem.id)).where(
            OutboxItem.recipient == address.lower(), OutboxItem.kind.in_(CUSTOMER_KINDS),
            OutboxItem.created_at >= since)) or 0)

    def _queue(self, session: Session, ticket: Ticket, kind: str, dedup_key: str,
               recipient: Address, rendered: RenderedMail, *, parent: ParsedMail | None,
               references: tuple[str, ...] = ()) -> OutboxItem:
        message_id, _token = new_message_id(self.domain)
        in_reply_to = None
        refs = references
        if parent is not None:
            in_reply_to, refs = thread_headers(parent)
        outgoing = OutgoingMail(
            sender=self.sender, recipient=recipient, subject=rendered.subject,
            text=rendered.text, html=rendered.html, message_id=message_id, date=self.now(),
            auto_submitted="auto-replied" if kind == "ack" else "auto-generated",
            in_reply_to=in_reply_to, references=refs, language=ticket.language)
        item = OutboxItem(
            ticket_id=ticket.id, kind=kind, dedup_key=dedup_key, message_id=message_id,
            sender=outgoing.envelope_sender, recipient=recipient.addr.lower(),
            recipients=[outgoing.envelope_recipient], subject=rendered.subject,
            body=compose_message(outgoing), status="pending", next_attempt_at=self.now())
        session.add(item)
        return item

    def acknowledge(self, session: Session, ticket: Ticket, msg: Message, mail: ParsedMail,
                    origin: OriginVerdict) -> str:
        """Queue the acknowledgement of a new ticket, or record why there is none."""
        return self._answer(session, ticket, mail, origin, is_followup=False)

    def maybe_followup_reply(self, session: Session, ticket: Ticket, msg: Message,
                             mail: ParsedMail, origin: OriginVerdict) -> str:
        """Follow-ups are answered only when configured (``notify.reply_to_followups``)."""
        return self._answer(session, ticket, mail, origin, is_followup=True,
                            dedup=f"ack:{ticket.id}:{msg.sha256[:16]}")

    def _answer(self, session: Session, ticket: Ticket, mail: ParsedMail,
                origin: OriginVerdict, *, is_followup: bool, dedup: str | None = None) -> str:
        address = mail.sender.addr if mail.sender else ""
        decision = decide_auto_reply(
            mail, origin, self.config.notify, is_followup=is_followup,
            replies_in_window=self.replies_in_window(session, address) if address else 0,
            own_addresses=(self.config.smtp.from_address,))
        if not decision.send or decision.recipient is None:
            session.add(TicketEvent(ticket_id=ticket.id, kind="no_reply", at=self.now(),
                                    data={"rule": decision.rule, "reason": decision.reason,
                                          "notes": list(decision.notes)}))
            return f"none ({decision.reason})"
        rendered = render_ack(self.ack_context(session, ticket),
                              template_dir=self.config.notify.template_dir)
        item = self._queue(session, ticket, "ack", dedup or f"ack:{ticket.id}",
                           decision.recipient, rendered, parent=mail)
        session.add(TicketEvent(ticket_id=ticket.id, kind="reply_queued", at=self.now(),
                                data={"kind": "ack", "to": item.recipient,
                                      "notes": list(decision.notes)}))
        return f"{item.kind} to {item.recipient}"

    def queue_update(self, session: Session, ticket: Ticket, *, previous_kind: str | None,
                     previous_priority: str | None, correction_id: int) -> str:
        """Tell the customer the new commitment after a staff correction."""
        if not ticket.requester:
            return "none (no requester address)"
        context = self.ack_context(session, ticket)
        rendered = render_update(UpdateContext(
            new=context,
            previous_kind=previous_kind,  # type: ignore[arg-type]
            previous_priority=previous_priority,  # type: ignore[arg-type]
        ), template_dir=self.config.notify.template_dir)
        first = session.scalar(select(Message).where(Message.ticket_id == ticket.id,
                                                     Message.direction == "in")
                               .order_by(Message.received_at, Message.id).limit(1))
        refs = tuple(r for r in [first.message_id if first else None] if r)
        item = self._queue(session, ticket, "update", f"update:{ticket.id}:{correction_id}",
                           Address(ticket.requester, ticket.requester_name), rendered,
                           parent=None, references=refs)
        return f"update to {item.recipient}"
