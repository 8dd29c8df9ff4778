"""Ticket clocks: running, at risk, met, breached, paused, and priority changes (by hand)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mailtriage.config import CalendarConfig, SlaConfig
from mailtriage.errors import UsageError
from mailtriage.sla.calendar import BusinessCalendar
from mailtriage.sla.clocks import (
    Pause,
    PriorityChange,
    TicketFacts,
    next_status_change,
    ticket_clocks,
)

Z = ZoneInfo("Europe/Amsterdam")
SLA = SlaConfig()
CAL = BusinessCalendar.from_config(CalendarConfig())
H = timedelta(hours=1)


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=Z)


TUE = at(2025, 3, 11, 10)  # Tuesday 11 March 2025 10:00, high: response 12:00, resolution 14:00


@pytest.mark.parametrize(
    ("label", "facts", "now", "response", "resolution"),
    [
        # (status, due, elapsed) for each clock
        ("running", TicketFacts(TUE, "high"), at(2025, 3, 11, 11),
         ("running", at(2025, 3, 11, 12), H), ("running", at(2025, 3, 11, 14), H)),
        ("response at risk at 75%", TicketFacts(TUE, "high"), at(2025, 3, 11, 11, 30),
         ("at_risk", at(2025, 3, 11, 12), 1.5 * H),
         ("running", at(2025, 3, 11, 14), 1.5 * H)),
        ("due instant itself is not yet late", TicketFacts(TUE, "high"), at(2025, 3, 11, 12),
         ("at_risk", at(2025, 3, 11, 12), 2 * H), ("running", at(2025, 3, 11, 14), 2 * H)),
        ("one second late", TicketFacts(TUE, "high"), at(2025, 3, 11, 12, 0, 1),
         ("breached", at(2025, 3, 11, 12), 2 * H + timedelta(seconds=1)),
         ("running", at(2025, 3, 11, 14), 2 * H + timedelta(seconds=1))),
        ("response met, resolution at risk",
         TicketFacts(TUE, "high", first_response_at=at(2025, 3, 11, 11, 45)),
         at(2025, 3, 11, 13),
         ("met", at(2025, 3, 11, 12), timedelta(hours=1, minutes=45)),
         ("at_risk", at(2025, 3, 11, 14), 3 * H)),
        ("response exactly on time",
         TicketFacts(TUE, "high", first_response_at=at(2025, 3, 11, 12)), at(2025, 3, 11, 12),
         ("met", at(2025, 3, 11, 12), 2 * H), ("running", at(2025, 3, 11, 14), 2 * H)),
        ("late response, resolved in time",
         TicketFacts(TUE, "high", first_response_at=at(2025, 3, 11, 12, 30),
                     resolved_at=at(2025, 3, 11, 13, 30)),
         at(2025, 3, 12, 9),
         ("breached", at(2025, 3, 11, 12), 2.5 * H), ("met", at(2025, 3, 11, 14), 3.5 * H)),
        ("facts after now have not happened",
         TicketFacts(TUE, "high", first_response_at=at(2025, 3, 11, 11)), at(2025, 3, 11, 10, 30),
         ("running", at(2025, 3, 11, 12), 0.5 * H), ("running", at(2025, 3, 11, 14), 0.5 * H)),
        # A closed pause: resolution due 14:00 + 2 h; the response clock does not pause.
        ("pause of two hours",
         TicketFacts(TUE, "high", pauses=(Pause(at(2025, 3, 11, 11), at(2025, 3, 11, 13)),)),
         at(2025, 3, 11, 14),
         ("breached", at(2025, 3, 11, 12), 4 * H), ("running", at(2025, 3, 11, 16), 2 * H)),
        # An open pause: the due shown holds if the customer answers now.
        ("waiting on the customer",
         TicketFacts(TUE, "high", pauses=(Pause(at(2025, 3, 11, 11)),)), at(2025, 3, 11, 12),
         ("at_risk", at(2025, 3, 11, 12), 2 * H), ("paused", at(2025, 3, 11, 15), H)),
        # Medium from Tue 10:00, paused Tue 15:00 - Wed 10:00 (3.5 office hours): 5 h before,
        # 11 h after: Wed 10-17 (7 h) and Thu 08:30-12:30. Response: Tue 7 h, Wed 09:30.
        ("pause over the night",
         TicketFacts(TUE, "medium",
                     pauses=(Pause(at(2025, 3, 11, 15), at(2025, 3, 12, 10)),)),
         at(2025, 3, 12, 11),
         ("breached", at(2025, 3, 12, 9, 30), 9.5 * H),
         ("running", at(2025, 3, 13, 12, 30), 6 * H)),
    ],
)
def test_clock_states(label: str, facts: TicketFacts, now: datetime,
                      response: tuple[str, datetime, timedelta],
                      resolution: tuple[str, datetime, timedelta]) -> None:
    clocks = ticket_clocks(facts, now, CAL, SLA)
    got_response = (clocks.response.status, clocks.response.due, clocks.response.elapsed)
    got_resolution = (clocks.resolution.status, clocks.resolution.due, clocks.resolution.elapsed)
    assert got_response == response, label
    assert got_resolution == resolution, label
    assert clocks.flagged is False


@pytest.mark.parametrize(
    ("label", "facts", "now", "response", "resolution"),
    [
        # high from Tue 10:00: response 2 h (at risk at 1.5 h: 11:30), resolution 4 h (13:00)
        ("both running", TicketFacts(TUE, "high"), at(2025, 3, 11, 10, 30),
         at(2025, 3, 11, 11, 30), at(2025, 3, 11, 13)),
        # at risk: the next change is the breach, just after the due instant
        ("response at risk", TicketFacts(TUE, "high"), at(2025, 3, 11, 11, 45),
         at(2025, 3, 11, 12), at(2025, 3, 11, 13)),
        ("breached and stopped clocks change no more",
         TicketFacts(TUE, "high", first_response_at=at(2025, 3, 11, 11)), at(2025, 3, 11, 15),
         None, None),
        # waiting on the customer: only a new fact ends the pause
        ("paused", TicketFacts(TUE, "high", pauses=(Pause(at(2025, 3, 11, 10, 30)),)),
         at(2025, 3, 11, 10, 45), at(2025, 3, 11, 11, 30), None),
        # medium from Tue 16:00: response 8 h at risk at 6 h: 1 h Tue, 5 h Wed from 08:30;
        # resolution 16 h at risk at 12 h: 1 h Tue, 8.5 h Wed, 2.5 h Thu from 08:30
        ("over the night", TicketFacts(at(2025, 3, 11, 16), "medium"), at(2025, 3, 11, 16, 30),
         at(2025, 3, 12, 13, 30), at(2025, 3, 13, 11)),
    ],
)
def test_next_status_change(label: str, facts: TicketFacts, now: datetime,
                            response: datetime | None, resolution: datetime | None) -> None:
    clocks = ticket_clocks(facts, now, CAL, SLA)
    got = tuple(next_status_change(c, now, CAL, SLA) for c in (clocks.response,
                                                               clocks.resolution))
    assert got == (response, resolution), label
    # At that instant the status is the next one; a microsecond before, still the old one.
    for kind, change in zip(("response", "resolution"), got, strict=True):
        if change is None:
            continue
        before = getattr(ticket_clocks(facts, now, CAL, SLA), kind).status
        just_before = getattr(ticket_clocks(facts, change - timedelta(microseconds=1), CAL,
                                            SLA), kind).status
        after_instant = change if before == "running" else change + timedelta(microseconds=1)
        after = getattr(ticket_clocks(facts, after_instant, CAL, SLA), kind).status
        assert just_before == before, (label, kind)
        assert after == ("at_risk" if before == "running" else "breached"), (label, kind)


def test_remaining_and_target() -> None:
    clocks = ticket_clocks(TicketFacts(TUE, "high"), at(2025, 3, 11, 11, 15), CAL, SLA)
    assert clocks.response.target == 2 * H
    assert clocks.response.remaining == timedelta(minutes=45)
    assert clocks.resolution.remaining == timedelta(hours=2, minutes=45)
    late = ticket_clocks(TicketFacts(TUE, "high"), at(2025, 3, 11, 16), CAL, SLA)
    assert late.resolution.status == "breached"
    assert late.resolution.remaining == timedelta(0)


def test_upgrade_after_the_new_deadline_has_passed() -> None:
    # Low on Tuesday 09:00; high on Wednesday 10:00. From the original start high would have been
    # due Tuesday 11:00 (response) and 13:00 (resolution): both past, so the clocks restart at
    # the change: Wednesday 12:00 and 14:00, flagged.
    facts = TicketFacts(at(2025, 3, 11, 9), "low",
                        priority_changes=(PriorityChange(at(2025, 3, 12, 10), "high"),))
    clocks = ticket_clocks(facts, at(2025, 3, 12, 11), CAL, SLA)
    assert clocks.priority == "high"
    assert clocks.flagged is True
    assert (clocks.response.due, clocks.response.flagged) == (at(2025, 3, 12, 12), True)
    assert (clocks.resolution.due, clocks.resolution.flagged) == (at(2025, 3, 12, 14), True)
    assert clocks.response.started_at == at(2025, 3, 12, 10)
    assert clocks.response.elapsed == H
    assert clocks.response.status == "running"
    # Before the change the ticket ran on its low targets.
    before = ticket_clocks(facts, at(2025, 3, 12, 9), CAL, SLA)
    assert before.priority == "low"
    assert before.response.due == at(2025, 3, 12, 16, 30)
    assert before.flagged is False


def test_upgrade_in_time_keeps_elapsed_time() -> None:
    facts = TicketFacts(at(2025, 3, 11, 9), "low",
                        priority_changes=(PriorityChange(at(2025, 3, 11, 10), "high"),))
    clocks = ticket_clocks(facts, at(2025, 3, 11, 10, 30), CAL, SLA)
    assert clocks.response.due == at(2025, 3, 11, 11)
    assert clocks.resolution.due == at(2025, 3, 11, 13)
    assert clocks.response.elapsed == 1.5 * H
    assert clocks.response.status == "at_risk"
    assert clocks.flagged is False


def test_downgrade() -> None:
    facts = TicketFacts(at(2025, 3, 11, 9), "high",
                        priority_changes=(PriorityChange(at(2025, 3, 11, 10, 30), "medium"),))
    clocks = ticket_clocks(facts, at(2025, 3, 11, 11, 30), CAL, SLA)
    assert clocks.response.due == at(2025, 3, 11, 17)
    assert clocks.resolution.due == at(2025, 3, 12, 16, 30)
    assert clocks.response.status == "running"


def test_change_after_the_response_leaves_the_response_clock() -> None:
    facts = TicketFacts(at(2025, 3, 11, 9), "low", first_response_at=at(2025, 3, 11, 9, 30),
                        priority_changes=(PriorityChange(at(2025, 3, 11, 12), "high"),))
    clocks = ticket_clocks(facts, at(2025, 3, 11, 12, 30), CAL, SLA)
    assert clocks.response.priority == "low"
    assert clocks.response.due == at(2025, 3, 12, 16, 30)
    assert clocks.response.status == "met"
    assert clocks.resolution.priority == "high"
    assert clocks.resolution.due == at(2025, 3, 11, 13)
    assert clocks.resolution.status == "at_risk"  # 3.5 h of 4


def test_change_keeps_pauses_and_flags_only_the_late_clock() -> None:
    # Medium from 09:00, waiting on the customer 10:00-12:00, high at 12:30.
    # Resolution from the start: 1 h, pause, 3 h from 12:00 -> 15:00, not past: kept.
    # Response (no pauses): 09:00 + 2 h = 11:00, past at 12:30 -> 12:30 + 2 h = 14:30, flagged.
    facts = TicketFacts(at(2025, 3, 11, 9), "medium",
                        priority_changes=(PriorityChange(at(2025, 3, 11, 12, 30), "high"),),
                        pauses=(Pause(at(2025, 3, 11, 10), at(2025, 3, 11, 12)),))
    clocks = ticket_clocks(facts, at(2025, 3, 11, 13), CAL, SLA)
    assert (clocks.resolution.due, clocks.resolution.flagged) == (at(2025, 3, 11, 15), False)
    assert clocks.resolution.elapsed == 2 * H
    assert (clocks.response.due, clocks.response.flagged) == (at(2025, 3, 11, 14, 30), True)
    assert clocks.response.elapsed == 0.5 * H
    assert clocks.flagged is True


def test_low_working_days_with_a_pause() -> None:
    # Low from Monday 10:00 is due next Monday 10:00; a pause of one office hour on Tuesday
    # moves it to 11:00.
    facts = TicketFacts(at(2025, 3, 10, 10), "low",
                        pauses=(Pause(at(2025, 3, 11, 9), at(2025, 3, 11, 10)),))
    clocks = ticket_clocks(facts, at(2025, 3, 12, 10), CAL, SLA)
    assert clocks.resolution.due == at(2025, 3, 17, 11)
    assert clocks.resolution.target == timedelta(hours=42, minutes=30)


def test_bad_facts() -> None:
    with pytest.raises(UsageError):
        ticket_clocks(TicketFacts(TUE, "high", resolved_at=at(2025, 3, 11, 9)),
                      at(2025, 3, 11, 12), CAL, SLA)
    with pytest.raises(UsageError):
        ticket_clocks(TicketFacts(TUE, "urgent"), at(2025, 3, 11, 12), CAL, SLA)
    with pytest.raises(UsageError):
        ticket_clocks(TicketFacts(TUE, "high"), datetime(2025, 3, 11, 12), CAL, SLA)
