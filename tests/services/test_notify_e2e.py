"""The whole pipeline against a real Dovecot (IMAPS with the test CA) and a real aiosmtpd.

Mail is appended to a fresh Dovecot user with an INTERNALDATE, ``run_once`` reads, classifies,
stores, answers and delivers, and the bytes aiosmtpd received are checked. Time is a clock the
test moves forward. Deadlines are worked out by hand with the default calendar (Monday to Friday
08:30-17:00, Europe/Amsterdam) and targets (high: response 2 h, resolution 4 h; medium: 8 h and
16 h); the customer domain klant.example has sla = "guaranteed".
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from mailtriage.cli.main import root
from mailtriage.config import (
    ClassifyConfig,
    Config,
    CustomerConfig,
    DatabaseConfig,
    NotifyConfig,
    RunConfig,
    SlaConfig,
    StorageConfig,
)
from mailtriage.services.corrections import apply_correction
from mailtriage.services.delivery import requeue
from mailtriage.services.pipeline import RunReport, run_once
from mailtriage.store.database import Database
from mailtriage.store.models import OutboxItem, Ticket, TicketEvent
from tests.servers.dovecot import ImapMailbox
from tests.servers.smtp import ReceivedMessage, SmtpTestServer, closed_port

AMS = ZoneInfo("Europe/Amsterdam")
CUSTOMER = "jan@klant.example"
STAFF = "dienst@example.test"

INCIDENT_NL = ("Website ligt volledig plat", """Goedemorgen,

Onze website geeft sinds vanochtend een foutmelding 500 en is volledig onbereikbaar. Klanten
kunnen niets meer bestellen in de webshop. Kunnen jullie dit met spoed oppakken?

Met vriendelijke groet,
Jan de Vries
""")
SLOW_NL = ("Zoekfunctie traag", """Hallo,

De zoekfunctie op onze site is erg traag, het duurt soms 10 seconden voordat er resultaten
komen. Kunnen jullie daar naar kijken?

Groet, Jan
""")
CHANGE_EN = ("New field on the contact form", """Hello,

Could you please add a phone number field to the contact form on our website? It would be
nice to have it next month.

Kind regards,
Emma Smith
""")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in March 2025 in Amsterdam (CET, UTC+1)."""
    return datetime(2025, 3, day, hour, minute, tzinfo=AMS)


@dataclass
class Clock:
    """The run's ``now``; the test moves it."""

    at: datetime

    def __call__(self) -> datetime:
        return self.at.astimezone(UTC)


def mail(subject: str, body: str, *, sender: str = f"Jan de Vries <{CUSTOMER}>",
         date: datetime | None = None, headers: dict[str, str] | None = None,
         raw_subject: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "Helpdesk <helpdesk@example.test>"
    msg["Date"] = format_datetime(date or local(11, 10))
    msg["Message-ID"] = make_msgid(domain="klant.example")
    if raw_subject is None:
        msg["Subject"] = subject
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    data = msg.as_bytes(policy=policy.SMTP)
    if raw_subject is not None:  # exactly as given, encoded words and all
        data = f"Subject: {raw_subject}\r\n".encode() + data
    return data


def make_config(tmp_path: Path, mailbox: ImapMailbox, smtp: SmtpTestServer,
                **notify: Any) -> Config:
    return Config(
        database=DatabaseConfig(url=f"sqlite:///{tmp_path / 'mailtriage.db'}"),
        storage=StorageConfig(directory=tmp_path / "files"),
        mailboxes=(mailbox.config(),),
        smtp=smtp.smtp_config(),
        sla=SlaConfig(customers=(CustomerConfig("klant.example", "guaranteed", "Klant BV"),)),
        classify=ClassifyConfig(model_dir=tmp_path / "model"),
        notify=NotifyConfig(**notify),
        run=RunConfig(lock_file=tmp_path / "mailtriage.lock"),
    )


def run(config: Config, clock: Clock) -> RunReport:
    return run_once(config, now=clock)


def parsed(message: ReceivedMessage) -> EmailMessage:
    return cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(message.data))


def raw_header(data: bytes, name: str) -> str:
    """One header's value as RFC 5322 reads it: unfolded (CRLF before white space removed) and
    without the white space after the colon."""
    head = data.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ").replace(b"\r\n\t", b"\t")
    values = [line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
              if line.lower().startswith(name.lower().encode() + b":")]
    assert len(values) == 1, f"{name}: {values}"
    return values[0].decode()


def text_of(message: ReceivedMessage) -> str:
    part = parsed(message).get_body(("plain",))
    assert part is not None
    return " ".join(cast(EmailMessage, part).get_content().split())


def header_names(data: bytes) -> list[str]:
    """The header field names of a message, read from its bytes (folded lines joined)."""
    head = data.split(b"\r\n\r\n", 1)[0]
    return [line.split(b":", 1)[0].decode().lower() for line in head.split(b"\r\n")
            if line and not line[:1].isspace()]


def outbox(config: Config) -> list[OutboxItem]:
    db = Database(config.database.url)
    try:
        with db.session() as s:
            return list(s.scalars(select(OutboxItem).order_by(OutboxItem.id)).all())
    finally:
        db.dispose()


def events(config: Config, kind: str) -> list[dict[str, Any]]:
    db = Database(config.database.url)
    try:
        with db.session() as s:
            return [e.data for e in s.scalars(select(TicketEvent).where(TicketEvent.kind == kind)
                                              .order_by(TicketEvent.id))]
    finally:
        db.dispose()


def ticket_json(config: Config, number: int) -> dict[str, Any]:
    """``mailtriage tickets show NUMBER --json``, the public contract."""
    toml = config.database.url.split("///", 1)[1] + ".toml"
    Path(toml).write_text(f'[database]\nurl = "{config.database.url}"\n')
    result = CliRunner().invoke(root, ["--config", toml, "tickets", "show", str(number),
                                       "--json"])
    assert result.exit_code == 0, result.output
    return cast(dict[str, Any], json.loads(result.output))


# -- what the customer gets --------------------------------------------------------------------


def test_dutch_high_incident_gets_one_dutch_reply_with_its_deadlines_and_staff_an_alert(
        tmp_path: Path, imap_mailbox: ImapMailbox, smtp_server_starttls: SmtpTestServer) -> None:
    smtp = smtp_server_starttls
    config = make_config(tmp_path, imap_mailbox, smtp, staff_alert_address=STAFF)
    imap_mailbox.append(mail(*INCIDENT_NL), internaldate=local(11, 10))
    clock = Clock(local(11, 10, 1))
    report = run(config, clock)
    assert report.exit_status == 0
    assert report.delivery is not None and report.delivery.sent == 2
    assert report.alerts is not None and report.alerts.items == 1
    to_customer = [m for m in smtp.messages if m.rcpt_tos == [CUSTOMER]]
    to_staff = [m for m in smtp.messages if m.rcpt_tos == [STAFF]]
    assert len(to_customer) == 1 and len(to_staff) == 1 and len(smtp.messages) == 2

    reply = to_customer[0]
    assert reply.tls  # STARTTLS, verified against the test CA
    assert reply.mail_from == "<>"  # RFC 3834: the null envelope sender for an auto-reply
    msg = parsed(reply)
    assert msg["Subject"] == "Re: Website ligt volledig plat [#1001]"
    assert msg["To"] == f"Jan de Vries <{CUSTOMER}>"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["Content-Language"] == "nl"
    text = text_of(reply)
    # Received Tue 11 March 10:00, high, guaranteed: response 2 office hours -> 12:00,
    # resolution 4 office hours -> 14:00.
    assert "Beste Jan de Vries," in text
    assert "prioriteit hoog" in text
    assert "een medewerker reageert uiterlijk dinsdag 11 maart om 12:00" in text
    assert "Deze reactietermijn garanderen we volgens uw SLA" in text
    assert "incident uiterlijk dinsdag 11 maart om 14:00 op te lossen" in text
    assert "[#1001]" in msg["Subject"]

    assert raw_header(to_staff[0].data, "Subject") == (
        "Nieuw incident met hoge prioriteit: Website ligt volledig plat [#1001]")
    assert to_staff[0].mail_from == "helpdesk@example.test"

    data = ticket_json(config, 1001)
    assert (data["type"], data["priority"], data["sla"], data["language"]) == (
        "incident", "high", "guaranteed", "nl")
    assert data["received_at"] == "2025-03-11T10:00:00+01:00"
    assert data["response_due"] == "2025-03-11T12:00:00+01:00"
    assert data["resolution_due"] == "2025-03-11T14:00:00+01:00"
    assert data["needs_review"] is False
    assert [(o["kind"], o["status"], o["to"]) for o in data["outbox"]] == [
        ("ack", "sent", [CUSTOMER])]

    # Nothing new: a second run sends nothing more.
    clock.at = local(11, 10, 2)
    report = run(config, clock)
    assert report.delivery is None and len(smtp.messages) == 2


def test_english_change_request_gets_an_english_reply_with_target_terms(
        tmp_path: Path, imap_mailbox: ImapMailbox, smtp_server: SmtpTestServer) -> None:
    config = make_config(tmp_path, imap_mailbox, smtp_server)
    imap_mailbox.append(mail(*CHANGE_EN, sender="Emma Smith <emma@klant.example>"),
                        internaldate=local(11, 10))
    run(config, Clock(local(11, 10, 1)))
    [reply] = smtp_server.messages
    assert reply.rcpt_tos == ["emma@klant.example"]
    msg = parsed(reply)
    assert msg["Subject"] == "Re: New field on the contact form [#1001]"
    assert msg["Content-Language"] == "en"
    text = text_of(reply)
    assert "Dear Emma Smith," in text
    assert "Your request is for a change" in text
    assert "At the current workload (low) our target terms are:" in text
    # One open change of unknown size (counted as 4 h) against 40 h capacity: low workload,
    # so the service page's low terms: 0-4 h 1-2 weeks, 4-8 h 2-3 weeks, more: agreed.
    assert "0 to 4 hours of work: 1 to 2 weeks" in text
    assert "4 to 8 hours of work: 2 to 3 weeks" in text
    assert "more than 8 hours of work: a deadline agreed with you" in text
    assert "uiterlijk" not in text and "Beste" not in text
    data = ticket_json(config, 1001)
    assert (data["type"], data["priority"], data["response_due"], data["language"]) == (
        "change", None, None, "en")


def test_out_of_office_and_bounce_of_our_reply_get_nothing(
        tmp_path: Path, imap_mailbox: ImapMailbox, smtp_server: SmtpTestServer) -> None:
    config = make_config(tmp_path, imap_mailbox, smtp_server)
    imap_mailbox.append(mail(*INCIDENT_NL), internaldate=local(11, 10))
    clock = Clock(local(11, 10, 1))
    run(config, clock)
    [reply] = smtp_server.messages
    our_id = parsed(reply)["Message-ID"]

    ooo = mail("Automatisch antwoord: Re: Website ligt volledig plat [#1001]",
               "Ik ben afwezig tot 17 maart. Voor spoed: bel 020-1234567.\n",
               headers={"Auto-Submitted": "auto-replied", "In-Reply-To": our_id,
                        "References": our_id})
    bounce = (
        b"Return-Path: <>\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx.klant.example>\r\n"
        b"To: helpdesk@example.test\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        b"Date: Tue, 11 Mar 2025 10:03:00 +0100\r\nMessage-ID: <bounce1@mx.klant.example>\r\n"
        b"Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.klant.example"
        b"\r\n\r\nFinal-Recipient: rfc822; jan@klant.example\r\nAction: failed\r\n"
        b"Status: 5.1.1\r\n\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        b"From: Helpdesk <helpdesk@example.test>\r\nTo: jan@klant.example\r\n"
        b"Message-ID: " + our_id.encode() + b"\r\nSubject: Re: Website ligt volledig plat"
        b" [#1001]\r\n\r\n--B--\r\n")
    stray_ooo = mail("Out of Office", "I am out of the office until Monday.\n",
                     sender="Piet <piet@elders.example>",
                     headers={"Auto-Submitted": "auto-replied"})
    for data in (ooo, bounce, stray_ooo):
        imap_mailbox.append(data, internaldate=local(11, 10, 3))
    clock.at = local(11, 10, 5)
    report = run(config, clock)
    assert [o.kind for o in report.details] == ["attached", "attached", "ignored"]
    assert all(o.ticket_number in (1001, None) for o in report.details)
    assert report.delivery is None
    assert len(smtp_server.messages) == 1
    assert [o.kind for o in outbox(config)] == ["ack"]
    with Database(config.database.url).session() as s:
        assert s.scalar(select(Ticket.number).order_by(Ticket.number.desc()).limit(1)) == 1001


def test_fifty_mails_from_one_sender_in_a_minute_get_at_most_the_rate_limit(
        tmp_path: Path, imap_mailbox: ImapMailbox, smtp_server: SmtpTestServer) -> None:
    config = make_config(tmp_path, imap_mailbox, smtp_server)
    limit = config.notify.rate_limit_count
    with imap_mailbox.server.client(imap_mailbox.user) as c:
        for i in range(50):
            c.append("INBOX", mail(f"Vraag {i} over de factuur",
                                   f"Hallo, ik heb vraag nummer {i} over factuur {1000 + i}.\n"),
                     msg_time=local(11, 10) + timedelta(seconds=i))
    report = run(config, Clock(local(11, 10, 1)))
    assert report.mailboxes[0].count("ticket") == 50
    assert len(smtp_server.messages) == limit == 3
    assert all(m.rcpt_tos == [CUSTOMER] for m in smtp_server.messages)
    refused = events(config, "no_reply")
    assert len(refused) == 50 - limit
    assert {e["rule"] for e in refused} == {"rate-limit"}
    # An hour later the window (a day) still holds: the 51st mail gets no reply either.
    imap_mailbox.append(mail("Nog een vraag", "Hallo, nog een vraag.\n"),
                        internaldate=local(11, 11))
    run(config, Clock(local(11, 11, 1)))
    assert len(smtp_server.messages) == limit


# -- delivery between batches ------------------------------------------------------------------


def _stored_at_each_delivery(config: Config, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many mails were stored each time a delivery pass began."""
    import mailtriage.services.delivery as delivery

    real = delivery.deliver_due
    seen: list[int] = []

    def watched(db: Database, *args: Any, **kwargs: Any) -> Any:
        with db.session() as s:
            seen.append(len(s.scalars(select(Ticket.id)).all()))
        return real(db, *args, **kwargs)

    monkeypatch.setattr(delivery, "deliver_due", watched)
    return seen


def _five_customers(imap_mailbox: ImapMailbox) -> None:
    for n in range(5):
        imap_mailbox.append(mail(*INCIDENT_NL, sender=f"Klant {n} <klant{n}@klant.example>"),
                            internaldate=local(11, 10))


def test_the_replies_of_a_batch_go_out_before_the_next_batch_is_stored(
        tmp_path: Path, imap_mailbox: ImapMailbox, smtp_server: SmtpTestServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config(tmp_path, imap_mailbox, smtp_server)
    config = replace(config, mailboxes=(imap_mailbox.config(batch_size=2),))
    _five_customers(imap_mailbox)
    stored = _stored_at_each_delivery(config, monkeypatch)
    report = run(config, Clock(local(11, 10, 1)))
    # Batches of 2, 2 and 1: each is answered right after its commit, the end of the run
    # finds nothing left to send.
    assert stored == [2, 4, 5]
    assert report.delivery is not None and report.delivery.sent == 5
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == [
        f"klant{n}@klant.example" for n in range(5)]
    run(config, Clock(local(11, 10, 2)))
    assert len(smtp_server.messages) == 5


def test_each_batch_sends_its_replies_over_one_smtp_session(
        tmp_path: Path, imap_mailbox: ImapMailbox, smtp_server: SmtpTestServer) -> None:
    config = make_config(tmp_path, imap_mailbox, smtp_server)
    config = replace(config, mailboxes=(imap_mailbox.config(batch_size=2),))
    _five_customers(imap_mailbox)
    run(config, Clock(local(11, 10, 1)))
    got = smtp_server.wait_for(5)
    # Batches of 2, 2 and 1: one session each, closed while the next batch is stored.
    sessions = [m.peer for m in got]
    assert sessions[0] == sessions[1] != sessions[2] == sessions[3] != sessions[4]
    assert len(set(sessions)) == 3


def test_a_server_that_cannot_take_mail_is_tried_once_between_batches_not_after_each(
        tmp_path: Path, imap_mailbox: ImapMailbox, smtp_server: SmtpTestServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config(tmp_path, imap_mailbox, smtp_server)
    config = replace(config, mailboxes=(imap_mailbox.config(batch_size=2),),
                     smtp=replace(config.smtp, port=closed_port()))
    _five_customers(imap_mailbox)
    stored = _stored_at_each_delivery(config, monkeypatch)
    report = run(config, Clock(local(11, 10, 1)))
    # The first pass finds the server down; the rest wait for the end of the run, whose pass
    # sends what is due (the later batches' replies; the first two wait for their retry).
    assert stored == [2, 5]
    assert report.mailboxes[0].count("ticket") == 5
    assert report.delivery is not None
    assert (report.delivery.sent, report.delivery.retry_later) == (0, 5)
    assert [o.status for o in outbox(config)] == ["pending"] * 5


# -- delivery under failure --------------------------------------------------------------------

CRASH_SCRIPT = """
import os, pickle, sys
from datetime import datetime
point = sys.argv[3]
if point == "before-delivery":  # the first delivery pass comes right after the batch commit
    import mailtriage.services.delivery as delivery
    delivery.deliver_due = lambda *args, **kwargs: os._exit(17)
elif point == "in-send":
    import mailtriage.notify.smtp as smtp
    smtp.SmtpTransport.send = lambda self, *args, **kwargs: os._exit(17)
else:  # after DATA was accepted: the message may be on its way
    import mailtriage.notify.smtp as smtp

    def send_then_die(self, *args, before_data=None, **kwargs):
        before_data()
        os._exit(17)

    smtp.SmtpTransport.send = send_then_die
from mailtriage.services.pipeline import run_once
with open(sys.argv[1], "rb") as fh:
    config = pickle.load(fh)
when = datetime.fromisoformat(sys.argv[2])
run_once(config, now=lambda: when)
os._exit(0)
"""


def crash_run(tmp_path: Path, config: Config, when: datetime, point: str) -> int:
    config_file = tmp_path / "config.pickle"
    config_file.write_bytes(pickle.dumps(config))
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT)
    done = subprocess.run([sys.executable, str(script), str(config_file), when.isoformat(),
                           point], capture_output=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 17, done.stderr.decode()[-2000:]
    return done.returncode


def test_killed_after_the_ticket_commit_before_delivery_sends_exactly_one_reply_next_run(
        tmp_path: Path, imap_mailbox: ImapMailbox, smtp_server: SmtpTestServer) -> None:
    config = make_config(tmp_path, imap_mailbox, smtp_server)
    imap_mailbox.append(mail(*INCIDENT_NL), internaldate=local(11, 10))
    crash_run(tmp_path, config, local(11, 10, 1), "before-delivery")
    [row] = outbox(config)
    assert (row.kind, row.status, row.attempts) == ("ack", "pending", 0)
    assert smtp_server.messages == []
    # The next cron run, a minute later: the lease of the dead run does not block it.
    report = run(config, Clock(local(11, 10, 2)))
    assert report.mailboxes[0].fetched == 0  # the mail was stored; nothing is fetched again
    assert report.delivery is not None and report.delivery.sent == 1
    assert len(smtp_server.messages) == 1
    run(config, Clock(local(11, 10, 3)))
    assert len(smtp_server.messages) == 1
    assert [(o.kind, o.status) for o in outbox(config)] == [("ack", "sent")]


def test_killed_in_the_transport_before_data_sends_exactly_one_reply_next_run(
        tmp_path: Path, imap_mailbox: ImapMailbox, smtp_server: SmtpTestServer) -> None:
    config = make_config(tmp_path, imap_mailbox, smtp_server)
    imap_mailbox.append(mail(*INCIDENT_NL), internaldate=local(11, 10))
    crash_run(tmp_path, config, local(11, 10, 1), "in-send")
    [row] = outbox(config)
    assert (row.status, row.attempts) == ("claimed", 1)
    # Claimed but the message never went out: the next run sends it, once.
    report = run(config, Clock(local(11, 10, 2)))
    assert report.delivery is not None and report.delivery.sent == 1
    run(config, Clock(local(11, 10, 3)))
    assert len(smtp_server.messages) == 1
    assert [(o.kind, o.status, o.attempts) for o in outbox(config)] == [("ack", "sent", 1)]


def test_killed_after_data_is_uncertain_and_sent_once_after_staff_requeue(
        tmp_path: Path, imap_mailbox: ImapMailbox, smtp_server: SmtpTestServer) -> None:
    config = make_config(tmp_path, imap_mailbox, smtp_server)
    imap_mailbox.append(mail(*INCIDENT_NL), internaldate=local(11, 10))
    crash_run(tmp_path, config, local(11, 10, 1), "after-data")
    [row] = outbox(config)
    assert (row.status, row.attempts) == ("sending", 1)
    # The row was claimed; whether the server got the mail is unknown to the database, so the
    # next run marks it uncertain and does not resend it.
    report = run(config, Clock(local(11, 10, 2)))
    assert report.exit_status == 1
    [row] = outbox(config)
    assert row.status == "uncertain"
    assert smtp_server.messages == []
    db = Database(config.database.url)
    assert requeue(db, row.id, local(11, 10, 3))
    db.dispose()
    run(config, Clock(local(11, 10, 4)))
    run(config, Clock(local(11, 10, 5)))
    assert len(smtp_server.messages) == 1
    assert [(o.kind, o.status) for o in outbox(config)] == [("ack", "sent")]


def test_smtp_down_the_reply_goes_out_on_a_later_run(
        tmp_path: Path, imap_mailbox: ImapMailbox, smtp_server: SmtpTestServer) -> None:
    config = make_config(tmp_path, imap_mailbox, smtp_server)
    down = replace(config, smtp=replace(config.smtp, port=closed_port()))
    imap_mailbox.append(mail(*INCIDENT_NL), internaldate=local(11, 10))
    clock = Clock(local(11, 10, 1))
    report = run(down, clock)
    assert report.delivery is not None and report.delivery.retry_later == 1
    [row] = outbox(config)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "cannot connect" in row.last_error
    # Retry schedule: 2 minutes after the first failed attempt.
    assert row.next_attempt_at == clock() + timedelta(minutes=2)
    clock.at = local(11, 10, 2)
    report = run(config, clock)  # the server is back, but the row is not due yet
    assert report.delivery is not None and report.delivery.sent == 0
    assert smtp_server.messages == []
    clock.at = local(11, 10, 3)
    report = run(config, clock)
    assert report.delivery is not None and report.delivery.sent == 1
    [reply] = smtp_server.messages
    assert parsed(reply)["Subject"] == "Re: Website ligt volledig plat [#1001]"
    [row] = outbox(config)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_smtp_5xx_fails_the_row_with_the_reason_and_it_is_never_retried(
        tmp_path: Path, imap_mailbox: ImapMailbox, smtp_server: SmtpTestServer,
        stage: str) -> None:
    config = make_config(tmp_path, imap_mailbox, smtp_server)
    smtp_server.fail_next(550, stage=stage, text="5.1.1 Mailbox unavailable")  # type: ignore[arg-type]
    imap_mailbox.append(mail(*INCIDENT_NL), internaldate=local(11, 10))
    clock = Clock(local(11, 10, 1))
    report = run(config, clock)
    assert report.delivery is not None and report.delivery.failed == 1
    assert report.exit_status == 1
    [row] = outbox(config)
    assert row.status == "failed" and row.attempts == 1
    assert "550 5.1.1 Mailbox unavailable" in row.last_error
    for later in (local(11, 10, 5), local(11, 16), local(12, 10)):
        clock.at = later
        run(config, clock)
    assert smtp_server.messages == []
    [row] = outbox(config)
    assert (row.status, row.attempts) == ("failed", 1)


def test_a_drop_after_data_is_uncertain_and_not_resent(
        tmp_path: Path, imap_mailbox: ImapMailbox, smtp_server: SmtpTestServer) -> None:
    config = make_config(tmp_path, imap_mailbox, smtp_server)
    smtp_server.drop_next()
    imap_mailbox.append(mail(*INCIDENT_NL), internaldate=local(11, 10))
    clock = Clock(local(11, 10, 1))
    report = run(config, clock)
    assert report.delivery is not None and report.delivery.uncertain == 1
    [taken] = smtp_server.messages
    assert taken.answered is False  # the server has it; we never heard so
    [row] = outbox(config)
    assert row.status == "uncertain" and "may have been delivered" in row.last_error
    for later in (local(11, 10, 5), local(11, 14), local(12, 9)):
        clock.at = later
        run(config, clock)
    assert len(smtp_server.messages) == 1
    assert outbox(config)[0].status == "uncertain"


# -- hostile input --------------------------------------------------------------------------------


def test_an_encoded_newline_in_the_subject_cannot_add_a_header(
        tmp_path: Path, imap_mailbox: ImapMailbox, smtp_server: SmtpTestServer) -> None:
    config = make_config(tmp_path, imap_mailbox, smtp_server)
    imap_mailbox.append(mail("", INCIDENT_NL[1], raw_subject="=?UTF-8?Q?x=0ABcc:_a@evil?="),
                        internaldate=local(11, 10))
    report = run(config, Clock(local(11, 10, 1)))
    # The parser flags the encoded line break; the policy then sends no automatic reply.
    assert [o.kind for o in report.details] == ["ticket"]
    assert report.details[0].reply.startswith("none (")
    assert smtp_server.messages == []
    [refusal] = events(config, "no_reply")
    assert refusal["rule"] == "unsafe-mail"
    assert "encoded CR/LF in the Subject" in refusal["reason"]
    assert outbox(config) == []


def test_a_unicode_line_separator_in_the_subject_stays_inside_the_subject(
        tmp_path: Path, imap_mailbox: ImapMailbox, smtp_server: SmtpTestServer) -> None:
    config = make_config(tmp_path, imap_mailbox, smtp_server)
    # U+2028 and U+0085 are line breaks to some software. The parser keeps them as text (no
    # reply blocker), so the customer is answered; composing turns them into spaces.
    imap_mailbox.append(
        mail("", INCIDENT_NL[1],
             raw_subject="=?UTF-8?Q?Storing=E2=80=A8Bcc:_a@evil.example=C2=85Cc:_b@evil.example?="),
        internaldate=local(11, 10))
    report = run(config, Clock(local(11, 10, 1)))
    assert report.delivery is not None and report.delivery.sent == 1
    [reply] = smtp_server.messages
    assert reply.rcpt_tos == [CUSTOMER]
    names = header_names(reply.data)
    assert names.count("subject") == 1 and names.count("to") == 1
    assert "bcc" not in names and "cc" not in names
    assert raw_header(reply.data, "Subject") == (
        "Re: Storing Bcc: a@evil.example Cc: b@evil.example [#1001]")
    assert parsed(reply)["Bcc"] is None and parsed(reply)["Cc"] is None


# -- staff corrections ---------------------------------------------------------------------------


def test_staff_correction_medium_to_high_sends_one_update_with_the_new_deadline(
        tmp_path: Path, imap_mailbox: ImapMailbox, smtp_server: SmtpTestServer) -> None:
    config = make_config(tmp_path, imap_mailbox, smtp_server)
    imap_mailbox.append(mail(*SLOW_NL), internaldate=local(11, 10))
    clock = Clock(local(11, 10, 1))
    run(config, clock)
    [ack] = smtp_server.messages
    # Medium, received Tue 10:00: response 8 office hours = 7 h on Tuesday + 1 h from
    # Wednesday 08:30 -> Wed 09:30.
    assert "prioriteit middel" in text_of(ack)
    assert "uiterlijk woensdag 12 maart om 09:30" in text_of(ack)

    db = Database(config.database.url)
    try:
        result = apply_correction(config, db, 1001, actor="anna", priority="high",
                                  note="hele zoekfunctie ligt eruit", now=clock() +
                                  timedelta(minutes=29))
    finally:
        db.dispose()
    assert result.commitment_changed and result.customer_update == f"update to {CUSTOMER}"
    # High from receipt: 12:00 and 14:00, both after the change at 10:30 (no restart).
    assert datetime.fromisoformat(result.after["response_due"]) == local(11, 12)
    assert datetime.fromisoformat(result.after["resolution_due"]) == local(11, 14)

    clock.at = local(11, 10, 31)
    run(config, clock)
    clock.at = local(11, 10, 32)
    run(config, clock)
    assert len(smtp_server.messages) == 2
    update = smtp_server.messages[1]
    assert update.rcpt_tos == [CUSTOMER]
    msg = parsed(update)
    assert msg["Subject"] == "Re: Zoekfunctie traag [#1001]"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert parsed(ack)["In-Reply-To"] in (msg["References"] or "")
    text = text_of(update)
    assert "Eerder: incident, prioriteit middel." in text
    assert "Nu: incident, prioriteit hoog." in text
    assert "een medewerker reageert uiterlijk dinsdag 11 maart om 12:00" in text
    assert "uiterlijk dinsdag 11 maart om 14:00" in text
    data = ticket_json(config, 1001)
    assert (data["priority"], data["response_due"], data["resolution_due"]) == (
        "high", "2025-03-11T12:00:00+01:00", "2025-03-11T14:00:00+01:00")
    assert [(o["kind"], o["status"]) for o in data["outbox"]] == [("ack", "sent"),
                                                                  ("update", "sent")]
