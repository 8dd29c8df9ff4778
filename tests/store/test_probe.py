"""The driver-only read of an idle run: the same answers as the ORM, or None when unsure."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailtriage.store.database import Database
from mailtriage.store.models import Cursor, OutboxItem, Setting, Ticket, TicketEvent
from mailtriage.store.probe import ALERT_WATCH_KEY, CursorRow, read_state
from mailtriage.store.revision import HEAD_REVISION

NOW = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def outbox_row(n: int, status: str) -> OutboxItem:
    return OutboxItem(kind="ack", dedup_key=f"k{n}", message_id=f"<m{n}@example.test>",
                      sender="", recipient="a@example.test", body=b"x", status=status,
                      next_attempt_at=NOW)


def test_state_of_a_migrated_database(db_url: str) -> None:
    db = Database(db_url)
    db.migrate()
    try:
        assert read_state(db_url) is not None
        empty = read_state(db_url)
        assert empty is not None and (empty.revision, empty.cursors, empty.busy_outbox) == (
            HEAD_REVISION, {}, 0)
        with db.session() as s:
            s.add(Cursor(mailbox="helpdesk", folder="INBOX", uidvalidity=7, last_uid=42,
                         marked_uid=40))
            s.add(Cursor(mailbox="helpdesk", folder="Sent", uidvalidity=9, last_uid=3))
            for n, status in enumerate(["sent", "failed", "uncertain", "pending", "claimed",
                                        "sending"]):
                s.add(outbox_row(n, status))
        state = read_state(db_url)
        assert state is not None
        assert state.cursors == {("helpdesk", "INBOX"): CursorRow(7, 42, 40),
                                 ("helpdesk", "Sent"): CursorRow(9, 3, 0)}
        assert state.busy_outbox == 3
    finally:
        db.dispose()


def test_the_alert_watch_and_the_facts_it_is_compared_with(db_url: str) -> None:
    db = Database(db_url)
    db.migrate()
    try:
        plain = read_state(db_url)
        assert plain is not None and (plain.alert_watch, plain.facts) == (None, None)
        empty = read_state(db_url, alerts=True)
        assert empty is not None and (empty.alert_watch, empty.facts) == (None, (0,) * 6)
        watch = {"until": "2026-03-03T16:00:00+00:00", "skipped": "nothing to report",
                 "config": "c0ffee", "facts": [1, 1, 0, 0, 0, 0]}
        with db.session() as s:
            ticket = Ticket(number=1001, subject="x", received_at=NOW)
            s.add(ticket)
            s.flush()
            s.add_all([TicketEvent(ticket_id=ticket.id, kind="alert", at=NOW, data={}),
                       TicketEvent(ticket_id=ticket.id, kind="response", at=NOW, data={}),
                       Setting(key=ALERT_WATCH_KEY, value=watch)])
        state = read_state(db_url, alerts=True)
        assert state is not None and state.alert_watch == watch
        with db.session() as s:  # the ORM's view of the same counts and highest ids
            tickets, events = s.scalar(select(func.max(Ticket.id))), s.scalar(
                select(func.max(TicketEvent.id)))
        assert state.facts == (1, tickets, 2, events, 0, 0)
    finally:
        db.dispose()


def test_an_unmigrated_database_is_not_judged(db_url: str) -> None:
    assert read_state(db_url) is None


@pytest.mark.parametrize("url", [
    "sqlite://", "sqlite:///:memory:", "mysql+pymysql://root@127.0.0.1/test",
    "postgresql+psycopg2://postgres@127.0.0.1/test", "sqlite:////nonexistent/dir/x.db",
    "postgresql+psycopg://nobody@127.0.0.1:1/none",
])
def test_urls_it_cannot_or_need_not_read_give_none(url: str) -> None:
    assert read_state(url) is None


def test_a_file_that_is_no_database_gives_none(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    path.write_bytes(b"not sqlite at all" * 100)
    assert read_state(f"sqlite:///{path}") is None
