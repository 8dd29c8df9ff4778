"""Staff alerts: due events, office hours, one batched mail per run, never twice for one event.

Every test works on Tuesday 11 March 2025 (and the days around it) in Europe/Amsterdam, with the
default calendar (Monday to Friday 08:30-17:00) and targets (high: response 2 h, resolution 4 h;
medium: 8 h and 16 h), at_risk_fraction 0.75. Expected deadlines are worked out by hand in the
comments.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy import text as sa_text

from mailtriage.config import Config, DatabaseConfig, NotifyConfig
from mailtriage.services.alert_watch import AlertWatch
from mailtriage.services.alerts import due_alerts, queue_alerts
from mailtriage.services.commitments import CommitmentCalculator
from mailtriage.services.corrections import apply_correction
from mailtriage.store.database import Database
from mailtriage.store.models import OutboxItem, Setting, Ticket, TicketEvent
from mailtriage.store.probe import ALERT_WATCH_KEY, FACTS, facts_fingerprint

AMS = ZoneInfo("Europe/Amsterdam")
STAFF = "dienst@example.test"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in March 2025, Amsterdam time (CET, UTC+1), as UTC."""
    return datetime(2025, 3, day, hour, minute, tzinfo=AMS).astimezone(UTC)


@pytest.fixture
def config(db_url: str, tmp_path: Path) -> Config:
    return Config(database=DatabaseConfig(url=db_url),
                  notify=NotifyConfig(staff_alert_address=STAFF, helpdesk_name="CARE Helpdesk"))


_numbers = iter(range(1001, 10_000))


def add_ticket(db: Database, *, received: datetime, priority: str | None = "high",
               type_: str = "incident", subject: str = "Website ligt plat",
               status: str = "new", first_response_at: datetime | None = None,
               events: tuple[tuple[str, datetime, dict[str, Any]], ...] = ()) -> int:
    """A ticket as the intake stores it, with its deadlines computed; returns its number."""
    calc = CommitmentCalculator(Config())
    c = calc.for_ticket(requester="klant@klant.example", type_=type_, priority=priority,
                        received_at=received)
    with db.session() as s:
        number = int(s.scalar(select(func.coalesce(func.max(Ticket.number), 1000))) or 1000) + 1
        t = Ticket(number=number, subject=subject, requester="klant@klant.example",
                   requester_name="Klant", sla_level=c.sla_level, language="nl", type=type_,
                   priority=priority, confidence=0.9, status=status, received_at=received,
                   response_due=c.response_due, resolution_due=c.resolution_due,
                   first_response_at=first_response_at)
        s.add(t)
        s.flush()
        for kind, when, data in events:
            s.add(TicketEvent(ticket_id=t.id, kind=kind, at=when, data=data))
        return number


def alert_rows(db: Database) -> list[OutboxItem]:
    with db.session() as s:
        return list(s.scalars(select(OutboxItem).where(OutboxItem.kind == "alert")
                              .order_by(OutboxItem.id)).all())


def alert_events(db: Database) -> list[tuple[int, str, str]]:
    """(ticket number, alert kind, due) of every recorded alert."""
    with db.session() as s:
        rows = s.execute(select(Ticket.number, TicketEvent.data).join(
            Ticket, Ticket.id == TicketEvent.ticket_id).where(TicketEvent.kind == "alert")
            .order_by(TicketEvent.id)).all()
    return [(n, d["alert"], d["due"]) for n, d in rows]


def text_of(row: OutboxItem) -> tuple[EmailMessage, str]:
    msg = cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(row.body))
    part = msg.get_body(("plain",))
    assert part is not None
    return msg, cast(EmailMessage, part).get_content()


def run(config: Config, db: Database, now: datetime) -> tuple[int, str]:
    report = queue_alerts(config, db, now)
    return report.items, report.skipped


# -- a new high-priority incident ---------------------------------------------------------------


def test_new_high_incident_gives_one_alert_to_the_staff_address(config: Config,
                                                                db: Database) -> None:
    number = add_ticket(db, received=at(11, 10, 0))
    assert run(config, db, at(11, 10, 5)) == (1, "")
    [row] = alert_rows(db)
    assert row.recipient == STAFF and row.recipients == [STAFF]
    assert row.sender == "helpdesk@example.test"  # alerts use our address, not the null path
    assert row.status == "pending" and row.ticket_id is None
    msg, text = text_of(row)
    assert msg["Subject"] == f"Nieuw incident met hoge prioriteit: Website ligt plat [#{number}]"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["To"] == STAFF
    # Received 10:00, response within 2 office hours: 12:00 the same day.
    assert f"#{number} Nieuw incident met hoge prioriteit (prioriteit hoog)" in text
    assert "Termijn: uiterlijk dinsdag 11 maart om 12:00" in text
    assert "Van: klant@klant.example" in text
    assert alert_events(db) == [(number, "new_high", "")]


def test_never_twice_for_the_same_event(config: Config, db: Database) -> None:
    add_ticket(db, received=at(11, 10, 0))
    assert run(config, db, at(11, 10, 5))[0] == 1
    assert run(config, db, at(11, 10, 6)) == (0, "nothing to report")
    assert run(config, db, at(11, 10, 30)) == (0, "nothing to report")
    assert len(alert_rows(db)) == 1


def test_medium_and_low_incidents_and_other_types_raise_no_new_ticket_alert(
        config: Config, db: Database) -> None:
    add_ticket(db, received=at(11, 10, 0), priority="medium")
    add_ticket(db, received=at(11, 10, 0), priority="low")
    add_ticket(db, received=at(11, 10, 0), priority=None, type_="change")
    add_ticket(db, received=at(11, 10, 0), priority=None, type_="other")
    assert run(config, db, at(11, 10, 5)) == (0, "nothing to report")
    assert alert_rows(db) == []


def test_answered_resolved_and_closed_high_tickets_raise_nothing(config: Config,
                                                                 db: Database) -> None:
    add_ticket(db, received=at(11, 9, 0), first_response_at=at(11, 9, 10), status="open")
    add_ticket(db, received=at(11, 9, 0), status="resolved")
    add_ticket(db, received=at(11, 9, 0), status="closed")
    # 10:00: the answered ticket's resolution clock used 1 of its 4 hours: running.
    assert run(config, db, at(11, 10, 0)) == (0, "nothing to report")


# -- office hours ---------------------------------------------------------------------------------


@pytest.mark.parametrize("now, open_", [
    (at(11, 8, 29), False),   # before opening
    (at(11, 8, 30), True),    # opening included
    (at(11, 16, 59), True),
    (at(11, 17, 0), False),   # closing excluded
    (at(15, 11, 0), False),   # Saturday
    (at(10, 12, 0), True),    # Monday
])
def test_alerts_only_inside_office_hours(config: Config, db: Database, now: datetime,
                                         open_: bool) -> None:
    add_ticket(db, received=at(7, 10, 0))  # Friday 7 March, still unanswered
    items, skipped = run(config, db, now)
    if open_:
        assert items >= 1 and skipped == ""
        assert len(alert_rows(db)) == 1
    else:
        assert (items, skipped) == (0, "outside office hours")
        assert alert_rows(db) == [] and alert_events(db) == []


def test_events_of_the_night_wait_for_the_morning_and_report_the_current_state(
        config: Config, db: Database) -> None:
    number = add_ticket(db, received=at(11, 16, 0))
    # Tuesday 16:00 high: response 1 h on Tuesday + 1 h from Wednesday 08:30 = Wed 09:30;
    # resolution 1 h + 3 h = Wed 11:30.
    assert run(config, db, at(11, 18, 0)) == (0, "outside office hours")
    assert run(config, db, at(12, 7, 0)) == (0, "outside office hours")
    # Wednesday 10:00: the response deadline passed (breached, never reported as at risk);
    # the resolution clock used 2.5 of 4 hours (62.5 %): running.
    assert run(config, db, at(12, 10, 0)) == (2, "")
    assert sorted(alert_events(db)) == sorted([
        (number, "new_high", ""),
        (number, "response_breached", at(12, 9, 30).isoformat(timespec="seconds")),
    ])


def test_no_staff_address_means_no_alerts(config: Config, db: Database) -> None:
    add_ticket(db, received=at(11, 10, 0))
    plain = replace(config, notify=NotifyConfig())
    assert run(plain, db, at(11, 10, 5)) == (
        0, "no staff alert address configured (notify.staff_alert_address)")
    assert alert_rows(db) == [] and alert_events(db) == []
    # Configured later, the event is still reported once.
    assert run(config, db, at(11, 10, 6))[0] == 1


# -- deadlines at risk, then missed ------------------------------------------------------------


def test_response_and_resolution_at_risk_then_breached_are_four_distinct_alerts(
        config: Config, db: Database) -> None:
    number = add_ticket(db, received=at(11, 9, 0), priority="medium")
    # Medium, received Tue 09:00: response 8 office hours -> Tue 17:00 (8 h of office time
    # from 09:00 is 09:00-17:00 = 8 h). At risk from 6 h: Tue 15:00.
    # Resolution 16 office hours: Tue 09:00-17:00 (8 h) + Wed 08:30-16:30 (8 h) = Wed 16:30;
    # at risk from 12 h: Wed 08:30 + 4 h = Wed 12:30.
    response_due = at(11, 17, 0).isoformat(timespec="seconds")
    resolution_due = at(12, 16, 30).isoformat(timespec="seconds")
    assert run(config, db, at(11, 14, 59)) == (0, "nothing to report")
    assert run(config, db, at(11, 15, 0)) == (1, "")
    assert alert_events(db)[-1] == (number, "response_at_risk", response_due)
    assert run(config, db, at(11, 16, 59)) == (0, "nothing to report")
    # Wednesday 08:30 is past Tue 17:00: the response deadline was missed.
    assert run(config, db, at(12, 8, 30)) == (1, "")
    assert alert_events(db)[-1] == (number, "response_breached", response_due)
    assert run(config, db, at(12, 12, 29)) == (0, "nothing to report")
    assert run(config, db, at(12, 12, 30)) == (1, "")
    assert alert_events(db)[-1] == (number, "resolution_at_risk", resolution_due)
    assert run(config, db, at(12, 16, 30)) == (0, "nothing to report")  # not yet past it
    assert run(config, db, at(12, 16, 31)) == (1, "")
    assert alert_events(db)[-1] == (number, "resolution_breached", resolution_due)
    assert run(config, db, at(13, 9, 0)) == (0, "nothing to report")
    rows = alert_rows(db)
    assert len(rows) == 4
    subjects = [text_of(r)[0]["Subject"] for r in rows]
    assert subjects == [
        f"Reactietermijn dreigt te verlopen: Website ligt plat [#{number}]",
        f"Reactietermijn verlopen: Website ligt plat [#{number}]",
        f"Oplostermijn dreigt te verlopen: Website ligt plat [#{number}]",
        f"Oplostermijn verlopen: Website ligt plat [#{number}]",
    ]
    assert "Termijn: uiterlijk woensdag 12 maart om 16:30" in text_of(rows[3])[1]


def test_a_response_stops_the_response_alerts_but_not_the_resolution_alerts(
        config: Config, db: Database) -> None:
    number = add_ticket(db, received=at(11, 9, 0), first_response_at=at(11, 9, 30),
                        status="open")
    # High, Tue 09:00: resolution 4 h -> 13:00, at risk from 3 h -> 12:00. The response clock
    # stopped at 09:30 (met): nothing about it, and no new-ticket alert for an answered ticket.
    assert run(config, db, at(11, 12, 0)) == (1, "")
    assert alert_events(db) == [(number, "resolution_at_risk",
                                 at(11, 13, 0).isoformat(timespec="seconds"))]


def test_waiting_on_the_customer_pauses_the_resolution_alerts(config: Config,
                                                              db: Database) -> None:
    add_ticket(db, received=at(11, 9, 0), first_response_at=at(11, 9, 30), status="waiting",
               events=(("status_changed", at(11, 9, 30), {"from": "open", "to": "waiting"}),))
    # Without the pause the resolution deadline (13:00) would have passed at 14:00.
    assert run(config, db, at(11, 14, 0)) == (0, "nothing to report")


def test_a_staff_correction_that_moves_the_deadline_gives_a_new_alert(config: Config,
                                                                      db: Database) -> None:
    number = add_ticket(db, received=at(11, 9, 0), priority="medium")
    assert run(config, db, at(11, 15, 0)) == (1, "")  # medium response at risk, due Tue 17:00
    apply_correction(config, db, number, actor="anna", priority="high", now=at(11, 15, 10))
    # High from receipt would be due 11:00, before the change: the clock restarts at the
    # change, 15:10 + 2 h = 1 h 50 on Tuesday + 10 min on Wednesday = Wed 08:40. Resolution:
    # 15:10 + 4 h = 1 h 50 + 2 h 10 = Wed 10:40.
    assert run(config, db, at(11, 15, 15)) == (1, "")
    assert alert_events(db)[-1] == (number, "new_high", "")
    # At risk from 1.5 h after 15:10 = 16:40.
    assert run(config, db, at(11, 16, 40)) == (1, "")
    assert alert_events(db)[-1] == (number, "response_at_risk",
                                    at(12, 8, 40).isoformat(timespec="seconds"))
    assert [k for _, k, _ in alert_events(db)] == ["response_at_risk", "new_high",
                                                   "response_at_risk"]


# -- batching ------------------------------------------------------------------------------------


def test_all_due_events_of_a_run_go_out_in_one_mail(config: Config, db: Database) -> None:
    a = add_ticket(db, received=at(11, 9, 0), priority="medium", subject="Formulier kapot")
    b = add_ticket(db, received=at(10, 9, 0), priority="high", subject="Webshop plat",
                   first_response_at=at(10, 9, 5), status="open")
    c = add_ticket(db, received=at(11, 14, 50), priority="high", subject="Server onbereikbaar")
    add_ticket(db, received=at(11, 14, 0), priority="low", subject="Typfout")
    # At Tue 15:00: a's response (due 17:00) is at risk; b's resolution (Mon 09:00 + 4 h =
    # Mon 13:00) was missed; c is a new high incident (response due 16:50).
    assert run(config, db, at(11, 15, 0)) == (3, "")
    [row] = alert_rows(db)
    msg, text = text_of(row)
    assert msg["Subject"] == "CARE Helpdesk: 3 tickets vragen aandacht"
    assert "Deze 3 tickets vragen aandacht:" in text
    # Missed deadlines first, then new incidents, then deadlines at risk.
    flat = " ".join(text.split())  # long list items are wrapped at 76 columns
    expected = [
        f"- #{b} Oplostermijn verlopen (prioriteit hoog): Webshop plat",
        f"- #{c} Nieuw incident met hoge prioriteit (prioriteit hoog): Server onbereikbaar",
        f"- #{a} Reactietermijn dreigt te verlopen (prioriteit middel): Formulier kapot",
    ]
    positions = [flat.find(e) for e in expected]
    assert -1 not in positions and positions == sorted(positions)
    assert text.count("\n- #") == 3
    assert "uiterlijk maandag 10 maart om 13:00" in text
    assert "uiterlijk dinsdag 11 maart om 16:50" in text
    assert "uiterlijk dinsdag 11 maart om 17:00" in text
    assert sorted(n for n, _, _ in alert_events(db)) == sorted([a, b, c])
    with db.session() as s:
        outbox_ids = {e.data["outbox_id"] for e in s.scalars(
            select(TicketEvent).where(TicketEvent.kind == "alert"))}
    assert outbox_ids == {row.id}


def test_alert_language_follows_the_default_language(config: Config, db: Database) -> None:
    english = replace(config, notify=replace(config.notify, default_language="en"))
    a = add_ticket(db, received=at(11, 10, 0))
    b = add_ticket(db, received=at(11, 10, 0), subject="Mail komt niet aan")
    assert run(english, db, at(11, 10, 5)) == (2, "")
    [row] = alert_rows(db)
    msg, text = text_of(row)
    assert msg["Subject"] == "CARE Helpdesk: 2 tickets need attention"
    assert msg["Content-Language"] == "en"
    assert f"#{a} New high-priority incident (high priority): Website ligt plat" in text
    assert f"#{b} New high-priority incident (high priority): Mail komt niet aan" in text
    assert "by Tuesday 11 March at 12:00" in text


def test_each_batch_has_its_own_dedup_key(config: Config, db: Database) -> None:
    add_ticket(db, received=at(11, 10, 0))
    run(config, db, at(11, 10, 5))
    add_ticket(db, received=at(11, 10, 0))
    run(config, db, at(11, 10, 5))  # same second, second batch
    rows = alert_rows(db)
    assert len(rows) == 2 and rows[0].dedup_key != rows[1].dedup_key


def test_due_alerts_is_read_only(config: Config, db: Database) -> None:
    add_ticket(db, received=at(11, 10, 0))
    calc = CommitmentCalculator(config)
    with db.session() as s:
        first = [a.item.kind for a in due_alerts(s, calc, at(11, 10, 5))]
        second = [a.item.kind for a in due_alerts(s, calc, at(11, 10, 5))]
    assert first == second == ["new_high"]
    assert alert_rows(db) == [] and alert_events(db) == []


# -- the watch a pass leaves for the runs after it ---------------------------------------------


def watch_of(db: Database) -> AlertWatch:
    with db.session() as s:
        row = s.get(Setting, ALERT_WATCH_KEY)
        assert row is not None
        watch = AlertWatch.from_json(row.value)
    assert watch is not None
    return watch


def facts_now(db: Database) -> tuple[int, ...]:
    with db.session() as s:
        return facts_fingerprint(s.execute(sa_text(FACTS)).one())


@pytest.mark.parametrize(("tickets", "now", "until", "skipped"), [
    # nothing open: the office closing at 17:00 (or opening at 08:30) is the next change
    ((), at(11, 10, 0), at(11, 17, 0), "nothing to report"),
    ((), at(11, 18, 0), at(12, 8, 30), "outside office hours"),
    # medium from 10:00: response at risk at 6 of 8 h (16:00), resolution at 12 of 16 h
    # (Wed 13:30): the earliest is 16:00
    (((at(11, 10, 0), "medium"),), at(11, 10, 5), at(11, 16, 0), "nothing to report"),
    # high from 10:00, alerted as new: response at risk at 1.5 of 2 h (11:30)
    (((at(11, 10, 0), "high"),), at(11, 10, 5), at(11, 11, 30), "nothing to report"),
    # at risk since 11:30: breached just after 12:00
    (((at(11, 10, 0), "high"),), at(11, 11, 45), at(11, 12, 0), "nothing to report"),
    # closed: however close a deadline, the next pass that can alert is at the opening
    (((at(11, 16, 0), "high"),), at(11, 20, 0), at(12, 8, 30), "outside office hours"),
])
def test_a_pass_leaves_the_instant_of_the_next_possible_alert(
        config: Config, db: Database, tickets: tuple[tuple[datetime, str], ...],
        now: datetime, until: datetime, skipped: str) -> None:
    for received, priority in tickets:
        add_ticket(db, received=received, priority=priority)
    before = facts_now(db)
    run(config, db, now)
    watch = watch_of(db)
    assert (watch.until, watch.skipped) == (until, skipped)
    assert watch.facts == before  # read before the pass recorded its own alerts
    assert watch.holds(config, before, until - timedelta(microseconds=1))


def _two_days(config: Config, db: Database, *, use_watch: bool) -> tuple[int, int]:
    """Runs every five minutes from Tue 08:00 to Thu 08:00; with ``use_watch`` a run passes
    only when the watch does not hold, and checks that a pass then would have found nothing.
    Returns (passes, runs)."""
    add_ticket(db, received=at(11, 9, 0), priority="high")
    add_ticket(db, received=at(11, 9, 40), priority="medium")
    add_ticket(db, received=at(11, 11, 0), priority="low")
    add_ticket(db, received=at(11, 9, 0), priority="high", first_response_at=at(11, 9, 20),
               status="waiting",
               events=(("status_changed", at(11, 9, 20), {"from": "open", "to": "waiting"}),))
    calc = CommitmentCalculator(config)
    now, passes, runs = at(11, 8, 0), 0, 0
    while now < at(13, 8, 0):
        runs += 1
        watch = watch_of(db) if passes else None
        if use_watch and watch is not None and watch.holds(config, facts_now(db), now):
            if calc.calendar.is_open(now):
                with db.session() as s:
                    assert due_alerts(s, calc, now) == [], now
            assert watch.skipped == ("nothing to report" if calc.calendar.is_open(now)
                                     else "outside office hours"), now
        else:
            passes += 1
            run(config, db, now)
        if now == at(12, 12, 0):  # a staff correction is a new fact: the next run passes
            apply_correction(config, db, 1003, actor="anna", priority="high", now=now)
        now += timedelta(minutes=5)
    return passes, runs


def alerts_with_times(db: Database) -> list[tuple[int, str, str, datetime]]:
    with db.session() as s:
        rows = s.execute(select(Ticket.number, TicketEvent.data, TicketEvent.at).join(
            Ticket, Ticket.id == TicketEvent.ticket_id).where(TicketEvent.kind == "alert")
            .order_by(TicketEvent.at, Ticket.number)).all()
    return [(n, d["alert"], d["due"], when) for n, d, when in rows]


def test_with_the_watch_the_same_alerts_go_out_at_the_same_runs(
        config: Config, db: Database, tmp_path: Path) -> None:
    """The watch never hides or delays an alert, and spares most passes."""
    passes, runs = _two_days(config, db, use_watch=True)
    reference = Database(f"sqlite:///{tmp_path / 'every-run.db'}")
    reference.migrate()
    try:
        every = replace(config, database=DatabaseConfig(reference.url))
        assert _two_days(every, reference, use_watch=False) == (runs, runs)
        expected = alerts_with_times(reference)
    finally:
        reference.dispose()
    # new high, both clocks at risk and breached (1001, and 1003 once corrected to high),
    # and of the medium 1002 all but its resolution breach (Thursday morning)
    assert len(expected) == 13
    assert alerts_with_times(db) == expected
    assert passes < runs / 10, (passes, runs)
