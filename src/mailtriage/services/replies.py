"""Queues mail to customers in the outbox: the acknowledgement and updates after corrections.

The policy (``notify.policy``) decides whether to answer; this module counts the replies already
sent to the address (the rate limit), renders the right template with the ticket's commitment,
composes the bytes and writes the outbox row in the caller's transaction. Every decision not to
answer is recorded on the ticket with its reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
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
from mailtriage.statuses import ACTIVE_STATUSES
from mailtriage.store.models import Message, OutboxItem, Setting, Ticket, TicketEvent, ticket_ref

CUSTOMER_KINDS = ("ack", "update")


def open_change_hours(session: Session) -> float:
    """The estimated hours of open change requests (unestimated ones count as 4 hours)."""
    rows = session.execute(select(Ticket.change_hours).where(
        Ticket.type == "change", Ticket.status.in_(ACTIVE_STATUSES))).scalars().all()
    return float(sum(4.0 if h is None else h for h in rows))


def staff_workload(session: Session) -> Workload | None:
    """The workload staff set in the database, if any."""
    setting = session.get(Setting, "workload")
    if setting is not None:
        level = setting.value.get("level")
        if level == "low" or level == "high":
            return level  # type: ignore[no-any-return]
    return None


def workload_now(session: Session, config: Config) -> Workload:
    """Staff's setting in the database, else the config, else derived from the backlog."""
    return staff_workload(session) or current_workload(config.sla, open_change_hours(session))


@dataclass
class BatchCounts:
    """What the replies of one batch of new mail need from the database, asked once.

    ``sent`` holds, for every sender address of the batch, the customer mail queued to it in
    the rate-limit window, counted on as the batch queues more; ``change_hours`` the open
    change backlog: what it was before the batch, plus the batch's own new change tickets as
    they are opened (a batch's mail does not change a new ticket's type or estimate).
    Only for a batch stored without savepoints: a rolled-back mail would leave the counts
    too high. ``stale`` (a ticket of the batch changed status) sends the backlog back to the
    database.
    """

    sent: dict[str, int]
    staff_workload: Workload | None
    change_hours: float
    stale: bool = False

    def add(self, ticket: Ticket) -> None:
        """Count a ticket the batch opened (as ``open_change_hours`` would count it)."""
        if ticket.type == "change" and ticket.status in ACTIVE_STATUSES:
            self.change_hours += 4.0 if ticket.change_hours is None else ticket.change_hours


class ReplyComposer:
    """Builds and queues customer mail for tickets; one instance per run."""

    def __init__(self, config: Config, now: Callable[[], datetime], *,
                 dry_run: bool = False) -> None:
        self.config = config
        self.now = now
        self.dry_run = dry_run
        self.domain = config.smtp.from_address.rsplit("@", 1)[1]
        self.sender = Address(config.smtp.from_address, config.smtp.from_name)
        self._batch: BatchCounts | None = None
        self.queued = 0
        """Outbox rows queued by this composer (committed or not)."""

    @contextmanager
    def batch(self, session: Session, addresses: Iterable[str]) -> Iterator[BatchCounts]:
        """Answer the rate-limit and workload questions of one batch from memory (see
        ``BatchCounts``); the caller registers each new ticket with ``new_ticket``."""
        since = self._window_start()
        wanted = sorted({a.lower() for a in addresses if a})
        sent = dict.fromkeys(wanted, 0)
        for start in range(0, len(wanted), 500):
            sent.update((address, int(n)) for address, n in session.execute(
                select(OutboxItem.recipient, func.count(OutboxItem.id)).where(
                    OutboxItem.recipient.in_(wanted[start:start + 500]),
                    OutboxItem.kind.in_(CUSTOMER_KINDS), OutboxItem.created_at >= since)
                .group_by(OutboxItem.recipient)).all())
        self._batch = BatchCounts(sent=sent,
                                  staff_workload=staff_workload(session),
                                  change_hours=open_change_hours(session))
        try:
            yield self._batch
        finally:
            self._batch = None

    def new_ticket(self, ticket: Ticket) -> None:
        """A ticket the current batch opened (it counts in the change backlog)."""
        if self._batch is not None:
            self._batch.add(ticket)

    def status_changed(self) -> None:
        """A ticket changed status in the current batch: ask the backlog from the database."""
        if self._batch is not None:
            self._batch.stale = True

    def _workload(self, session: Session) -> Workload:
        batch = self._batch
        if batch is None or batch.stale:
            return workload_now(session, self.config)
        return batch.staff_workload or current_workload(self.config.sla, batch.change_hours)

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
            workload = self._workload(session)
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

    def _window_start(self) -> datetime:
        return self.now() - timedelta(minutes=self.config.notify.rate_limit_window_minutes)

    def replies_in_window(self, session: Session, address: str) -> int:
        address = address.lower()
        if self._batch is not None and address in self._batch.sent:
            return self._batch.sent[address]
        return int(session.scalar(select(func.count(OutboxItem.id)).where(
            OutboxItem.recipient == address, OutboxItem.kind.in_(CUSTOMER_KINDS),
            OutboxItem.created_at >= self._window_start())) or 0)

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
            kind=kind, dedup_key=dedup_key, message_id=message_id,
            sender=outgoing.envelope_sender, recipient=recipient.addr.lower(),
            recipients=[outgoing.envelope_recipient], subject=rendered.subject,
            body=compose_message(outgoing), status="pending", next_attempt_at=self.now(),
            **ticket_ref(ticket))
        session.add(item)
        self.queued += 1
        if (self._batch is not None and kind in CUSTOMER_KINDS
                and item.recipient in self._batch.sent):
            self._batch.sent[item.recipient] += 1
        return item

    def acknowledge(self, session: Session, ticket: Ticket, msg: Message, mail: ParsedMail,
                    origin: OriginVerdict) -> str:
        """Queue the acknowledgement of a new ticket, or record why there is none."""
        return self._answer(session, ticket, mail, origin, is_followup=False)

    def maybe_followup_reply(self, session: Session, ticket: Ticket, msg: Message,
                             mail: ParsedMail, origin: OriginVerdict) -> str:
        """Follow-ups are answered only when configured (``notify.reply_to_followups``)."""
        return self._answer(session, ticket, mail, origin, is_followup=True,
                            dedup=f"ack:{ticket.number}:{msg.sha256[:16]}")

    def _answer(self, session: Session, ticket: Ticket, mail: ParsedMail,
                origin: OriginVerdict, *, is_followup: bool, dedup: str | None = None) -> str:
        address = mail.sender.addr if mail.sender else ""
        decision = decide_auto_reply(
            mail, origin, self.config.notify, is_followup=is_followup,
            replies_in_window=self.replies_in_window(session, address) if address else 0,
            now=self.now(), own_addresses=(self.config.smtp.from_address,))
        if not decision.send or decision.recipient is None:
            session.add(TicketEvent(kind="no_reply", at=self.now(),
                                    data={"rule": decision.rule, "reason": decision.reason,
                                          "notes": list(decision.notes)},
                                    **ticket_ref(ticket)))
            return f"none ({decision.reason})"
        rendered = render_ack(self.ack_context(session, ticket),
                              template_dir=self.config.notify.template_dir)
        item = self._queue(session, ticket, "ack", dedup or f"ack:{ticket.number}",
                           decision.recipient, rendered, parent=mail)
        session.add(TicketEvent(kind="reply_queued", at=self.now(),
                                data={"kind": "ack", "to": item.recipient,
                                      "notes": list(decision.notes)}, **ticket_ref(ticket)))
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
