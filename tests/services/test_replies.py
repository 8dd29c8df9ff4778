"""Queueing customer mail: what the acknowledgement says, the rate limit, refusals, updates."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mailtriage.config import Config, CustomerConfig, DatabaseConfig, NotifyConfig, SlaConfig
from mailtriage.ingest.message import OriginVerdict, ParsedMail
from mailtriage.services.commitments import CommitmentCalculator
from mailtriage.services.replies import (
    ReplyComposer,
    open_change_hours,
    workload_now,
)
from mailtriage.store.database import Database
from mailtriage.store.models import Message, OutboxItem, Setting, Ticket, TicketEvent
from tests.notify.mails import make_mail

AMS = ZoneInfo("Europe/Amsterdam")
RECEIVED = datetime(2025, 3, 11, 10, 0, tzinfo=AMS)  # Tuesday
NOW = RECEIVED + timedelta(minutes=1)
PERSON = OriginVerdict("person")


@pytest.fixture
def config(db_url: str) -> Config:
    return Config(database=DatabaseConfig(url=db_url),
                  sla=SlaConfig(customers=(CustomerConfig("klant.nl", "guaranteed"),)),
                  notify=NotifyConfig(helpdesk_name="CARE Helpdesk"))


def composer(config: Config, now: datetime = NOW) -> ReplyComposer:
    return ReplyComposer(config, lambda: now.astimezone(UTC))


def new_ticket(s: Any, config: Config, mail: ParsedMail, *, type_: str | None = "incident",
               priority: str | None = "high", needs_review: bool = False,
               number: int = 1001, **extra: Any) -> tuple[Ticket, Message]:
    requester = mail.sender.addr if mail.sender else None
    c = CommitmentCalculator(config).for_ticket(requester=requester, type_=type_,
                                                priority=priority, received_at=RECEIVED)
    t = Ticket(number=number, subject=mail.subject, requester=requester,
               requester_name=mail.sender.name if mail.sender else "", sla_level=c.sla_level,
               language=mail.language, type=type_, priority=priority, confidence=0.9,
               needs_review=needs_review, status="new", received_at=RECEIVED,
               response_due=c.response_due, resolution_due=c.resolution_due, **extra)
    s.add(t)
    s.flush()
    m = Message(ticket_id=t.id, mailbox="helpdesk", sha256=f"{number:064d}",
                message_id=mail.message_id, sender=requester, subject=mail.subject,
                received_at=RECEIVED, outcome="ticket", language=mail.language)
    s.add(m)
    s.flush()
    return t, m


def outbox(db: Database) -> list[OutboxItem]:
    with db.session() as s:
        return list(s.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def body(item: OutboxItem) -> tuple[EmailMessage, str]:
    msg = cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(item.body))
    part = msg.get_body(("plain",))
    assert part is not None
    return msg, " ".join(cast(EmailMessage, part).get_content().split())


def no_reply_events(db: Database) -> list[dict[str, Any]]:
    with db.session() as s:
        return [e.data for e in s.scalars(select(TicketEvent).where(
            TicketEvent.kind == "no_reply").order_by(TicketEvent.id))]


# -- the acknowledgement ----------------------------------------------------------------------


def test_incident_acknowledgement_is_queued_with_its_deadlines(config: Config,
                                                               db: Database) -> None:
    mail = make_mail(received_at=RECEIVED)
    with db.session() as s:
        t, m = new_ticket(s, config, mail)
        answer = composer(config).acknowledge(s, t, m, mail, PERSON)
    assert answer == "ack to jan@klant.nl"
    [item] = outbox(db)
    # Keyed by the ticket's number, which a new ticket has before it is flushed.
    assert (item.kind, item.status, item.dedup_key) == ("ack", "pending", f"ack:{t.number}")
    assert (item.sender, item.recipient, item.recipients) == ("", "jan@klant.nl",
                                                              ["jan@klant.nl"])
    assert item.next_attempt_at == NOW
    msg, text = body(item)
    assert msg["Subject"] == "Re: Website geeft foutmelding [#1001]"
    assert msg["In-Reply-To"] == "<abc123@klant.nl>"
    assert msg["References"] == "<abc123@klant.nl>"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["From"] == "Helpdesk <helpdesk@example.test>"  # smtp.from_name
    # High, received Tue 10:00, guaranteed: response 12:00, resolution 14:00.
    assert "Beste Jan Jansen," in text
    assert "een medewerker reageert uiterlijk dinsdag 11 maart om 12:00" in text
    assert "uiterlijk dinsdag 11 maart om 14:00 op te lossen" in text
    with db.session() as s:
        [event] = s.scalars(select(TicketEvent).where(TicketEvent.kind == "reply_queued"))
        assert event.data["to"] == "jan@klant.nl" and event.data["kind"] == "ack"


@pytest.mark.parametrize("kind, extra, expected", [
    ("review", {"type_": "incident", "priority": "high", "needs_review": True},
     "Een medewerker beoordeelt uw bericht"),
    ("other", {"type_": "other", "priority": None},
     "Voor deze melding geldt geen vaste reactie- of oplostermijn"),
    ("change", {"type_": "change", "priority": None},
     "0 tot 4 uur werk: 1 tot 2 weken"),
    ("unclassified", {"type_": None, "priority": None}, "Een medewerker beoordeelt uw bericht"),
])
def test_the_acknowledgement_matches_the_classification(config: Config, db: Database, kind: str,
                                                        extra: dict[str, Any],
                                                        expected: str) -> None:
    mail = make_mail(received_at=RECEIVED)
    with db.session() as s:
        t, m = new_ticket(s, config, mail, **extra)
        composer(config).acknowledge(s, t, m, mail, PERSON)
    [item] = outbox(db)
    _, text = body(item)
    assert expected in text
    assert ("uiterlijk" in text) is False


def test_english_mail_gets_english_words(config: Config, db: Database) -> None:
    mail = make_mail(received_at=RECEIVED, language="en", subject="Site down")
    with db.session() as s:
        t, m = new_ticket(s, config, mail)
        composer(config).acknowledge(s, t, m, mail, PERSON)
    msg, text = body(outbox(db)[0])
    assert msg["Content-Language"] == "en"
    assert "Dear Jan Jansen," in text and "by Tuesday 11 March at 12:00" in text


# -- reasons not to answer --------------------------------------------------------------------


@pytest.mark.parametrize("mail_overrides, origin, rule", [
    ({"headers": (("Auto-Submitted", "auto-replied"),)}, OriginVerdict("auto_reply"),
     "auto-submitted"),
    ({"return_path": "<>"}, PERSON, "bounce"),
    ({"headers": (("Precedence", "bulk"),)}, PERSON, "mailing-list"),
    ({"reply_blockers": ("encoded CR/LF in the Subject",)}, PERSON, "unsafe-mail"),
])
def test_a_refusal_is_recorded_with_its_reason(config: Config, db: Database,
                                               mail_overrides: dict[str, Any],
                                               origin: OriginVerdict, rule: str) -> None:
    mail = make_mail(received_at=RECEIVED, **mail_overrides)
    with db.session() as s:
        t, m = new_ticket(s, config, mail)
        answer = composer(config).acknowledge(s, t, m, mail, origin)
    assert answer.startswith("none (no automatic reply: ")
    assert outbox(db) == []
    [event] = no_reply_events(db)
    assert event["rule"] == rule and event["reason"].startswith("no automatic reply: ")


def test_the_rate_limit_counts_replies_to_the_address_in_the_window(config: Config,
                                                                    db: Database) -> None:
    limit = config.notify.rate_limit_count  # 3 a day by default
    with db.session() as s:
        # Earlier mail to this address: an ack and an update in the window; an ack a day and
        # a minute ago, an alert, and an ack to another address, which do not count.
        for n, (kind, to, age) in enumerate([
            ("ack", "jan@klant.nl", timedelta(hours=2)),
            ("update", "jan@klant.nl", timedelta(hours=23)),
            ("ack", "jan@klant.nl", timedelta(days=1, minutes=1)),
            ("alert", "jan@klant.nl", timedelta(minutes=5)),
            ("ack", "piet@klant.nl", timedelta(minutes=5)),
        ]):
            s.add(OutboxItem(kind=kind, dedup_key=f"old:{n}", message_id=f"<old{n}@x>",
                             sender="", recipient=to, recipients=[to], body=b"x",
                             status="sent", created_at=NOW.astimezone(UTC) - age))
    reply = composer(config)
    with db.session() as s:
        assert reply.replies_in_window(s, "JAN@Klant.NL") == 2
    answers = []
    for n in range(3):
        mail = make_mail(received_at=RECEIVED, message_id=f"<m{n}@klant.nl>",
                         sender=make_mail().sender)
        with db.session() as s:
            t, m = new_ticket(s, config, mail, number=1001 + n)
            answers.append(reply.acknowledge(s, t, m, mail, PERSON))
    assert answers[0] == "ack to jan@klant.nl"
    assert [a.startswith("none (") for a in answers] == [False, True, True]
    assert [e["rule"] for e in no_reply_events(db)] == ["rate-limit", "rate-limit"]
    assert f"(limit {limit})" in no_reply_events(db)[0]["reason"]


def test_follow_ups_are_answered_only_when_configured(config: Config, db: Database) -> None:
    first = make_mail(received_at=RECEIVED)
    later = make_mail(received_at=RECEIVED, message_id="<later@klant.nl>",
                      in_reply_to=("<abc123@klant.nl>",))
    with db.session() as s:
        t, m = new_ticket(s, config, first)
        assert composer(config).maybe_followup_reply(s, t, m, later, PERSON).startswith(
            "none (no automatic reply: the mail follows up an existing ticket")
    answering = replace(config, notify=replace(config.notify, reply_to_followups=True))
    with db.session() as s:
        t2 = s.scalar(select(Ticket))
        m2 = s.scalar(select(Message))
        assert t2 is not None and m2 is not None
        assert composer(answering).maybe_followup_reply(s, t2, m2, later, PERSON) == \
            "ack to jan@klant.nl"
    [item] = outbox(db)
    # Named by the ticket's number, which a ticket opened in the same batch already has.
    assert item.dedup_key == f"ack:{t2.number}:{m2.sha256[:16]}"
    assert body(item)[0]["In-Reply-To"] == "<later@klant.nl>"


# -- updates after a correction ---------------------------------------------------------------


def test_update_threads_under_the_first_mail_and_carries_the_new_commitment(
        config: Config, db: Database) -> None:
    mail = make_mail(received_at=RECEIVED)
    with db.session() as s:
        t, _ = new_ticket(s, config, mail, priority="medium")
        t.priority = "high"
        c = CommitmentCalculator(config).for_ticket(requester=t.requester, type_="incident",
                                                    priority="high", received_at=RECEIVED)
        t.response_due, t.resolution_due = c.response_due, c.resolution_due
        answer = composer(config).queue_update(s, t, previous_kind="incident",
                                               previous_priority="medium", correction_id=7)
    assert answer == "update to jan@klant.nl"
    [item] = outbox(db)
    assert (item.kind, item.dedup_key) == ("update", f"update:{item.ticket_id}:7")
    assert item.sender == "helpdesk@example.test"  # auto-generated: our address
    msg, text = body(item)
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["References"] == "<abc123@klant.nl>" and msg["In-Reply-To"] is None
    assert "Eerder: incident, prioriteit middel." in text
    assert "Nu: incident, prioriteit hoog." in text
    assert "uiterlijk dinsdag 11 maart om 12:00" in text


def test_no_update_without_a_requester(config: Config, db: Database) -> None:
    mail = make_mail(received_at=RECEIVED)
    with db.session() as s:
        t, _ = new_ticket(s, config, mail)
        t.requester = None
        assert composer(config).queue_update(s, t, previous_kind=None, previous_priority=None,
                                             correction_id=1) == "none (no requester address)"
    assert outbox(db) == []


# -- the change workload ----------------------------------------------------------------------


def test_workload_from_staff_setting_then_config_then_backlog(config: Config,
                                                             db: Database) -> None:
    with db.session() as s:
        for n, hours in enumerate([20.0, 16.0, None]):  # None counts as 4 hours
            t, _ = new_ticket(s, config, make_mail(received_at=RECEIVED,
                                                   message_id=f"<c{n}@klant.nl>"),
                              type_="change", priority=None, number=2001 + n,
                              change_hours=hours)
        t.status = "open"
        done, _ = new_ticket(s, config, make_mail(received_at=RECEIVED,
                                                  message_id="<done@klant.nl>"),
                             type_="change", priority=None, number=2010, change_hours=100.0)
        done.status = "resolved"
        s.flush()
        assert open_change_hours(s) == 40.0
        assert workload_now(s, config) == "low"  # 40 h is not more than the 40 h capacity
        tight = replace(config, sla=replace(config.sla, change_capacity_hours=39.0))
        assert workload_now(s, tight) == "high"
        fixed = replace(config, sla=replace(config.sla, workload="high"))
        assert workload_now(s, fixed) == "high"
        s.add(Setting(key="workload", value={"level": "low"}))
        s.flush()
        assert workload_now(s, fixed) == "low"  # staff's setting wins
        s.get(Setting, "workload").value = {"level": "bogus"}  # type: ignore[union-attr]
        s.flush()
        assert workload_now(s, tight) == "high"
