"""The ticket lifecycle against a real Dovecot: staff responses, waiting, reopening, linking.

Every test drives ``run_once`` over a fresh Dovecot user with an INBOX and a Sent folder. Receipt
and response times are the IMAP INTERNALDATEs given when the mail is appended; every ``Date:``
header says something else on purpose, so a test fails if the wrong one is read. Expected
instants are worked out by hand in the comments (office hours Monday to Friday 08:30-17:00,
Europe/Amsterdam; March 2026 has no public holidays, summer time starts on Sunday 29 March).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from mailtriage.config import (
    ClassifyConfig,
    Config,
    DatabaseConfig,
    LifecycleConfig,
    RunConfig,
    SmtpConfig,
    StorageConfig,
)
from mailtriage.services.clocks import clocks_for
from mailtriage.services.commitments import CommitmentCalculator
from mailtriage.services.corrections import apply_correction
from mailtriage.services.pipeline import RunReport, run_once
from mailtriage.services.staff_reply import send_staff_reply
from mailtriage.store.database import Database
from mailtriage.store.models import (
    Message,
    OutboxItem,
    Participant,
    Ticket,
    TicketEvent,
)
from tests.servers.dovecot import ImapMailbox

AMS = ZoneInfo("Europe/Amsterdam")
HELPDESK = "helpdesk@example.test"
STAFF = ("webbureau.example", "piet@freelance.example")


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """An instant in 2026, Amsterdam time."""
    return datetime(2026, month, day, hour, minute, tzinfo=AMS)


def mail(*, sender: str, subject: str, message_id: str, to: str = HELPDESK,
         cc: str | None = None, in_reply_to: str | None = None,
         references: Sequence[str] = (), body: str = "Goedemorgen,\n\nZie hieronder.\n",
         date: str = "Sun, 01 Feb 2026 03:00:00 +0100", extra: Sequence[str] = ()) -> bytes:
    """A plain mail with CRLF line ends. The default Date is far from every INTERNALDATE."""
    head = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Message-ID: {message_id}",
            f"Date: {date}", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    if cc:
        head.append(f"Cc: {cc}")
    if in_reply_to:
        head.append(f"In-Reply-To: {in_reply_to}")
    refs = list(references) or ([in_reply_to] if in_reply_to else [])
    if refs:
        head.append("References: " + " ".join(refs))
    head += list(extra)
    return ("\r\n".join(head) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()


OUTAGE = ("Goedemorgen,\n\nOnze webshop is sinds 09:45 volledig onbereikbaar. Klanten krijgen een "
          "foutmelding 500 en kunnen niets bestellen. Er is geen alternatief.\n\nGroet, Jan\n")


def outage(n: int = 1, *, sender: str | None = None) -> bytes:
    """A customer reporting a site that is down: an incident the rules call high."""
    return mail(sender=sender or f"Jan <jan{n}@klant{n}.example>",
                subject=f"Webshop ligt eruit ({n})", message_id=f"<outage-{n}@klant{n}.example>",
                body=OUTAGE)


@dataclass
class Desk:
    """The helpdesk of one test: its Dovecot user, configuration and database."""

    box: ImapMailbox
    config: Config
    db: Database

    def run(self, now: datetime) -> RunReport:
        report = run_once(self.config, now=lambda: now)
        assert not [m.error for m in report.mailboxes if m.error], report.mailboxes
        return report

    def ticket(self, number: int) -> Ticket:
        with self.db.session() as s:
            t = s.scalar(select(Ticket).where(Ticket.number == number))
            assert t is not None
            s.expunge(t)
            return t

    def events(self, number: int, kind: str | None = None) -> list[TicketEvent]:
        with self.db.session() as s:
            query = (select(TicketEvent).join(Ticket, Ticket.id == TicketEvent.ticket_id)
                     .where(Ticket.number == number).order_by(TicketEvent.id))
            if kind:
                query = query.where(TicketEvent.kind == kind)
            rows = list(s.scalars(query))
            s.expunge_all()
            return rows

    def count(self, model: type[object]) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)

    def outbox(self, number: int, kind: str | None = None) -> list[OutboxItem]:
        with self.db.session() as s:
            query = (select(OutboxItem).join(Ticket, Ticket.id == OutboxItem.ticket_id)
                     .where(Ticket.number == number).order_by(OutboxItem.id))
            if kind:
                query = query.where(OutboxItem.kind == kind)
            rows = list(s.scalars(query))
            s.expunge_all()
            return rows

    def snapshot(self) -> tuple[int, ...]:
        """Row counts that a run over mail already seen must leave alone."""
        return tuple(self.count(m) for m in (Ticket, Message, TicketEvent, OutboxItem,
                                             Participant))


def make_desk(box: ImapMailbox, tmp_path: Path, reopen_window_days: int = 14) -> Desk:
    with box.server.client(box.user) as client:
        client.create_folder("Sent")
    config = Config(
        database=DatabaseConfig(f"sqlite:///{tmp_path / 'mailtriage.db'}"),
        storage=StorageConfig(directory=tmp_path / "files"),
        mailboxes=(box.config(sent_folder="Sent"),),
        smtp=SmtpConfig(transport="file", directory=tmp_path / "outbox", from_address=HELPDESK),
        classify=ClassifyConfig(model_dir=tmp_path / "model"),
        lifecycle=LifecycleConfig(staff_addresses=STAFF, reopen_window_days=reopen_window_days),
        run=RunConfig(lock_file=tmp_path / "mailtriage.lock"),
    )
    return Desk(box, config, Database(config.database.url))


@pytest.fixture
def desk(imap_mailbox: ImapMailbox, tmp_path: Path) -> Iterator[Desk]:
    made = make_desk(imap_mailbox, tmp_path)
    yield made
    made.db.dispose()


def open_outage(desk: Desk, received: datetime, n: int = 1) -> Ticket:
    """Deliver an outage report at ``received`` and run a minute later: the new ticket."""
    desk.box.append(outage(n), internaldate=received)
    report = desk.run(received + timedelta(minutes=1))
    assert [o.kind for o in report.details] == ["ticket"], report.details
    number = report.details[0].ticket_number
    assert number is not None
    t = desk.ticket(number)
    # The scenario needs a high incident; the rules decide that for this text.
    assert (t.type, t.priority, t.status) == ("incident", "high", "new"), t.reasons
    return t


# ---------------------------------------------------------------------------------------------
# Responses by staff


def test_sent_folder_reply_is_the_response_and_our_own_copy_is_not(desk: Desk) -> None:
    # Tue 3 March 10:00: high incident, response due 12:00.
    t = open_outage(desk, at(3, 10))
    assert t.response_due == at(3, 12)
    [ack] = desk.outbox(t.number, "ack")
    assert ack.message_id.startswith("<mt.")

    # Our acknowledgement's copy lands in Sent (as a submission server files it): same
    # Message-ID as the outbox row. It is no response by a person.
    desk.box.append(ack.body, internaldate=at(3, 10, 1), folder="Sent")
    before = desk.snapshot()
    report = desk.run(at(3, 10, 30))
    sent = [o for o in report.details if o.kind != "duplicate"]
    assert [o.kind for o in sent] == ["ignored"], sent
    assert "sent itself" in sent[0].reason
    t = desk.ticket(t.number)
    assert t.first_response_at is None and t.status == "new"
    assert desk.events(t.number, "response") == []
    assert desk.snapshot()[1] == before[1] + 1  # the copy is kept, marked ignored

    # Two replies written by staff from the helpdesk account, filed in Sent. The later one is
    # appended first, so UID order is not time order; the earliest INTERNALDATE counts.
    customer_id = "<outage-1@klant1.example>"
    later = mail(sender=f"Helpdesk <{HELPDESK}>", to="jan1@klant1.example",
                 subject="Re: Webshop ligt eruit (1)", message_id="<r2@mua.webbureau.example>",
                 in_reply_to=customer_id, date="Tue, 03 Mar 2026 12:59:00 +0100",
                 body="De webshop draait weer.\n")
    first = mail(sender=f"Anna <{HELPDESK}>", to="jan1@klant1.example",
                 subject="Re: Webshop ligt eruit (1)", message_id="<r1@mua.webbureau.example>",
                 in_reply_to=customer_id, date="Tue, 03 Mar 2026 10:20:00 +0100",
                 body="We kijken ernaar.\n")
    desk.box.append(later, internaldate=at(3, 13), folder="Sent")
    desk.box.append(first, internaldate=at(3, 11, 15), folder="Sent")
    report = desk.run(at(3, 13, 5))
    assert sorted(o.kind for o in report.details) == ["response", "response"], report.details
    t = desk.ticket(t.number)
    assert t.first_response_at == at(3, 11, 15)  # the INTERNALDATE, not Date: 10:20
    assert t.status == "open"
    assert sorted(e.at for e in desk.events(t.number, "response")) == [at(3, 11, 15), at(3, 13)]
    with desk.db.session() as s:
        outs = s.scalars(select(Message).where(Message.direction == "out",
                                               Message.ticket_id == t.id)).all()
        assert sorted(m.outcome for m in outs) == ["response", "response"]
        ticket = s.get(Ticket, t.id)
        assert ticket is not None
        clocks = clocks_for(s, ticket, CommitmentCalculator(desk.config), at(3, 13, 5))
        assert clocks is not None
        assert (clocks.response.status, clocks.response.stopped_at) == ("met", at(3, 11, 15))
    status_events = desk.events(t.number, "status_changed")
    assert status_events == []  # new -> open by a response is the response event itself

    # Nothing is recorded twice: the next runs fetch nothing and change nothing.
    before = desk.snapshot()
    report = desk.run(at(3, 13, 10))
    assert [m.fetched for m in report.mailboxes] == [0, 0]
    assert desk.snapshot() == before
    assert desk.ticket(t.number).first_response_at == at(3, 11, 15)


def test_staff_reply_by_cc_in_the_inbox_is_the_response(desk: Desk) -> None:
    t = open_outage(desk, at(3, 10))
    customer_id = "<outage-1@klant1.example>"
    # Anna's out-of-office answers the customer's mail with the helpdesk in copy: automatic,
    # so never a response, even from a staff address.
    desk.box.append(mail(
        sender="Anna de Vries <anna@webbureau.example>", to="jan1@klant1.example", cc=HELPDESK,
        subject="Automatisch antwoord: Webshop ligt eruit (1)",
        message_id="<ooo-1@webbureau.example>", in_reply_to=customer_id,
        extra=["Auto-Submitted: auto-replied"], body="Ik ben afwezig tot maandag.\n"),
        internaldate=at(3, 10, 5))
    # Bas answers from his own staff address, helpdesk in copy.
    desk.box.append(mail(
        sender="Bas <bas@support.webbureau.example>", to="jan1@klant1.example", cc=HELPDESK,
        subject="RE: Webshop ligt eruit (1)", message_id="<bas-1@webbureau.example>",
        in_reply_to=customer_id, body="We hebben de server herstart.\n"),
        internaldate=at(3, 10, 40))
    # A freelancer listed by address refers to the ticket by number only.
    desk.box.append(mail(
        sender="piet@freelance.example", to="jan1@klant1.example", cc=HELPDESK,
        subject=f"Webshop [#{t.number}]", message_id="<piet-1@freelance.example>",
        body="Ik heb de cache geleegd.\n"), internaldate=at(3, 10, 50))
    report = desk.run(at(3, 11))
    kinds = [(o.kind, o.ticket_number) for o in report.details]
    assert kinds == [("ignored", None), ("response", t.number), ("response", t.number)]
    assert "automatic" in report.details[0].reason
    assert desk.count(Ticket) == 1
    t = desk.ticket(t.number)
    assert t.first_response_at == at(3, 10, 40)
    assert t.status == "open"
    responses = desk.events(t.number, "response")
    assert [(e.at, e.actor) for e in responses] == [
        (at(3, 10, 40), "bas@support.webbureau.example"),
        (at(3, 10, 50), "piet@freelance.example")]
    with desk.db.session() as s:
        staff = set(s.scalars(select(Participant.address).where(
            Participant.ticket_id == t.id, Participant.role == "staff")))
    assert staff == {"bas@support.webbureau.example", "piet@freelance.example"}
    # A staff mail answers nobody a second time: no acknowledgement, no follow-up reply.
    assert [o.kind for o in desk.outbox(t.number)] == ["ack"]

    before = desk.snapshot()
    report = desk.run(at(3, 11, 5))
    assert [m.fetched for m in report.mailboxes] == [0, 0]
    assert desk.snapshot() == before


def test_a_reply_stamped_before_the_helpdesk_received_the_mail_counts_at_receipt(
        desk: Desk) -> None:
    # Anna answered from her own mailbox, where the customer's mail arrived first; the
    # helpdesk copy was delivered 45 seconds after her reply was filed. The response cannot
    # lie before the ticket's receipt: it counts at receipt, and every clock still works.
    desk.box.append(outage(), internaldate=at(3, 10))
    desk.box.append(mail(
        sender="Anna <anna@webbureau.example>", to="jan1@klant1.example",
        subject="Re: Webshop ligt eruit (1)", message_id="<quick@webbureau.example>",
        in_reply_to="<outage-1@klant1.example>", body="We zijn ermee bezig.\n"),
        internaldate=at(3, 9, 59) + timedelta(seconds=15), folder="Sent")
    report = desk.run(at(3, 10, 1))
    assert [o.kind for o in report.details] == ["ticket", "response"], report.details
    assert not report.problems
    number = report.details[0].ticket_number
    assert number is not None
    t = desk.ticket(number)
    assert (t.first_response_at, t.status) == (at(3, 10), "open")
    with desk.db.session() as s:
        ticket = s.get(Ticket, t.id)
        assert ticket is not None
        clocks = clocks_for(s, ticket, CommitmentCalculator(desk.config), at(3, 10, 1))
    assert clocks is not None and clocks.response.status == "met"
    # The next run's staff alerts read the clocks too.
    assert not desk.run(at(3, 10, 2)).problems


def test_one_staff_reply_seen_in_sent_and_in_the_inbox_is_one_response(desk: Desk) -> None:
    # Anna's client files her sent mail in the shared helpdesk mailbox's Sent folder, and she
    # put the helpdesk in CC: a second copy arrives in the INBOX, with a Received line.
    t = open_outage(desk, at(3, 10))
    reply = mail(sender="Anna <anna@webbureau.example>", to="jan1@klant1.example", cc=HELPDESK,
                 subject="Re: Webshop ligt eruit (1)", message_id="<both@webbureau.example>",
                 in_reply_to="<outage-1@klant1.example>", body="We zijn ermee bezig.\n")
    desk.box.append(reply, internaldate=at(3, 10, 20), folder="Sent")
    delivered = b"Received: from mua by mx.example.test; Tue, 3 Mar 2026 10:20:02 +0100\r\n"
    desk.box.append(delivered + reply, internaldate=at(3, 10, 20) + timedelta(seconds=2))
    report = desk.run(at(3, 10, 30))
    assert sorted(o.kind for o in report.details) == ["ignored", "response"], report.details
    assert [e.at for e in desk.events(t.number, "response")] == [at(3, 10, 20)]
    assert desk.ticket(t.number).first_response_at == at(3, 10, 20)


# ---------------------------------------------------------------------------------------------
# Waiting on the customer


def test_waiting_pauses_the_resolution_clock_until_the_customer_answers(desk: Desk) -> None:
    # Tue 3 March 10:00, high: response due 12:00, resolution due 14:00 (4 office hours).
    t = open_outage(desk, at(3, 10))
    assert (t.response_due, t.resolution_due) == (at(3, 12), at(3, 14))

    reply = send_staff_reply(desk.config, desk.db, t.number, actor="anna@webbureau.example",
                             text="Welke browser gebruikt u?", now=at(3, 11),
                             then_status="waiting")
    assert reply.status == "waiting" and reply.first_response
    t = desk.ticket(t.number)
    assert t.first_response_at == at(3, 11)
    # While waiting, the due shown is the one that holds if the customer answers now.
    assert t.resolution_due == at(3, 14)
    desk.run(at(3, 11, 1))  # delivers the reply (file transport)

    # The customer answers Wed 4 March 09:30, threaded to our reply.
    desk.box.append(mail(
        sender="Jan <jan1@klant1.example>", subject="Re: Webshop ligt eruit (1)",
        message_id="<answer-1@klant1.example>", in_reply_to=reply.message_id,
        references=["<outage-1@klant1.example>", reply.message_id],
        body="Chrome en Firefox, allebei dezelfde fout.\n"), internaldate=at(4, 9, 30))
    report = desk.run(at(4, 9, 35))
    assert [(o.kind, o.ticket_number) for o in report.details] == [("followup", t.number)]
    t = desk.ticket(t.number)
    assert t.status == "open"
    resumed = desk.events(t.number, "status_changed")
    assert [(e.data["from"], e.data["to"], e.at) for e in resumed] == [
        ("new", "waiting", at(3, 11)), ("waiting", "open", at(4, 9, 30))]
    # Paused Tue 11:00-17:00 (6 h) and Wed 08:30-09:30 (1 h): 7 office hours. Elapsed before
    # the pause 1 h (10:00-11:00), so 3 h remain from Wed 09:30: due Wed 12:30, which is the
    # original Tue 14:00 moved on by the 7 paused office hours (3 h Tue, 4 h Wed).
    assert t.resolution_due == at(4, 12, 30)
    assert t.response_due == at(3, 12)  # the response clock never pauses
    with desk.db.session() as s:
        ticket = s.get(Ticket, t.id)
        assert ticket is not None
        clocks = clocks_for(s, ticket, CommitmentCalculator(desk.config), at(4, 9, 35))
    assert clocks is not None
    assert clocks.resolution.due == at(4, 12, 30)
    assert clocks.resolution.status == "running"
    assert clocks.resolution.elapsed.total_seconds() == 3600 + 5 * 60  # 1 h + 09:30-09:35

    # Resolving at 12:00 meets the moved deadline (the original one was missed long ago).
    apply_correction(desk.config, desk.db, t.number, actor="anna", status="resolved",
                     now=at(4, 12))
    t = desk.ticket(t.number)
    assert (t.status, t.resolved_at, t.resolution_due) == ("resolved", at(4, 12), at(4, 12, 30))


# ---------------------------------------------------------------------------------------------
# Late replies: reopen within the window, a linked ticket after it


def test_late_reply_reopens_within_the_window_and_opens_a_linked_ticket_after(
        imap_mailbox: ImapMailbox, tmp_path: Path) -> None:
    desk = make_desk(imap_mailbox, tmp_path, reopen_window_days=5)
    try:
        # Mon 2 March: two outages, both resolved the same afternoon.
        first = open_outage(desk, at(2, 9), n=1)
        second = open_outage(desk, at(2, 9, 30), n=2)
        for t in (first, second):
            apply_correction(desk.config, desk.db, t.number, actor="anna", status="resolved",
                             now=at(2, 15))
        [ack] = desk.outbox(first.number, "ack")

        # Fri 6 March 10:00 (3 days 19 hours later, inside 5 days): the first customer writes
        # again, answering our acknowledgement. The ticket reopens.
        desk.box.append(mail(
            sender="Jan <jan1@klant1.example>", subject="Re: Webshop ligt eruit (1)",
            message_id="<again-1@klant1.example>", in_reply_to=ack.message_id,
            body="Hij ligt er weer uit.\n"), internaldate=at(6, 10))
        # Mon 9 March 10:00 (6 days 19 hours later): the second customer answers their own
        # first mail. Too late to reopen: a new ticket linked to the old one.
        desk.box.append(mail(
            sender="Jan <jan2@klant2.example>", subject="Re: Webshop ligt eruit (2)",
            message_id="<again-2@klant2.example>", in_reply_to="<outage-2@klant2.example>",
            body="De webshop is opnieuw onbereikbaar, niemand kan bestellen.\n"),
            internaldate=at(9, 10))
        report = desk.run(at(9, 10, 5))
        kinds = [(o.kind, o.ticket_number) for o in report.details]
        assert kinds == [("followup", first.number), ("ticket", second.number + 1)]

        reopened = desk.ticket(first.number)
        assert (reopened.status, reopened.resolved_at, reopened.closed_at) == ("open", None, None)
        changes = desk.events(first.number, "status_changed")
        assert [(e.data["from"], e.data["to"], e.at) for e in changes] == [
            ("new", "resolved", at(2, 15)), ("resolved", "open", at(6, 10))]

        old = desk.ticket(second.number)
        assert (old.status, old.resolved_at) == ("resolved", at(2, 15))
        new = desk.ticket(second.number + 1)
        assert new.linked_ticket_id == old.id
        assert new.received_at == at(9, 10)
        assert new.status == "new"
        assert "linked" in report.details[1].reason
        # The new ticket is acknowledged like any new one.
        assert [o.kind for o in desk.outbox(new.number)] != []

        before = desk.snapshot()
        report = desk.run(at(9, 10, 10))
        assert [m.fetched for m in report.mailboxes] == [0, 0]
        assert desk.snapshot() == before
    finally:
        desk.db.dispose()
