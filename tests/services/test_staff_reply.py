"""A staff reply is threaded, queued in the outbox, and counts as the first response."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

import pytest
from sqlalchemy import select

from mailtriage.config import Config, DatabaseConfig
from mailtriage.errors import NotFoundError, UsageError
from mailtriage.services.staff_reply import send_staff_reply
from mailtriage.store.database import Database
from mailtriage.store.models import Message, OutboxItem, Ticket, TicketEvent

RECEIVED = datetime(2025, 3, 11, 9, 0, tzinfo=UTC)  # Tue 10:00 in Amsterdam


@pytest.fixture
def world(db_url: str) -> tuple[Config, Database]:
    config = Config(database=DatabaseConfig(db_url))
    db = Database(db_url)
    db.migrate()
    with db.session() as s:
        t = Ticket(number=1001, subject="Webshop ligt eruit", requester="jan@klant.example",
                   requester_name="Jan", type="incident", priority="high", language="nl",
                   received_at=RECEIVED, status="new")
        s.add(t)
        s.flush()
        s.add(Message(ticket_id=t.id, mailbox="m", sha256="a" * 64, message_id="<first@klant>",
                      sender="jan@klant.example", received_at=RECEIVED, outcome="ticket"))
    return config, db


def test_reply_is_threaded_queued_and_a_response(world: tuple[Config, Database]) -> None:
    config, db = world
    now = datetime(2025, 3, 11, 10, 30, tzinfo=UTC)
    result = send_staff_reply(config, db, 1001, actor="anna", text="We kijken ernaar.",
                              now=now, then_status="waiting")
    assert result.first_response and result.status == "waiting"
    with db.session() as s:
        t = s.scalar(select(Ticket))
        assert t is not None
        assert t.first_response_at == now
        assert t.status == "waiting"
        row = s.scalar(select(OutboxItem))
        assert row is not None and row.kind == "reply" and row.recipients == ["jan@klant.example"]
        msg = BytesParser(policy=policy.default).parsebytes(row.body)
        assert msg["In-Reply-To"] == "<first@klant>"
        assert "[#1001]" in msg["Subject"]
        assert msg["Auto-Submitted"] is None  # written by a person
        kinds = [e.kind for e in s.scalars(select(TicketEvent))]
        assert "response" in kinds and "status_changed" in kinds
        out = s.scalar(select(Message).where(Message.direction == "out"))
        assert out is not None and out.text == "We kijken ernaar."
    # a second reply is no first response and leaves the first time alone
    later = datetime(2025, 3, 11, 11, 0, tzinfo=UTC)
    again = send_staff_reply(config, db, 1001, actor="anna", text="Update.", now=later)
    assert not again.first_response
    with db.session() as s:
        t = s.scalar(select(Ticket))
        assert t is not None and t.first_response_at == now


@pytest.mark.parametrize(("number", "text", "error"), [
    (999, "x", NotFoundError), (1001, "   ", UsageError)])
def test_refusals(world: tuple[Config, Database], number: int, text: str,
                  error: type[Exception]) -> None:
    config, db = world
    with pytest.raises(error):
        send_staff_reply(config, db, number, actor="anna", text=text,
                         now=datetime(2025, 3, 11, 10, 30, tzinfo=UTC))
