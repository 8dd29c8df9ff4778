"""Storing a batch: at once in one flush, and mail by mail when that attempt fails.

Both ways must give the same tickets, rows and replies; the fast way must really write each
table in one statement, and a failure in it must cost time, never a mail.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select

from mailtriage.classify.decision import Decision
from mailtriage.config import (
    Config,
    DatabaseConfig,
    NotifyConfig,
    SlaConfig,
    SmtpConfig,
    StorageConfig,
)
from mailtriage.errors import MailtriageError
from mailtriage.ingest.message import RawMail
from mailtriage.services import intake
from mailtriage.services.intake import Outcome, Prepared, prepare, store_batch
from mailtriage.services.pipeline import Pipeline
from mailtriage.store.database import Database
from mailtriage.store.models import (
    Classification,
    Message,
    OutboxItem,
    Participant,
    QuarantineEntry,
    Ticket,
    TicketEvent,
)
from tests.services.conftest import customer_mail

NOW = datetime(2026, 3, 3, 9, 30, tzinfo=UTC)  # a Tuesday, office hours
INCIDENT = Decision(type="incident", priority="high", confidence=0.9, needs_review=False,
                    reasons=("test",), rules=("test-rule",), model_version="m1")
CHANGE = Decision(type="change", priority=None, confidence=0.9, needs_review=False,
                  reasons=("test",), rules=("test-rule",), model_version="m1")


@pytest.fixture
def config(db_url: str, tmp_path: Any) -> Config:
    return Config(database=DatabaseConfig(url=db_url),
                  storage=StorageConfig(directory=tmp_path / "files"),
                  smtp=SmtpConfig(transport="file", directory=tmp_path / "outbox",
                                  from_address="helpdesk@example.test"),
                  sla=SlaConfig(change_capacity_hours=10.0),
                  notify=NotifyConfig(rate_limit_count=2))


def prepared(mails: list[bytes]) -> list[Prepared]:
    return [prepare(RawMail("helpdesk", "INBOX", 7, str(uid), data, len(data), NOW), NOW)
            for uid, data in enumerate(mails, start=1)]


def store(config: Config, db: Database, items: list[Prepared],
          decisions: dict[int, Decision] | None = None) -> list[Outcome]:
    pipeline = Pipeline(config, db, now=lambda: NOW)
    with db.session() as s:
        return store_batch(s, pipeline.intake, items,
                           decisions if decisions is not None else dict.fromkeys(
                               range(len(items)), INCIDENT))


def count(db: Database, model: Any) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def inserts(db: Database) -> Iterator[dict[str, int]]:
    """How many INSERT statements reached each table (an executemany counts once)."""
    seen: dict[str, int] = {}

    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
               executemany: bool) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO"):
            table = statement.split()[2].strip('"')
            seen[table] = seen.get(table, 0) + 1
            if "RETURNING" in statement.upper():  # the ids were not known before the flush
                seen[f"{table} RETURNING"] = seen.get(f"{table} RETURNING", 0) + 1

    event.listen(db.engine, "before_cursor_execute", before)
    yield seen
    event.remove(db.engine, "before_cursor_execute", before)


def test_a_batch_of_new_tickets_writes_each_table_in_one_statement(
        config: Config, db: Database, inserts: dict[str, int]) -> None:
    items = prepared([customer_mail(n) for n in range(1, 31)])

    outcomes = store(config, db, items)

    assert [o.kind for o in outcomes] == ["ticket"] * 30
    assert [o.ticket_number for o in outcomes] == list(range(1001, 1031))
    for table in ("tickets", "messages", "participants", "classifications", "outbox",
                  "ticket_events"):
        assert inserts.get(table) == 1, (table, inserts)
    assert not [k for k in inserts if k.endswith("RETURNING")], inserts
    with db.session() as s:
        # Every row points at its own ticket, though no ticket had an id when it was made.
        for t in s.scalars(select(Ticket)):
            [m] = s.scalars(select(Message).where(Message.ticket_id == t.id))
            assert m.subject == t.subject
            assert [p.address for p in s.scalars(
                select(Participant).where(Participant.ticket_id == t.id))] == [t.requester]
            [c] = s.scalars(select(Classification).where(Classification.ticket_id == t.id))
            assert c.model_version == "m1"
            [o] = s.scalars(select(OutboxItem).where(OutboxItem.ticket_id == t.id))
            assert (o.recipient, o.dedup_key) == (t.requester, f"ack:{t.number}")
            assert [e.kind for e in s.scalars(select(TicketEvent).where(
                TicketEvent.ticket_id == t.id).order_by(TicketEvent.id))] == [
                "created", "reply_queued"]


def test_a_failure_in_the_batch_costs_only_that_mail(
        config: Config, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    real = intake._new_message
    calls = {"n": 0}

    def flaky(ctx: Any, prep: Prepared, *args: Any) -> Message:
        calls["n"] += 1
        if prep.raw.uid == "2":
            raise ValueError("broken on purpose")
        if prep.raw.uid == "4":
            raise MailtriageError("refused on purpose")
        return real(ctx, prep, *args)

    monkeypatch.setattr(intake, "_new_message", flaky)
    items = prepared([customer_mail(n) for n in range(1, 6)])

    outcomes = store(config, db, items)

    assert [(o.uid, o.kind) for o in outcomes] == [
        ("1", "ticket"), ("2", "quarantined"), ("3", "ticket"), ("4", "quarantined"),
        ("5", "ticket")]
    assert "internal-error: ValueError: broken on purpose" in outcomes[1].reason
    assert "store-error: refused on purpose" in outcomes[3].reason
    assert calls["n"] > 5  # the batch attempt stopped at mail 2, then mail by mail
    assert count(db, Ticket) == 3 and count(db, Message) == 3
    assert count(db, OutboxItem) == 3 and count(db, QuarantineEntry) == 2
    with db.session() as s:
        assert sorted(s.scalars(select(Ticket.number))) == [1001, 1002, 1003]


def test_a_failing_flush_stores_the_batch_mail_by_mail(
        config: Config, db: Database, inserts: dict[str, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The message row of mail 3 breaks a NOT NULL constraint, which only the database sees:
    # the batch's one INSERT into messages fails, and the mail-by-mail pass finds the mail.
    real = intake._new_message

    def broken_row(ctx: Any, prep: Prepared, *args: Any) -> Message:
        msg = real(ctx, prep, *args)
        if prep.raw.uid == "3":
            msg.outcome = None  # type: ignore[assignment]
        return msg

    monkeypatch.setattr(intake, "_new_message", broken_row)
    items = prepared([customer_mail(n) for n in range(1, 5)])

    outcomes = store(config, db, items)

    assert [(o.uid, o.kind) for o in outcomes] == [
        ("1", "ticket"), ("2", "ticket"), ("3", "quarantined"), ("4", "ticket")]
    assert outcomes[2].reason.startswith("internal-error: IntegrityError")
    assert inserts["tickets"] > 1  # written again, a ticket at a time
    assert count(db, Ticket) == 3 and count(db, Message) == 3 and count(db, OutboxItem) == 3
    with db.session() as s:
        assert sorted(s.scalars(select(Ticket.number))) == [1001, 1002, 1003]


@pytest.mark.parametrize("answer_followups", [False, True])
def test_a_reply_to_a_ticket_opened_earlier_in_the_same_batch_follows_it_up(
        config: Config, db: Database, inserts: dict[str, int], answer_followups: bool) -> None:
    config = replace(config, notify=replace(config.notify,
                                            reply_to_followups=answer_followups))
    first = customer_mail(1)
    answer = customer_mail(2, sender="klant1@bedrijf1.example", subject="Re: nog steeds stuk",
                           message_id="<antwoord@bedrijf1.example>",
                           in_reply_to="<klant-1@bedrijf1.example>")
    by_number = customer_mail(4, sender="klant3@bedrijf3.example",
                              subject="Re: [#1002] Contactformulier",
                              message_id="<nummer@bedrijf3.example>")
    items = prepared([first, customer_mail(3), answer, by_number])

    outcomes = store(config, db, items)

    assert [(o.kind, o.ticket_number) for o in outcomes] == [
        ("ticket", 1001), ("ticket", 1002), ("followup", 1001), ("followup", 1002)]
    # The ticket opened earlier in the batch is not flushed to thread the later mail: the
    # batch still writes each table once.
    for table in ("tickets", "messages", "participants", "outbox", "ticket_events"):
        assert inserts.get(table) == 1, (table, inserts)
    with db.session() as s:
        t1001 = s.scalar(select(Ticket).where(Ticket.number == 1001))
        assert t1001 is not None
        assert sorted(s.scalars(select(Message.message_id).where(
            Message.ticket_id == t1001.id))) == ["<antwoord@bedrijf1.example>",
                                                 "<klant-1@bedrijf1.example>"]
        keys = sorted(s.scalars(select(OutboxItem.dedup_key)))
    followup_acks = [k for k in keys if k.count(":") == 2]
    assert [k.rsplit(":", 1)[0] for k in followup_acks] == (
        ["ack:1001", "ack:1002"] if answer_followups else [])


def test_the_rate_limit_counts_the_batch_own_replies(config: Config, db: Database) -> None:
    same = "vaak@klant.example"
    mails = [customer_mail(n, sender=same, subject=f"Melding {n}") for n in range(1, 5)]
    outcomes = store(config, db, prepared(mails))

    assert [o.kind for o in outcomes] == ["ticket"] * 4
    assert [o.reply.split(" ")[0] for o in outcomes] == ["ack", "ack", "none", "none"]
    # A later batch sees the two replies already queued.
    later = store(config, db, prepared([customer_mail(9, sender=same, subject="Nog een")]))
    assert later[0].reply.startswith("none")


def workload_said(item: OutboxItem) -> str:
    from email import message_from_bytes, policy

    msg = message_from_bytes(item.body, policy=policy.default)
    part = msg.get_body(("plain",))  # type: ignore[attr-defined]
    text = " ".join(part.get_content().split())
    return "high" if "drukte (hoog)" in text else "low" if "drukte (laag)" in text else "?"


def test_new_change_requests_of_the_batch_raise_the_workload(config: Config,
                                                             db: Database) -> None:
    # Capacity 10 hours; an unestimated change counts 4 hours: from the third on it is over,
    # as it would be with one batch per mail.
    mails = [customer_mail(n, subject=f"Graag een nieuwe pagina {n}") for n in range(1, 5)]
    outcomes = store(config, db, prepared(mails), dict.fromkeys(range(4), CHANGE))

    assert [o.kind for o in outcomes] == ["ticket"] * 4
    with db.session() as s:
        said = [workload_said(o) for o in s.scalars(select(OutboxItem).order_by(OutboxItem.id))]
    assert said == ["low", "low", "high", "high"]
    more = store(config, db, prepared([customer_mail(9, subject="Graag nog een pagina")]),
                 {0: CHANGE})
    assert more[0].kind == "ticket"
    with db.session() as s:
        last = s.scalars(select(OutboxItem).order_by(OutboxItem.id.desc())).first()
        assert last is not None and workload_said(last) == "high"


def test_threading_a_batch_asks_the_database_a_few_times_not_per_mail(
        config: Config, db: Database) -> None:
    first = store(config, db, prepared([customer_mail(n) for n in range(1, 6)]))
    assert [o.ticket_number for o in first] == [1001, 1002, 1003, 1004, 1005]
    with db.session() as s:
        acks = {t.number: o.message_id for o, t in s.execute(
            select(OutboxItem, Ticket).join(Ticket, OutboxItem.ticket_id == Ticket.id))}
    later: list[bytes] = []
    for n in range(1, 6):
        who = f"klant{n}@bedrijf{n}.example"
        later.append(customer_mail(100 + n, sender=who, subject="Re: nog steeds stuk",
                                   message_id=f"<re-{n}@x.example>", in_reply_to=acks[1000 + n]))
        later.append(customer_mail(200 + n, sender=who, subject=f"Aanvulling [#{1000 + n}]",
                                   message_id=f"<num-{n}@x.example>"))
        later.append(customer_mail(300 + n, sender=who, subject="Afwezig",
                                   message_id=f"<ooo-{n}@x.example>", in_reply_to=acks[1000 + n],
                                   extra_headers=["Auto-Submitted: auto-replied"]))
        later.append(customer_mail(400 + n))
    selects: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        outcomes = store(config, db, prepared(later))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)

    assert [(o.kind, o.ticket_number) for o in outcomes] == [
        item for n in range(1, 6) for item in (
            ("followup", 1000 + n), ("followup", 1000 + n), ("attached", 1000 + n),
            ("ticket", 1005 + n))]
    # About ten questions up front and the flushes' own; a question per mail would add 15+.
    assert len(selects) <= 20, [" ".join(q.split())[:100] for q in selects]
    assert not [q for q in selects if "LIMIT" in q.upper()]
