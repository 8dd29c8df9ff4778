"""Staff corrections: audited, deadlines recomputed, learnt from, and the customer told once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mailtriage.config import Config, CustomerConfig, DatabaseConfig, SlaConfig
from mailtriage.errors import NotFoundError, UsageError
from mailtriage.services.commitments import CommitmentCalculator
from mailtriage.services.corrections import apply_correction
from mailtriage.store.database import Database
from mailtriage.store.models import (
    Classification,
    Correction,
    Message,
    OutboxItem,
    Ticket,
    TicketEvent,
    TrainingExample,
)

AMS = ZoneInfo("Europe/Amsterdam")
RECEIVED = datetime(2025, 3, 11, 10, 0, tzinfo=AMS)  # Tuesday 10:00


@pytest.fixture
def config(db_url: str) -> Config:
    return Config(database=DatabaseConfig(url=db_url),
                  sla=SlaConfig(customers=(CustomerConfig("klant.nl", "guaranteed"),)))


def seed(db: Database, config: Config, *, type_: str = "incident",
         priority: str | None = "medium", status: str = "new",
         requester: str | None = "jan@klant.nl") -> int:
    c = CommitmentCalculator(config).for_ticket(requester=requester, type_=type_,
                                                priority=priority, received_at=RECEIVED)
    with db.session() as s:
        t = Ticket(number=1001, subject="Zoekfunctie traag", requester=requester,
                   requester_name="Jan", sla_level=c.sla_level, language="nl", type=type_,
                   priority=priority, confidence=0.7, status=status, received_at=RECEIVED,
                   response_due=c.response_due, resolution_due=c.resolution_due,
                   needs_review=True)
        s.add(t)
        s.flush()
        s.add(Message(ticket_id=t.id, mailbox="helpdesk", sha256="a" * 64,
                      message_id="<first@klant.nl>", sender=requester,
                      subject="Zoekfunctie traag", received_at=RECEIVED, outcome="ticket",
                      text="De zoekfunctie is traag.", new_text="De zoekfunctie is traag."))
        s.add(Classification(ticket_id=t.id, type=type_, priority=priority, confidence=0.7,
                             needs_review=True, source="auto"))
    return 1001


def at(minutes: int) -> datetime:
    return (RECEIVED + timedelta(minutes=minutes)).astimezone(UTC)


def test_medium_to_high_recomputes_the_deadlines_and_queues_one_update(config: Config,
                                                                       db: Database) -> None:
    number = seed(db, config)
    result = apply_correction(config, db, number, actor="anna", priority="high",
                              note="hele zoekfunctie ligt eruit", now=at(30))
    # Medium from Tue 10:00: response Wed 09:30 (7 h + 1 h), resolution Thu 09:00.
    assert datetime.fromisoformat(result.before["response_due"]) == datetime(
        2025, 3, 12, 9, 30, tzinfo=AMS)
    assert datetime.fromisoformat(result.before["resolution_due"]) == datetime(
        2025, 3, 13, 9, 0, tzinfo=AMS)
    # High from receipt: 12:00 and 14:00, after the change at 10:30, so no restart.
    assert datetime.fromisoformat(result.after["response_due"]) == datetime(
        2025, 3, 11, 12, 0, tzinfo=AMS)
    assert datetime.fromisoformat(result.after["resolution_due"]) == datetime(
        2025, 3, 11, 14, 0, tzinfo=AMS)
    assert result.commitment_changed and result.customer_update == "update to jan@klant.nl"
    with db.session() as s:
        t = s.scalar(select(Ticket))
        assert t is not None
        assert (t.priority, t.needs_review, t.confidence, t.decided_by) == (
            "high", False, 1.0, "staff: anna")
        assert t.reasons == ["corrected by anna: hele zoekfunctie ligt eruit"]
        assert t.sla_flagged is False
        [event] = s.scalars(select(TicketEvent).where(TicketEvent.kind == "priority_changed"))
        assert (event.actor, event.data, event.at) == ("anna", {"from": "medium",
                                                                "to": "high"}, at(30))
        [correction] = s.scalars(select(Correction))
        assert (correction.actor, correction.note) == ("anna", "hele zoekfunctie ligt eruit")
        assert correction.before["priority"] == "medium"
        assert correction.after["priority"] == "high"
        sources = s.scalars(select(Classification.source).order_by(Classification.id)).all()
        assert sources == ["auto", "staff"]
        [example] = s.scalars(select(TrainingExample))
        assert (example.source, example.label_type, example.label_priority, example.weight) == (
            "correction", "incident", "high", config.classify.correction_weight)
        assert example.body == "De zoekfunctie is traag."
        [update] = s.scalars(select(OutboxItem))
        assert (update.kind, update.recipient, update.status) == ("update", "jan@klant.nl",
                                                                  "pending")
        assert update.dedup_key == f"update:{t.id}:{correction.id}"
        assert b"uiterlijk dinsdag 11 maart om 12:00" in update.body.replace(b"=\r\n", b"")


def test_a_late_upgrade_restarts_the_clock_at_the_change_and_flags_it(config: Config,
                                                                      db: Database) -> None:
    number = seed(db, config)
    # At 13:00 the high deadline from receipt (12:00) has passed: restart at 13:00 + 2 h.
    result = apply_correction(config, db, number, actor="anna", priority="high", now=at(180))
    assert datetime.fromisoformat(result.after["response_due"]) == datetime(
        2025, 3, 11, 15, 0, tzinfo=AMS)
    with db.session() as s:
        t = s.scalar(select(Ticket))
        assert t is not None and t.sla_flagged is True


def test_correcting_twice_keeps_one_training_example_and_sends_two_updates(
        config: Config, db: Database) -> None:
    number = seed(db, config)
    apply_correction(config, db, number, actor="anna", priority="high", now=at(30))
    apply_correction(config, db, number, actor="bert", priority="low", now=at(40))
    with db.session() as s:
        examples = s.scalars(select(TrainingExample)).all()
        assert [e.label_priority for e in examples] == ["low"]
        keys = s.scalars(select(OutboxItem.dedup_key).order_by(OutboxItem.id)).all()
        assert len(keys) == 2 and len(set(keys)) == 2
        assert len(s.scalars(select(Correction)).all()) == 2


def test_no_update_when_the_commitment_did_not_change(config: Config, db: Database) -> None:
    number = seed(db, config)
    result = apply_correction(config, db, number, actor="anna", priority="medium",
                              status="open", now=at(30))
    assert not result.commitment_changed and result.customer_update == "none"
    with db.session() as s:
        assert s.scalars(select(OutboxItem)).all() == []
        assert s.scalars(select(TicketEvent.kind)).all() == ["status_changed"]
        # Confirming the classification still ends the review and teaches the model.
        t = s.scalar(select(Ticket))
        assert t is not None and t.needs_review is False and t.status == "open"
        assert len(s.scalars(select(TrainingExample)).all()) == 1


def test_confirming_the_priority_is_no_change_and_sends_no_update(config: Config,
                                                                  db: Database) -> None:
    number = seed(db, config)
    result = apply_correction(config, db, number, actor="anna", priority="medium", now=at(30))
    # The stored deadlines (read back in UTC) equal the recomputed ones (in the calendar zone).
    assert result.before["response_due"] == result.after["response_due"]
    assert not result.commitment_changed and result.customer_update == "none"
    with db.session() as s:
        assert s.scalars(select(OutboxItem)).all() == []


def test_no_update_for_a_resolved_ticket_or_when_switched_off(config: Config,
                                                              db: Database) -> None:
    number = seed(db, config)
    result = apply_correction(config, db, number, actor="anna", priority="high",
                              status="resolved", now=at(30))
    assert result.commitment_changed and result.customer_update == "none"
    with db.session() as s:
        t = s.scalar(select(Ticket))
        assert t is not None and t.resolved_at == at(30)
    quiet = replace(config, notify=replace(config.notify, update_on_correction=False))
    result = apply_correction(quiet, db, number, actor="anna", priority="low", status="open",
                              now=at(40))
    assert result.commitment_changed and result.customer_update == "none"
    with db.session() as s:
        assert s.scalars(select(OutboxItem)).all() == []
        t = s.scalar(select(Ticket))
        assert t is not None and t.resolved_at is None


def test_incident_to_change_drops_priority_and_deadlines(config: Config, db: Database) -> None:
    number = seed(db, config)
    result = apply_correction(config, db, number, actor="anna", type_="change",
                              change_hours=6.0, now=at(30))
    assert result.after["type"] == "change" and result.after["priority"] is None
    assert result.after["response_due"] is None and result.after["resolution_due"] is None
    with db.session() as s:
        t = s.scalar(select(Ticket))
        assert t is not None and t.change_window is not None
        assert t.change_window["earliest"] is not None
        [update] = s.scalars(select(OutboxItem))
        assert b"wijziging" in update.body


@pytest.mark.parametrize("kwargs, message", [
    ({"priority": "urgent"}, "Unknown priority"),
    ({"type_": "question"}, "Unknown type"),
    ({"status": "gone"}, "Unknown status"),
    ({"change_hours": 0.0}, "positive number of hours"),
    ({}, "Nothing to correct"),
    ({"type_": "other", "priority": "high"}, "Only incidents have a priority"),
])
def test_invalid_corrections_change_nothing(config: Config, db: Database,
                                            kwargs: dict[str, object], message: str) -> None:
    number = seed(db, config)
    with pytest.raises(UsageError, match=message):
        apply_correction(config, db, number, actor="anna", now=at(30),
                         **kwargs)  # type: ignore[arg-type]
    with db.session() as s:
        assert s.scalars(select(Correction)).all() == []
        t = s.scalar(select(Ticket))
        assert t is not None and t.priority == "medium"


def test_an_incident_needs_a_priority(config: Config, db: Database) -> None:
    seed(db, config, type_="other", priority=None)
    with pytest.raises(UsageError, match="An incident needs a priority"):
        apply_correction(config, db, 1001, actor="anna", type_="incident", now=at(30))


def test_unknown_ticket(config: Config, db: Database) -> None:
    with pytest.raises(NotFoundError, match="#4242"):
        apply_correction(config, db, 4242, actor="anna", priority="high", now=at(30))
