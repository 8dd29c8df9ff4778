"""Staff alerts: new high-priority incidents and deadlines at risk or missed, batched, once each.

Once per run (``mailtriage run``), inside office hours only, every event that is due goes to
``notify.staff_alert_address`` in ONE mail. Events:

* ``new_high`` - an open incident with priority high that no one has answered yet;
* ``response_at_risk`` / ``response_breached`` - the response clock of an unanswered incident
  is at risk (``sla.at_risk_fraction`` of its office time used) or past its deadline;
* ``resolution_at_risk`` / ``resolution_breached`` - the same for the resolution clock of an
  unresolved incident (a paused clock, waiting on the customer, raises nothing).

Only the current state of a clock is reported: a clock found already breached is reported as
breached, never also as at risk. Each event is recorded on its ticket as a ``TicketEvent`` of
kind ``alert`` (``{"alert": kind, "due": ...}``) in the same transaction as the outbox row, so
it is never sent twice; for deadline events the event is the pair (kind, deadline), so a
deadline moved by a staff correction can raise its own alert. Outside office hours nothing is
read or recorded: the events wait for the office to open. Resolved and closed tickets never
raise anything. Every pass leaves an alert watch (``services.alert_watch``): until when no
event can fall due, so the runs before then can skip the pass.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from mailtriage.config import Config
from mailtriage.ingest.message import Address
from mailtriage.notify.compose import OutgoingMail, compose_message, new_message_id
from mailtriage.notify.context import AlertContext, AlertItem, AlertKind
from mailtriage.notify.render import render_alert
from mailtriage.services.alert_watch import AlertWatch, config_fingerprint
from mailtriage.services.clocks import clocks_for_many
from mailtriage.services.commitments import CommitmentCalculator
from mailtriage.services.report import AlertReport
from mailtriage.sla.clocks import ClockState, next_status_change
from mailtriage.statuses import DONE_STATUSES
from mailtriage.store.database import Database
from mailtriage.store.models import OutboxItem, Setting, Ticket, TicketEvent
from mailtriage.store.probe import ALERT_WATCH_KEY, FACTS, facts_fingerprint

log = logging.getLogger("mailtriage.alerts")

EVENT_KIND = "alert"
OUTBOX_KIND = "alert"


@dataclass(frozen=True)
class DueAlert:
    """One event that needs staff attention, with the ticket it belongs to."""

    ticket_id: int
    item: AlertItem

    @property
    def key(self) -> tuple[str, str]:
        """A new ticket is one event; a deadline event is (kind, deadline)."""
        return alert_key(self.item.kind, None if self.item.kind == "new_high" else self.item.due)


def alert_key(kind: str, due: datetime | None) -> tuple[str, str]:
    """The identity of an event on one ticket: its kind and (for deadlines) the deadline."""
    return kind, "" if due is None else due.astimezone(UTC).isoformat(timespec="seconds")


def _sent_keys(session: Session, ticket_ids: list[int]) -> dict[int, set[tuple[str, str]]]:
    sent: dict[int, set[tuple[str, str]]] = {}
    for start in range(0, len(ticket_ids), 500):
        chunk = ticket_ids[start:start + 500]
        rows = session.execute(select(TicketEvent.ticket_id, TicketEvent.data).where(
            TicketEvent.kind == EVENT_KIND, TicketEvent.ticket_id.in_(chunk))).all()
        for ticket_id, data in rows:
            kind = str(data.get("alert", ""))
            sent.setdefault(ticket_id, set()).add((kind, str(data.get("due") or "")))
    return sent


def _clock_kind(clock: ClockState) -> AlertKind | None:
    """The alert a running clock calls for, or None (stopped, paused or on time)."""
    if clock.stopped_at is not None:
        return None
    if clock.status == "breached":
        return "response_breached" if clock.kind == "response" else "resolution_breached"
    if clock.status == "at_risk":
        return "response_at_risk" if clock.kind == "response" else "resolution_at_risk"
    return None


def _item(ticket: Ticket, kind: AlertKind, priority: str | None,
          due: datetime | None) -> AlertItem:
    return AlertItem(kind=kind, ticket_number=ticket.number, subject=ticket.subject,
                     priority=priority if priority in ("high", "medium", "low")
                     else None,  # type: ignore[arg-type]
                     due=due, requester=ticket.requester or "")


def due_alerts(session: Session, calc: CommitmentCalculator, now: datetime, *,
               changes: list[datetime] | None = None) -> list[DueAlert]:
    """Every event that is due at ``now`` and was not alerted before, in ticket order.

    ``changes``, when given, receives the instant each running clock changes status next
    (``sla.clocks.next_status_change``): the alert watch is the earliest of them.
    """
    tickets = session.scalars(select(Ticket).where(
        Ticket.type == "incident", Ticket.priority.is_not(None),
        Ticket.status.not_in(DONE_STATUSES))
        .order_by(Ticket.number)).all()
    if not tickets:
        return []
    sent = _sent_keys(session, [t.id for t in tickets])
    all_clocks = clocks_for_many(session, [t for t in tickets if t.received_at <= now], calc,
                                 now)
    due: list[DueAlert] = []
    for ticket in tickets:
        if ticket.received_at > now:  # received "after now" (a clock ahead): due from then
            if changes is not None:
                changes.append(ticket.received_at)
            continue
        found: list[DueAlert] = []
        clocks = all_clocks[ticket.id]
        priority = clocks.priority if clocks is not None else ticket.priority
        if priority == "high" and ticket.first_response_at is None:
            found.append(DueAlert(ticket.id, _item(ticket, "new_high", "high",
                                                   ticket.response_due)))
        if clocks is not None:
            for clock in (clocks.response, clocks.resolution):
                kind = _clock_kind(clock)
                if kind is not None:
                    found.append(DueAlert(ticket.id, _item(ticket, kind, priority, clock.due)))
                if changes is not None:
                    change = next_status_change(clock, now, calc.calendar, calc.config.sla)
                    if change is not None:
                        changes.append(change)
        done = sent.get(ticket.id, set())
        due.extend(alert for alert in found if alert.key not in done)
    return due


def _record(session: Session, alerts: list[DueAlert], now: datetime, outbox_id: int) -> None:
    for alert in alerts:
        kind, due = alert.key
        session.add(TicketEvent(ticket_id=alert.ticket_id, kind=EVENT_KIND, at=now,
                                data={"alert": kind, "due": due, "outbox_id": outbox_id}))


def queue_alerts(config: Config, db: Database, now: datetime, *,
                 calc: CommitmentCalculator | None = None) -> AlertReport:
    """Queue one alert mail with every due event; see the module docstring for the rules."""
    address = config.notify.staff_alert_address
    if not address:
        return AlertReport(skipped="no staff alert address configured "
                                   "(notify.staff_alert_address)")
    calc = calc or CommitmentCalculator(config)
    with db.session() as session:
        # Read before the clocks: a fact committed meanwhile changes the counts, so the watch
        # never hides it.
        facts = facts_fingerprint(session.execute(text(FACTS)).one())
        changes = [calc.calendar.next_change(now)]  # alerts wait for the office to open
        if not calc.calendar.is_open(now):
            report = AlertReport(skipped="outside office hours")
        else:
            alerts = due_alerts(session, calc, now, changes=changes)
            if alerts:
                item = build_alert(session, config, alerts, now, address)
                session.flush()
                _record(session, alerts, now, item.id)
                log.info("staff alert with %d item(s) queued for %s", len(alerts),
                         item.recipient)
                report = AlertReport(items=len(alerts), outbox_id=item.id)
            else:
                report = AlertReport(skipped="nothing to report")
        # What a pass before the watch's instant would say: nothing new to report (or still
        # closed). The events this pass recorded change the facts: the next run passes again.
        watch = AlertWatch(until=min(changes), config=config_fingerprint(config),
                           skipped=report.skipped or "nothing to report", facts=facts)
        _save_watch(session, watch)
        return report


def _save_watch(session: Session, watch: AlertWatch) -> None:
    row = session.get(Setting, ALERT_WATCH_KEY)
    if row is None:
        session.add(Setting(key=ALERT_WATCH_KEY, value=watch.as_json()))
    else:
        row.value = watch.as_json()


def build_alert(session: Session, config: Config, alerts: list[DueAlert], now: datetime,
                address: str) -> OutboxItem:
    """Render, compose and add (not flush) the outbox row of one batched alert."""
    notify = config.notify
    rendered = render_alert(AlertContext(
        language=notify.default_language, helpdesk_name=notify.helpdesk_name, issued_at=now,
        items=tuple(a.item for a in alerts), timezone=config.calendar.timezone),
        template_dir=notify.template_dir)
    domain = config.smtp.from_address.rsplit("@", 1)[1]
    message_id, _token = new_message_id(domain)
    outgoing = OutgoingMail(
        sender=Address(config.smtp.from_address, config.smtp.from_name),
        recipient=Address(address), subject=rendered.subject, text=rendered.text,
        html=rendered.html, message_id=message_id, date=now, auto_submitted="auto-generated",
        language=notify.default_language)
    body = compose_message(outgoing)
    item = OutboxItem(
        ticket_id=None, kind=OUTBOX_KIND, dedup_key=f"alert:{now.astimezone(UTC):%Y%m%dT%H%M%S}:"
        f"{secrets.token_hex(6)}", message_id=message_id,
        sender=outgoing.envelope_sender, recipient=outgoing.envelope_recipient,
        recipients=[outgoing.envelope_recipient], subject=rendered.subject, body=body,
        status="pending", next_attempt_at=now)
    session.add(item)
    return item
