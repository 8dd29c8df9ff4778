"""The outbox delivery: at most once per row, retries with backoff, uncertain never resent.

Rows are delivered over SMTP to a real aiosmtpd on loopback; every database test runs on SQLite
and PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select

from mailtriage.ingest.message import Address
from mailtriage.notify.compose import OutgoingMail, compose_message, new_message_id
from mailtriage.notify.filedrop import FileTransport
from mailtriage.notify.smtp import SmtpTransport
from mailtriage.services.delivery import DeliveryReport, deliver_due, mark_interrupted, requeue
from mailtriage.store.database import Database
from mailtriage.store.models import OutboxItem
from tests.servers.smtp import SmtpTestServer

NOW = datetime(2025, 3, 11, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def db(migrated_db: Database) -> Database:
    return migrated_db


def add_row(db: Database, n: int, *, status: str = "pending", due: datetime = NOW,
            to: str = "jan@klant.example") -> int:
    message_id, _ = new_message_id("example.test")
    body = compose_message(OutgoingMail(
        sender=Address("helpdesk@example.test", "Helpdesk"), recipient=Address(to),
        subject=f"Re: vraag {n} [#{1000 + n}]", text=f"Bericht {n}", html=None,
        message_id=message_id, date=NOW))
    with db.session() as s:
        row = OutboxItem(kind="ack", dedup_key=f"ack:test:{n}", message_id=message_id,
                         sender="", recipient=to, recipients=[to], subject=f"vraag {n}",
                         body=body, status=status, next_attempt_at=due, created_at=NOW)
        s.add(row)
        s.flush()
        return row.id


def row(db: Database, row_id: int) -> OutboxItem:
    with db.session() as s:
        item = s.get(OutboxItem, row_id)
        assert item is not None
        return item


def test_a_due_row_is_sent_once_and_stamped(db: Database, smtp_server: SmtpTestServer) -> None:
    rid = add_row(db, 1)
    transport = SmtpTransport(smtp_server.smtp_config())
    report = deliver_due(db, transport, Clock(NOW), max_attempts=8)
    assert (report.sent, report.retry_later, report.failed, report.uncertain) == (1, 0, 0, 0)
    item = row(db, rid)
    assert (item.status, item.attempts, item.last_error, item.sent_at) == ("sent", 1, "", NOW)
    [got] = smtp_server.messages
    assert got.rcpt_tos == ["jan@klant.example"] and got.mail_from == "<>"
    assert got.data.replace(b"\r\n", b"\n") == item.body.replace(b"\r\n", b"\n")
    assert deliver_due(db, transport, Clock(NOW + timedelta(hours=1)), max_attempts=8).sent == 0
    assert len(smtp_server.messages) == 1


def test_rows_not_yet_due_and_rows_in_other_states_are_left_alone(
        db: Database, smtp_server: SmtpTestServer) -> None:
    later = add_row(db, 1, due=NOW + timedelta(minutes=1))
    others = [add_row(db, n, status=s) for n, s in
              ((2, "sent"), (3, "failed"), (4, "uncertain"), (5, "sending"))]
    report = deliver_due(db, SmtpTransport(smtp_server.smtp_config()), Clock(NOW),
                         max_attempts=8)
    assert report.sent == 0 and smtp_server.messages == []
    assert row(db, later).status == "pending"
    assert [row(db, r).status for r in others] == ["sent", "failed", "uncertain", "sending"]


def test_temporary_failures_back_off_then_give_up(db: Database,
                                                  smtp_server: SmtpTestServer) -> None:
    rid = add_row(db, 1)
    transport = SmtpTransport(smtp_server.smtp_config())
    smtp_server.fail_next(451, n=3, stage="rcpt", text="4.7.1 Greylisted, try later")
    clock = Clock(NOW)
    # Attempt 1 fails: wait 2 minutes; attempt 2: 4 minutes; attempt 3 (max 3): give up.
    assert deliver_due(db, transport, clock, max_attempts=3).retry_later == 1
    item = row(db, rid)
    assert (item.status, item.attempts) == ("pending", 1)
    assert item.next_attempt_at == NOW + timedelta(minutes=2)
    assert "451 4.7.1 Greylisted" in item.last_error
    clock.at = NOW + timedelta(minutes=1)
    assert deliver_due(db, transport, clock, max_attempts=3).retry_later == 0  # not yet due
    clock.at = NOW + timedelta(minutes=2)
    deliver_due(db, transport, clock, max_attempts=3)
    item = row(db, rid)
    assert (item.status, item.attempts) == ("pending", 2)
    assert item.next_attempt_at == NOW + timedelta(minutes=6)
    clock.at = NOW + timedelta(minutes=6)
    assert deliver_due(db, transport, clock, max_attempts=3).failed == 1
    item = row(db, rid)
    assert item.status == "failed" and item.attempts == 3
    assert item.last_error.startswith("gave up after 3 attempts: ")
    assert smtp_server.messages == []


def test_a_temporary_failure_then_success(db: Database, smtp_server: SmtpTestServer) -> None:
    rid = add_row(db, 1)
    transport = SmtpTransport(smtp_server.smtp_config())
    smtp_server.fail_next(421, stage="data")
    clock = Clock(NOW)
    deliver_due(db, transport, clock, max_attempts=8)
    clock.at = NOW + timedelta(minutes=2)
    assert deliver_due(db, transport, clock, max_attempts=8).sent == 1
    item = row(db, rid)
    assert (item.status, item.attempts, item.last_error) == ("sent", 2, "")
    assert len(smtp_server.messages) == 1


@pytest.mark.parametrize("stage", ["mail", "rcpt", "data"])
def test_a_permanent_refusal_fails_the_row_for_good(db: Database, smtp_server: SmtpTestServer,
                                                    stage: str) -> None:
    rid = add_row(db, 1)
    transport = SmtpTransport(smtp_server.smtp_config())
    smtp_server.fail_next(554, stage=stage, text="5.7.1 Message rejected")  # type: ignore[arg-type]
    assert deliver_due(db, transport, Clock(NOW), max_attempts=8).failed == 1
    item = row(db, rid)
    assert item.status == "failed" and "554 5.7.1 Message rejected" in item.last_error
    assert deliver_due(db, transport, Clock(NOW + timedelta(days=1)), max_attempts=8).sent == 0
    assert smtp_server.messages == []


def test_a_connection_lost_after_the_data_is_uncertain_and_never_resent(
        db: Database, smtp_server: SmtpTestServer) -> None:
    rid = add_row(db, 1)
    transport = SmtpTransport(smtp_server.smtp_config())
    smtp_server.drop_next()
    assert deliver_due(db, transport, Clock(NOW), max_attempts=8).uncertain == 1
    assert row(db, rid).status == "uncertain"
    assert deliver_due(db, transport, Clock(NOW + timedelta(days=1)), max_attempts=8).sent == 0
    assert len(smtp_server.messages) == 1


def test_a_broken_setup_stops_the_pass_and_fails_no_row(
        db: Database, smtp_server: SmtpTestServer) -> None:
    first, second = add_row(db, 1), add_row(db, 2)
    # The plain server offers no STARTTLS: refusing to send in plaintext is our setup's fault.
    transport = SmtpTransport(smtp_server.smtp_config(security="starttls"))
    report = deliver_due(db, transport, Clock(NOW), max_attempts=1)
    assert "does not offer STARTTLS" in report.setup_error
    assert (report.retry_later, report.failed) == (1, 0)
    a, b = row(db, first), row(db, second)
    assert a.status == "pending" and a.next_attempt_at == NOW + timedelta(minutes=2)
    assert a.attempts == 0  # our setup's failure uses up none of the row's attempts
    assert (b.status, b.attempts) == ("pending", 0)  # the pass stopped before it
    assert smtp_server.messages == []
    # Fixed setup: even with max_attempts 1 the row still gets its one real attempt.
    good = SmtpTransport(smtp_server.smtp_config())
    assert deliver_due(db, good, Clock(NOW + timedelta(minutes=2)), max_attempts=1).sent == 2


def test_rows_left_sending_by_a_crash_become_uncertain(db: Database) -> None:
    crashed = add_row(db, 1, status="sending")
    waiting = add_row(db, 2)
    assert mark_interrupted(db) == 1
    assert row(db, crashed).status == "uncertain"
    assert "not resent automatically" in row(db, crashed).last_error
    assert row(db, waiting).status == "pending"
    assert mark_interrupted(db) == 0


def test_staff_can_requeue_uncertain_and_failed_rows_only(db: Database, tmp_path: Path) -> None:
    rows = {s: add_row(db, n, status=s) for n, s in
            enumerate(("uncertain", "failed", "sent", "pending", "sending"))}
    later = NOW + timedelta(hours=1)
    assert [requeue(db, rows[s], later) for s in rows] == [True, True, False, False, False]
    item = row(db, rows["uncertain"])
    assert (item.status, item.next_attempt_at, item.last_error) == ("pending", later,
                                                                   "requeued by staff")
    report = deliver_due(db, FileTransport(tmp_path / "out"), Clock(later), max_attempts=8)
    assert report.sent == 3  # the two requeued rows and the pending one
    assert len(list((tmp_path / "out").glob("*.eml"))) == 3


def test_two_overlapping_senders_never_send_a_row_twice(db: Database,
                                                        smtp_server: SmtpTestServer) -> None:
    ids = [add_row(db, n) for n in range(20)]
    transport = SmtpTransport(smtp_server.smtp_config())
    reports = []

    def send() -> None:
        reports.append(deliver_due(db, transport, Clock(NOW), max_attempts=8))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r.sent for r in reports) == 20
    ids_seen = [m.data.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0]
                for m in smtp_server.messages]
    assert len(ids_seen) == 20 and len(set(ids_seen)) == 20
    with db.session() as s:
        statuses = s.scalars(select(OutboxItem.status).where(OutboxItem.id.in_(ids))).all()
        attempts = s.scalars(select(OutboxItem.attempts).where(OutboxItem.id.in_(ids))).all()
    assert set(statuses) == {"sent"} and set(attempts) == {1}


class Watching:
    """A transport that, once a row is marked ``sending``, looks at the outbox from outside:
    the rows sent before it must already be recorded, and no other row may be ``sending``."""

    def __init__(self, db: Database, directory: Path, crash_on: int | None = None) -> None:
        self.db = db
        self.inner = FileTransport(directory)
        self.crash_on = crash_on
        self.seen: list[dict[str, str]] = []

    def send(self, message_bytes: bytes, sender: str, recipients: list[str], *,
             before_data: Callable[[], None] | None = None) -> None:
        def marked() -> None:
            assert before_data is not None
            before_data()
            with self.db.engine.connect() as c:  # read only: rolled back, never committed
                self.seen.append({str(i): st for i, st in c.execute(
                    select(OutboxItem.id, OutboxItem.status))})
            if self.crash_on is not None and len(self.seen) == self.crash_on:
                raise KeyboardInterrupt("the process is stopped here")
        self.inner.send(message_bytes, sender, recipients, before_data=marked)


def test_each_row_costs_one_commit_and_only_one_row_is_ever_sending(
        db: Database, tmp_path: Path) -> None:
    ids = [add_row(db, n) for n in range(120)]
    commits: list[int] = []
    checkouts: list[int] = []

    def count(conn: object) -> None:
        commits.append(1)

    def checkout(*args: object) -> None:
        checkouts.append(1)

    updates: list[str] = []

    def statement(conn: object, cursor: object, sql: str, *args: object) -> None:
        if "UPDATE outbox" in sql and "status=" in sql.replace(" ", "") and "IN (" not in sql:
            updates.append(sql)

    transport = Watching(db, tmp_path / "out")
    event.listen(db.engine, "commit", count)
    event.listen(db.engine.pool, "checkout", checkout)
    event.listen(db.engine, "before_cursor_execute", statement)
    try:
        report = deliver_due(db, transport, Clock(NOW), max_attempts=8)
    finally:
        event.remove(db.engine, "commit", count)
        event.remove(db.engine.pool, "checkout", checkout)
        event.remove(db.engine, "before_cursor_execute", statement)
    assert report.sent == 120
    # One per row (its outcome goes with the next row's "sending"), one per claimed chunk of
    # 50, the query for due rows and the last row's outcome.
    assert len(commits) <= 120 + 3 + 2
    # The rows' outcomes share one connection; the watcher takes one per row itself.
    assert len(checkouts) - len(transport.seen) <= 1 + 3 + 1
    # On PostgreSQL a row's outcome and the next row's mark are one statement (one round
    # trip); on SQLite, which has no UPDATE in a WITH clause, two in one transaction.
    per_row = 1 if db.dialect == "postgresql" else 2
    assert len(updates) == per_row * 119 + 1 + 1, len(updates)
    for n, statuses in enumerate(transport.seen):
        assert statuses[str(ids[n])] == "sending"
        assert [k for k, v in statuses.items() if v == "sending"] == [str(ids[n])]
        assert all(statuses[str(i)] == "sent" for i in ids[:n])
    assert {row(db, i).status for i in ids} == {"sent"}


def test_a_stop_while_a_row_is_sending_leaves_that_row_alone_uncertain(
        db: Database, tmp_path: Path) -> None:
    ids = [add_row(db, n) for n in range(5)]
    transport = Watching(db, tmp_path / "out", crash_on=3)
    with pytest.raises(KeyboardInterrupt):
        deliver_due(db, transport, Clock(NOW), max_attempts=8)
    assert [row(db, i).status for i in ids] == ["sent", "sent", "sending", "claimed",
                                                "claimed"]
    assert mark_interrupted(db) == 1
    assert [row(db, i).status for i in ids] == ["sent", "sent", "uncertain", "pending",
                                                "pending"]
    again = deliver_due(db, FileTransport(tmp_path / "out"), Clock(NOW), max_attempts=8)
    assert (again.sent, again.uncertain) == (2, 0)
    assert len(list((tmp_path / "out").glob("*.eml"))) == 4  # the third was never written


def test_reports_of_several_passes_add_up() -> None:
    total = DeliveryReport(sent=2, failed=1)
    total.add(DeliveryReport(sent=1, retry_later=3, uncertain=1, setup_error="TLS refused"))
    total.add(DeliveryReport(sent=4))
    assert (total.sent, total.retry_later, total.failed, total.uncertain, total.setup_error) == (
        7, 3, 1, 1, "TLS refused")
