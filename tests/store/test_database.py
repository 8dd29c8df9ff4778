"""The schema migrates on SQLite and PostgreSQL, repeatably, and keeps time zones."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from mailtriage.errors import StoreError
from mailtriage.store.database import Database
from mailtriage.store.models import Message, Ticket
from mailtriage.store.schema import HEAD_REVISION, current_revision, ensure_schema


def test_migrate_is_repeatable(db_url: str) -> None:
    db = Database(db_url)
    assert current_revision(db) is None
    assert db.migrate() == HEAD_REVISION
    assert db.migrate() == HEAD_REVISION
    ensure_schema(db)
    assert db.is_initialised()
    db.dispose()


def test_times_come_back_aware_and_equal(db_url: str) -> None:
    db = Database(db_url)
    db.migrate()
    amsterdam = timezone(timedelta(hours=1))
    received = datetime(2025, 3, 14, 16, 30, 15, tzinfo=amsterdam)
    with db.session() as s:
        s.add(Ticket(number=1001, subject="x", received_at=received))
    with db.session() as s:
        t = s.scalar(select(Ticket))
        assert t is not None
        assert t.received_at == received
        assert t.received_at.tzinfo is not None
        assert t.received_at.astimezone(UTC).hour == 15
    db.dispose()


def test_naive_datetime_is_refused(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    db.migrate()
    with pytest.raises((StoreError, ValueError)), db.session() as s:
        s.add(Ticket(number=1, subject="x", received_at=datetime(2025, 1, 1)))
    db.dispose()


def test_duplicate_mail_key_is_refused_by_the_database(db_url: str) -> None:
    db = Database(db_url)
    db.migrate()
    now = datetime.now(UTC)
    row = {"mailbox": "m", "sha256": "a" * 64, "received_at": now, "outcome": "ticket"}
    with db.session() as s:
        s.add(Message(**row))
    with pytest.raises(StoreError), db.session() as s:
        s.add(Message(**row))
    db.dispose()


def test_bad_url_is_a_store_error() -> None:
    with pytest.raises(StoreError):
        Database("nosuchdialect://x/y")


def test_sqlite_commits_are_durable_and_concurrent(sqlite_url: str) -> None:
    # WAL lets a reader (the staff UI) work beside a run; synchronous=FULL puts each commit on
    # disk before the run acts on it (flags a mail, sends a reply). 2 is FULL.
    db = Database(sqlite_url)
    try:
        with db.engine.connect() as conn:
            pragmas = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                       for name in ("journal_mode", "synchronous", "foreign_keys")}
        assert pragmas == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1}
    finally:
        db.dispose()


def test_a_database_of_the_first_revision_is_upgraded_with_its_data(db_url: str) -> None:
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from mailtriage.store.database import MIGRATIONS
    from mailtriage.store.models import AwaitedReference

    db = Database(db_url)
    try:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
        assert current_revision(db) == "0001"
        with db.session() as s:
            s.add(Ticket(number=1001, subject="x", received_at=datetime(2026, 3, 3, tzinfo=UTC)))
        ensure_schema(db)  # what every command does first
        assert current_revision(db) == HEAD_REVISION == "0002"
        with db.session() as s:
            ticket = s.scalar(select(Ticket))
            assert ticket is not None and ticket.number == 1001
            message = Message(mailbox="helpdesk", sha256="0" * 64, outcome="ignored",
                              received_at=datetime(2026, 3, 3, tzinfo=UTC))
            s.add(AwaitedReference(message=message, ref="<w1@klant.example>"))
        with db.session() as s:
            assert s.scalar(select(AwaitedReference.ref)) == "<w1@klant.example>"
    finally:
        db.dispose()


def _ticket(number: int) -> Ticket:
    return Ticket(number=number, subject="x", received_at=datetime.now(UTC))


def test_a_transaction_that_read_first_can_still_write_beside_another_writer(
        migrated_db: Database) -> None:
    # A run reads, then flushes its batch; meanwhile staff save a correction. On SQLite in WAL
    # mode a deferred transaction would fail at its first write ("database is locked", at
    # once) because the other connection committed after it read; the two must queue instead.
    db = migrated_db
    errors: list[BaseException] = []

    def staff() -> None:
        try:
            with db.session() as s:
                s.add(_ticket(2))
        except BaseException as exc:  # reported below
            errors.append(exc)

    with db.session() as s:
        assert s.scalar(select(Ticket.id)) is None  # the run has read
        other = threading.Thread(target=staff)
        other.start()
        time.sleep(0.3)  # the other writer gets its chance to commit first
        s.add(_ticket(1))
        s.flush()
    other.join(timeout=20)
    assert not other.is_alive()
    assert errors == []
    with db.session(read_only=True) as s:
        assert sorted(s.scalars(select(Ticket.number))) == [1, 2]


def test_read_only_sessions_do_not_wait_for_a_writer(migrated_db: Database) -> None:
    db = migrated_db
    seen: list[list[int]] = []

    def reader() -> None:
        with db.session(read_only=True) as s:
            seen.append(list(s.scalars(select(Ticket.number))))

    with db.session() as s:
        s.add(_ticket(1))
        s.flush()  # a write transaction is open
        other = threading.Thread(target=reader)
        other.start()
        other.join(timeout=5)
        assert not other.is_alive(), "the read-only session waited for the writer"
    assert seen == [[]]


def test_a_read_only_session_refuses_to_write(migrated_db: Database) -> None:
    with pytest.raises(StoreError, match="read-only"), migrated_db.session(read_only=True) as s:
        s.add(_ticket(1))
    with migrated_db.session(read_only=True) as s:
        assert s.scalar(select(Ticket.id)) is None
