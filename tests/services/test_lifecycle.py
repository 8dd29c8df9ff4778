"""Lifecycle rules of the services on both databases: who is staff, how staff mail threads,
how recorded events become clock facts, and the reopen window at its edge.

The intake cases run the real pipeline over a directory of ``.eml`` files, whose receipt time
is the top ``Received:`` header (the IMAP cases live in ``test_lifecycle_imap.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mailtriage.config import (
    ClassifyConfig,
    Config,
    DatabaseConfig,
    LifecycleConfig,
    MailboxConfig,
    RunConfig,
    SmtpConfig,
    StorageConfig,
)
from mailtriage.services.clocks import clocks_for, ticket_facts
from mailtriage.services.commitments import CommitmentCalculator
from mailtriage.services.corrections import apply_correction
from mailtriage.services.intake import IntakeContext
from mailtriage.services.pipeline import RunReport, run_once
from mailtriage.services.replies import ReplyComposer
from mailtriage.sla.clocks import Pause, PriorityChange
from mailtriage.store.database import Database
from mailtriage.store.files import FileStore
from mailtriage.store.models import (
    AwaitedReference,
    Classification,
    Message,
    OutboxItem,
    Ticket,
    TicketEvent,
)

AMS = ZoneInfo("Europe/Amsterdam")
HELPDESK = "helpdesk@example.test"
STAFF = ("webbureau.example", "piet@freelance.example")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=AMS)


# ---------------------------------------------------------------------------------------------
# Who is staff


@pytest.mark.parametrize(("address", "staff"), [
    ("anna@webbureau.example", True),
    ("Anna@WebBureau.Example", True),  # addresses compare without case
    ("bas@support.webbureau.example", True),  # a subdomain of a staff domain
    ("piet@freelance.example", True),  # a single listed address
    ("jan@freelance.example", False),  # ... is not its whole domain
    ("x@nietwebbureau.example", False),  # a look-alike domain
    ("x@webbureau.example.evil.test", False),
    ("webbureau.example@klant.example", False),  # the domain as a local part
    ("jan@klant.example", False),
])
def test_staff_addresses_and_domains(tmp_path: Path, address: str, staff: bool) -> None:
    config = Config(lifecycle=LifecycleConfig(staff_addresses=STAFF))
    ctx = IntakeContext(config=config, files=FileStore(tmp_path), commitments=CommitmentCalculator(
        config), replies=ReplyComposer(config, lambda: at(2, 9)), now=lambda: at(2, 9))
    assert ctx.is_staff(address) is staff


# ---------------------------------------------------------------------------------------------
# Recorded events become the clock's facts


def change(frm: str, to: str) -> dict[str, str]:
    return {"from": frm, "to": to}


@pytest.mark.parametrize(("events", "pauses", "changes"), [
    ([], (), ()),
    # waiting, then the customer answered
    ([("status_changed", at(2, 11), change("open", "waiting")),
      ("status_changed", at(3, 9), change("waiting", "open"))],
     (Pause(at(2, 11), at(3, 9)),), ()),
    # still waiting: an open pause
    ([("status_changed", at(2, 11), change("new", "waiting"))], (Pause(at(2, 11)),), ()),
    # resolved straight from waiting: held since the customer was asked (the resolution
    # stops the clock anyway)
    ([("status_changed", at(2, 11), change("open", "waiting")),
      ("status_changed", at(4, 10), change("waiting", "resolved"))],
     (Pause(at(2, 11)),), ()),
    # waiting, resolved, reopened by the customer, waiting again: the office time between
    # the resolution and the reopening does not count either
    ([("status_changed", at(2, 10), change("open", "waiting")),
      ("status_changed", at(2, 12), change("waiting", "open")),
      ("status_changed", at(2, 14), change("open", "resolved")),
      ("status_changed", at(3, 9), change("resolved", "open")),
      ("status_changed", at(3, 10), change("open", "waiting")),
      ("status_changed", at(3, 15), change("waiting", "open"))],
     (Pause(at(2, 10), at(2, 12)), Pause(at(2, 14), at(3, 9)), Pause(at(3, 10), at(3, 15))),
     ()),
    # closed, then reopened straight into waiting: one held span
    ([("status_changed", at(2, 14), change("open", "closed")),
      ("status_changed", at(3, 9), change("closed", "waiting")),
      ("status_changed", at(3, 11), change("waiting", "new"))],
     (Pause(at(2, 14), at(3, 11)),), ()),
    # priority changes in order; responses and alerts are no clock facts
    ([("priority_changed", at(2, 10), change("medium", "high")),
      ("response", at(2, 10, 30), {}),
      ("priority_changed", at(2, 11), change("high", "low"))],
     (), (PriorityChange(at(2, 10), "high"), PriorityChange(at(2, 11), "low"))),
])
def test_ticket_facts_from_events(db_url: str, events: list[tuple[str, datetime, dict[str, str]]],
                                  pauses: tuple[Pause, ...],
                                  changes: tuple[PriorityChange, ...]) -> None:
    db = Database(db_url)
    db.migrate()
    try:
        with db.session() as s:
            ticket = Ticket(number=1001, type="incident", priority="low", status="open",
                            received_at=at(2, 9), first_response_at=at(2, 10, 30))
            s.add(ticket)
            s.flush()
            s.add(Classification(ticket_id=ticket.id, type="incident", priority="medium",
                                 confidence=0.9, needs_review=False, rules=[], reasons=[],
                                 source="auto"))
            # Stored out of order: the facts follow the instants.
            for kind, when, data in reversed(events):
                s.add(TicketEvent(ticket_id=ticket.id, kind=kind, at=when, data=data))
            s.flush()
            facts = ticket_facts(s, ticket)
        assert facts is not None
        assert facts.priority == "medium"  # the first classification, not the current one
        assert facts.received_at == at(2, 9)
        assert facts.first_response_at == at(2, 10, 30)
        assert facts.pauses == pauses
        assert facts.priority_changes == changes
    finally:
        db.dispose()


def test_facts_of_many_tickets_are_the_facts_of_each_read_in_a_few_queries(
        db_url: str) -> None:
    from sqlalchemy import event

    from mailtriage.services.clocks import ticket_facts_many

    db = Database(db_url)
    db.migrate()
    try:
        with db.session() as s:
            tickets = []
            for n in range(60):
                t = Ticket(number=1001 + n, type=("incident", "change")[n % 7 == 3],
                           priority=(None, "low", "medium", "high")[n % 4], status="open",
                           received_at=at(2, 9), first_response_at=at(2, 10) if n % 3 else None)
                s.add(t)
                s.flush()
                tickets.append(t)
                if n % 5:
                    s.add(Classification(ticket_id=t.id, type="incident",
                                         priority=("high", "medium")[n % 2], confidence=0.9,
                                         needs_review=False, rules=[], reasons=[],
                                         source="auto"))
                for k in range(n % 4):  # pauses, a priority change, events of no interest
                    s.add(TicketEvent(ticket_id=t.id, kind="status_changed", at=at(2, 11 + k),
                                      data=change("open", "waiting") if k % 2 == 0
                                      else change("waiting", "open")))
                    s.add(TicketEvent(ticket_id=t.id, kind="response", at=at(2, 11 + k)))
                if n % 6 == 1:
                    s.add(TicketEvent(ticket_id=t.id, kind="priority_changed", at=at(3, 9),
                                      data=change("low", "high")))
            s.flush()
            one_by_one = {t.id: ticket_facts(s, t) for t in tickets}
            statements: list[str] = []
            listener = lambda *args: statements.append(args[2])  # noqa: E731
            event.listen(db.engine, "before_cursor_execute", listener)
            try:
                together = ticket_facts_many(s, tickets)
            finally:
                event.remove(db.engine, "before_cursor_execute", listener)
        assert together == one_by_one
        assert sum(f is not None for f in together.values()) > 30
        assert any(f is not None and f.pauses for f in together.values())
        assert any(f is not None and f.priority_changes for f in together.values())
        assert len(statements) == 2  # events, then first classifications
    finally:
        db.dispose()


def test_no_clock_facts_without_an_incident_priority(db_url: str) -> None:
    db = Database(db_url)
    db.migrate()
    try:
        with db.session() as s:
            for number, type_, priority in ((1, "change", None), (2, "other", None),
                                            (3, "incident", None), (4, None, None)):
                t = Ticket(number=number, type=type_, priority=priority, received_at=at(2, 9))
                s.add(t)
                s.flush()
                assert ticket_facts(s, t) is None
    finally:
        db.dispose()


# ---------------------------------------------------------------------------------------------
# Intake over a directory of mail


def eml(*, sender: str, subject: str, message_id: str, received: datetime,
        in_reply_to: str | None = None, cc: str | None = None,
        body: str = "Goedemorgen,\n\nOnze webshop ligt eruit, niemand kan bestellen.\n") -> bytes:
    head = [f"Received: from mx.example.test by helpdesk.example.test; "
            f"{format_datetime(received.astimezone(UTC))}",
            f"From: {sender}", f"To: {HELPDESK}", f"Subject: {subject}",
            f"Message-ID: {message_id}", "Date: Sun, 01 Feb 2026 03:00:00 +0100",
            "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    if cc:
        head.append(f"Cc: {cc}")
    if in_reply_to:
        head += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    return ("\r\n".join(head) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()


@dataclass
class LocalDesk:
    config: Config
    db: Database
    inbox: Path
    count: int = 0

    def deliver(self, data: bytes) -> None:
        self.count += 1
        (self.inbox / f"{self.count:04d}.eml").write_bytes(data)

    def run(self, now: datetime) -> RunReport:
        report = run_once(self.config, now=lambda: now)
        assert not report.problems and not [m.error for m in report.mailboxes if m.error]
        return report

    def ticket(self, number: int) -> Ticket:
        with self.db.session() as s:
            t = s.scalar(select(Ticket).where(Ticket.number == number))
            assert t is not None
            s.expunge(t)
            return t

    def kinds(self, number: int, kind: str) -> list[TicketEvent]:
        with self.db.session() as s:
            rows = list(s.scalars(select(TicketEvent).join(Ticket).where(
                Ticket.number == number, TicketEvent.kind == kind).order_by(TicketEvent.id)))
            s.expunge_all()
            return rows


@pytest.fixture
def local(tmp_path: Path, db_url: str) -> Iterator[LocalDesk]:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = Config(
        database=DatabaseConfig(db_url),
        storage=StorageConfig(directory=tmp_path / "files"),
        mailboxes=(MailboxConfig(name="helpdesk", kind="emldir", path=inbox),),
        smtp=SmtpConfig(transport="file", directory=tmp_path / "outbox", from_address=HELPDESK),
        classify=ClassifyConfig(model_dir=tmp_path / "model"),
        lifecycle=LifecycleConfig(staff_addresses=STAFF, reopen_window_days=3),
        run=RunConfig(lock_file=tmp_path / "mailtriage.lock"),
    )
    desk = LocalDesk(config, Database(db_url), inbox)
    yield desk
    desk.db.dispose()


def test_staff_answer_to_our_acknowledgement_and_staff_mail_about_nothing(
        local: LocalDesk) -> None:
    local.deliver(eml(sender="Jan <jan@klant.example>", subject="Webshop ligt eruit",
                      message_id="<w1@klant.example>", received=at(2, 9)))
    report = local.run(at(2, 9, 1))
    [(kind, number)] = [(o.kind, o.ticket_number) for o in report.details]
    assert kind == "ticket" and number is not None
    with local.db.session() as s:
        ack = s.scalar(select(OutboxItem.message_id).where(OutboxItem.kind == "ack"))
    assert ack is not None

    # Anna answers the customer's copy of our acknowledgement, the helpdesk in CC; only the
    # In-Reply-To ties it to the ticket (the subject names no number).
    local.deliver(eml(sender="anna@webbureau.example", subject="Re: uw melding",
                      message_id="<a1@webbureau.example>", in_reply_to=ack, cc=HELPDESK,
                      received=at(2, 9, 40), body="We zijn ermee bezig.\n"))
    # A look-alike domain is a customer: a new ticket.
    local.deliver(eml(sender="x@nietwebbureau.example", subject="Website geeft foutmelding",
                      message_id="<x1@nietwebbureau.example>", received=at(2, 9, 45)))
    # A staff member's own mail about no ticket opens none.
    local.deliver(eml(sender="bas@webbureau.example", subject="Lunch vrijdag?",
                      message_id="<b1@webbureau.example>", received=at(2, 9, 50),
                      body="Wie gaat er mee?\n"))
    report = local.run(at(2, 10))
    assert [(o.kind, o.ticket_number) for o in report.details] == [
        ("response", number), ("ticket", number + 1), ("ignored", None)]
    assert "answers a message of the ticket" in report.details[0].reason
    assert "refers to no ticket" in report.details[2].reason
    t = local.ticket(number)
    assert (t.first_response_at, t.status) == (at(2, 9, 40), "open")
    assert [e.actor for e in local.kinds(number, "response")] == ["anna@webbureau.example"]


def test_reopen_window_edges_and_a_closed_ticket(local: LocalDesk) -> None:
    # Three tickets Mon 2 March; window 3 days.
    for n in (1, 2, 3):
        local.deliver(eml(sender=f"k{n}@klant{n}.example", subject=f"Storing {n}",
                          message_id=f"<s{n}@klant{n}.example>", received=at(2, 9, n)))
    local.run(at(2, 9, 10))
    resolved = at(2, 15)
    apply_correction(local.config, local.db, 1001, actor="anna", status="resolved", now=resolved)
    apply_correction(local.config, local.db, 1002, actor="anna", status="resolved", now=resolved)
    apply_correction(local.config, local.db, 1003, actor="anna", status="closed", now=resolved)
    # Exactly three days after: still inside. One second more: outside. A closed ticket
    # reopens like a resolved one.
    window = timedelta(days=3)
    local.deliver(eml(sender="k1@klant1.example", subject="Re: Storing 1",
                      message_id="<r1@klant1.example>", in_reply_to="<s1@klant1.example>",
                      received=resolved + window, body="Het is terug.\n"))
    local.deliver(eml(sender="k2@klant2.example", subject="Re: Storing 2",
                      message_id="<r2@klant2.example>", in_reply_to="<s2@klant2.example>",
                      received=resolved + window + timedelta(seconds=1),
                      body="Het is terug.\n"))
    local.deliver(eml(sender="k3@klant3.example", subject="Re: Storing 3",
                      message_id="<r3@klant3.example>", in_reply_to="<s3@klant3.example>",
                      received=at(4, 9), body="Het is terug.\n"))
    report = local.run(at(5, 16))
    assert [(o.kind, o.ticket_number) for o in report.details] == [
        ("followup", 1001), ("ticket", 1004), ("followup", 1003)]
    assert local.ticket(1001).status == "open"
    assert local.ticket(1002).status == "resolved"
    assert local.ticket(1004).linked_ticket_id == local.ticket(1002).id
    third = local.ticket(1003)
    assert (third.status, third.resolved_at, third.closed_at) == ("open", None, None)
    assert [(e.data["from"], e.data["to"]) for e in local.kinds(1003, "status_changed")] == [
        ("new", "closed"), ("closed", "open")]


def test_customer_answer_to_a_staff_reply_from_a_mail_client_threads(local: LocalDesk) -> None:
    # The customer's client names only Anna's reply (In-Reply-To and References), and Anna's
    # subject carries no ticket number: the answer still belongs to the ticket.
    local.deliver(eml(sender="Jan <jan@klant.example>", subject="Webshop ligt eruit",
                      message_id="<w1@klant.example>", received=at(2, 9)))
    local.deliver(eml(sender="anna@webbureau.example", subject="Re: Webshop ligt eruit",
                      message_id="<a1@webbureau.example>", in_reply_to="<w1@klant.example>",
                      cc=HELPDESK, received=at(2, 9, 30), body="Welke browser?\n"))
    report = local.run(at(2, 9, 31))
    assert [o.kind for o in report.details] == ["ticket", "response"]
    apply_correction(local.config, local.db, 1001, actor="anna", status="waiting",
                     now=at(2, 9, 32))
    local.deliver(eml(sender="Jan <jan@klant.example>", subject="Re: Re: Webshop ligt eruit",
                      message_id="<w2@klant.example>", in_reply_to="<a1@webbureau.example>",
                      received=at(2, 11), body="Chrome.\n"))
    report = local.run(at(2, 11, 1))
    assert [(o.kind, o.ticket_number) for o in report.details] == [("followup", 1001)]
    assert local.ticket(1001).status == "open"
    assert [(e.data["from"], e.data["to"], e.at) for e in local.kinds(1001, "status_changed")][
        -1] == ("waiting", "open", at(2, 11))


def test_a_first_run_over_old_mail_makes_tickets_but_answers_only_recent_mail(
        local: LocalDesk) -> None:
    # A mailbox that held mail before mailtriage was installed, run first on Mon 9 March
    # 09:00: a week-old mail, one from Friday evening (63.5 hours: a weekend's outage) and one
    # from this morning. Limit: the default 72 hours.
    assert local.config.notify.reply_max_age_hours == 72
    for n, received in enumerate([at(2, 9), at(6, 17, 30), at(9, 8, 50)], start=1):
        local.deliver(eml(sender=f"k{n}@klant{n}.example", subject=f"Storing {n}",
                          message_id=f"<o{n}@klant{n}.example>", received=received))
    report = local.run(at(9, 9))
    assert [(o.kind, o.ticket_number) for o in report.details] == [
        ("ticket", 1001), ("ticket", 1002), ("ticket", 1003)]
    assert report.details[0].reply.startswith("none (no automatic reply: the mail reached us "
                                              "7 days ago, more than 72 hours")
    assert [o.reply for o in report.details[1:]] == [
        "ack to k2@klant2.example", "ack to k3@klant3.example"]
    with local.db.session() as s:
        acked = sorted(s.scalars(select(OutboxItem.recipient).where(OutboxItem.kind == "ack")))
    assert acked == ["k2@klant2.example", "k3@klant3.example"]
    [refusal] = local.kinds(1001, "no_reply")
    assert refusal.data["rule"] == "too-old"
    # The old mail's ticket is triaged as any other: staff see it with its commitments.
    old = local.ticket(1001)
    assert old.type is not None and old.status == "new"


def awaited(local: LocalDesk) -> list[str]:
    with local.db.session() as s:
        return sorted(s.scalars(select(AwaitedReference.ref)))


@pytest.mark.parametrize("same_run", [False, True])
def test_a_staff_answer_that_arrives_before_the_customers_mail_becomes_its_response(
        local: LocalDesk, same_run: bool) -> None:
    # Jan writes to Anna with the helpdesk in CC; the helpdesk's copy is greylisted until
    # 09:20, Anna answers at 09:05 with the helpdesk in CC.
    answer = eml(sender="anna@webbureau.example", subject="Re: Webshop ligt eruit",
                 message_id="<a1@webbureau.example>", in_reply_to="<w1@klant.example>",
                 cc=HELPDESK, received=at(2, 9, 5), body="We kijken ernaar.\n")
    customer = eml(sender="Jan <jan@klant.example>", subject="Webshop ligt eruit",
                   message_id="<w1@klant.example>", received=at(2, 9, 20))
    local.deliver(answer)
    if not same_run:
        first = local.run(at(2, 9, 10))
        [(kind, reason)] = [(o.kind, o.reason) for o in first.details]
        assert kind == "ignored"
        assert reason.endswith("refers to no ticket; ignored until the mail it answers arrives")
        assert awaited(local) == ["<w1@klant.example>"]
    local.deliver(customer)
    report = local.run(at(2, 9, 30))
    number = next(o.ticket_number for o in report.details if o.kind == "ticket")
    assert number is not None

    t = local.ticket(number)
    # The response never lies before the ticket's receipt: 09:20, not 09:05.
    assert (t.first_response_at, t.status) == (at(2, 9, 20), "open")
    [event] = local.kinds(number, "response")
    assert (event.at, event.actor, event.data["via"]) == (
        at(2, 9, 20), "anna@webbureau.example", "early")
    with local.db.session() as s:
        staff = s.scalar(select(Message).where(Message.message_id == "<a1@webbureau.example>"))
        assert staff is not None
        assert (staff.ticket_id, staff.outcome, staff.direction) == (t.id, "response", "out")
        assert "reached us after it" in staff.outcome_reason
    assert awaited(local) == []
    # Nothing changes on the next run.
    local.run(at(2, 10))
    assert len(local.kinds(number, "response")) == 1


def test_awaited_references_of_staff_mail_about_nothing_expire(local: LocalDesk) -> None:
    # An internal thread: answers to mail that never reaches the helpdesk.
    local.deliver(eml(sender="bas@webbureau.example", subject="Re: Lunch vrijdag?",
                      message_id="<b2@webbureau.example>", in_reply_to="<b1@webbureau.example>",
                      received=at(2, 9, 50), body="Ik ga mee.\n"))
    local.deliver(eml(sender="bas@webbureau.example", subject="Lunch vrijdag?",
                      message_id="<b3@webbureau.example>", received=at(2, 9, 55),
                      body="Wie gaat er mee?\n"))
    local.run(at(2, 10))
    assert awaited(local) == ["<b1@webbureau.example>"]  # a mail that answers nothing awaits none
    local.run(at(16, 9, 59))
    assert awaited(local) == ["<b1@webbureau.example>"]  # 14 days are not yet over
    local.run(at(16, 10, 1))
    assert awaited(local) == []


def test_a_reopened_ticket_does_not_count_the_time_it_was_resolved(local: LocalDesk) -> None:
    # High from Mon 2 March 09:00 (resolution 4 h: due 13:00), resolved at 11:00 in time; the
    # customer writes again on Wednesday 10:00 (inside the 3-day reopen window).
    local.deliver(eml(sender="Jan <jan@klant.example>", subject="Webshop ligt eruit",
                      message_id="<r1@klant.example>", received=at(2, 9)))
    local.run(at(2, 9, 1))
    apply_correction(local.config, local.db, 1001, actor="anna", priority="high",
                     now=at(2, 9, 5))
    apply_correction(local.config, local.db, 1001, actor="anna", status="resolved",
                     now=at(2, 11))
    local.deliver(eml(sender="Jan <jan@klant.example>", subject="Re: Webshop ligt eruit",
                      message_id="<r2@klant.example>", in_reply_to="<r1@klant.example>",
                      received=at(4, 10), body="Het is terug.\n"))
    local.run(at(4, 10, 1))
    ticket = local.ticket(1001)
    assert (ticket.status, ticket.resolved_at) == ("open", None)
    # 2 of the 4 hours were used before the resolution: 2 h left from the reopening.
    assert ticket.resolution_due == at(4, 12)
    with local.db.session() as s:
        t = s.scalar(select(Ticket).where(Ticket.number == 1001))
        assert t is not None
        clocks = clocks_for(s, t, CommitmentCalculator(local.config), at(4, 10, 30))
    assert clocks is not None
    assert (clocks.resolution.status, clocks.resolution.elapsed) == (
        "running", timedelta(hours=2, minutes=30))
