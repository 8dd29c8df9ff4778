"""Commitments: customer matching and the deadlines per priority, worked out by hand."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from mailtriage.config import CalendarConfig, CustomerConfig, SlaConfig, SlaLevel, Target
from mailtriage.errors import UsageError
from mailtriage.sla.calendar import BusinessCalendar
from mailtriage.sla.commitments import (
    commitment_for,
    commitment_for_sender,
    sla_level_for,
    working_days_deadline,
)

Z = ZoneInfo("Europe/Amsterdam")
SLA = SlaConfig()
DEFAULT = BusinessCalendar.from_config(CalendarConfig())
LUNCH = ((time(8, 30), time(12, 0)), (time(12, 30), time(17, 0)))
LUNCH_CAL = BusinessCalendar.from_config(CalendarConfig(hours=(LUNCH,) * 5 + ((), ())))
SHORT_FRIDAY = BusinessCalendar.from_config(CalendarConfig(
    hours=(((time(8, 30), time(17, 0)),),) * 4 + (((time(8, 30), time(12, 0)),), (), ())))


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=Z)


@pytest.mark.parametrize(
    ("received", "priority", "response", "resolution"),
    [
        # The four worked examples of the spec.
        (at(2025, 3, 11, 10), "high", at(2025, 3, 11, 12), at(2025, 3, 11, 14)),
        (at(2025, 3, 14, 16, 30), "high", at(2025, 3, 17, 10), at(2025, 3, 17, 12)),
        (at(2025, 3, 12, 3), "medium", at(2025, 3, 12, 16, 30), at(2025, 3, 13, 16)),
        (at(2026, 9, 8, 9), "medium", at(2026, 9, 8, 17), at(2026, 9, 9, 16, 30)),
        # Low: 16 office hours, and 5 working days at the same clock time.
        (at(2025, 3, 10, 10), "low", at(2025, 3, 12, 9), at(2025, 3, 17, 10)),
        # Arrives at closing: the clock starts Tuesday 08:30, five full days end Monday 17:00.
        (at(2025, 3, 10, 17), "low", at(2025, 3, 12, 16), at(2025, 3, 17, 17)),
        # Christmas: Mon 22, Tue 23, Wed 24 (part day), Mon 29, Tue 30.
        (at(2025, 12, 19, 16), "low", at(2025, 12, 23, 15), at(2025, 12, 30, 16)),
        # The fifth working day is 24 December, closed from 15:00: the deadline is 15:00.
        (at(2025, 12, 17, 16), "low", at(2025, 12, 19, 15), at(2025, 12, 24, 15)),
        # Ascension 2025 (Thursday 29 May) is skipped.
        (at(2025, 5, 28, 10), "low", at(2025, 6, 2, 9), at(2025, 6, 5, 10)),
        # High across the spring change of 2025.
        (at(2025, 3, 28, 16), "high", at(2025, 3, 31, 9, 30), at(2025, 3, 31, 11, 30)),
    ],
)
def test_commitment(received: datetime, priority: str, response: datetime,
                    resolution: datetime) -> None:
    c = commitment_for(priority, received, "guaranteed", DEFAULT, SLA)
    assert (c.response_due, c.resolution_due) == (response, resolution)
    assert c.response_due.utcoffset() == response.utcoffset()
    assert c.guaranteed is True
    assert c.priority == priority


def test_low_resolution_target_is_five_standard_days() -> None:
    c = commitment_for("low", at(2025, 3, 10, 10), "none", DEFAULT, SLA)
    assert c.resolution_target == timedelta(hours=42, minutes=30)
    assert c.response_target == timedelta(hours=16)
    # Over Christmas the five working days hold less office time (24 Dec closes at 15:00):
    # Fri 1 h + Mon 8.5 + Tue 8.5 + Wed 6.5 + Mon 8.5 + Tue 7.5 (to 16:00).
    c = commitment_for("low", at(2025, 12, 19, 16), "none", DEFAULT, SLA)
    assert c.resolution_target == timedelta(hours=40, minutes=30)


@pytest.mark.parametrize(
    ("calendar", "start", "days", "expected"),
    [
        # Arrives in the lunch break: the clock starts 12:30; Monday 12:30 is closed time, so the
        # earliest instant with the same office position is 12:00.
        (LUNCH_CAL, at(2025, 3, 10, 12, 15), 5, at(2025, 3, 17, 12)),
        (LUNCH_CAL, at(2025, 3, 10, 14), 5, at(2025, 3, 17, 14)),
        # Friday 10:00 on a short Friday: next Friday 10:00 is still open.
        (SHORT_FRIDAY, at(2025, 3, 14, 10), 5, at(2025, 3, 21, 10)),
        # Thursday 14:00: the fifth working day is a short Friday, closed from 12:00.
        (SHORT_FRIDAY, at(2025, 3, 13, 14), 6, at(2025, 3, 21, 12)),
        # Half a day more: 4 h 15 min of office time after the whole days.
        (DEFAULT, at(2025, 3, 10, 10), 5.5, at(2025, 3, 17, 14, 15)),
        (DEFAULT, at(2025, 3, 15, 10), 1, at(2025, 3, 17, 17)),
    ],
)
def test_working_days(calendar: BusinessCalendar, start: datetime, days: float,
                      expected: datetime) -> None:
    assert working_days_deadline(start, days, calendar) == expected


@pytest.mark.parametrize("level", ["guaranteed", "aim", "none"])
def test_every_level_gets_the_same_times(level: SlaLevel) -> None:
    c = commitment_for("high", at(2025, 3, 11, 10), level, DEFAULT, SLA)
    assert (c.response_due, c.resolution_due) == (at(2025, 3, 11, 12), at(2025, 3, 11, 14))
    assert c.guaranteed is (level == "guaranteed")
    assert c.level == level


CUSTOMERS = SlaConfig(customers=(
    CustomerConfig("acme.nl", "guaranteed"),
    CustomerConfig("jan@acme.nl", "none"),
    CustomerConfig("shop.acme.nl", "aim"),
    CustomerConfig("@beta.com", "aim"),
    CustomerConfig("boss@gamma.org", "guaranteed"),
))


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("piet@acme.nl", "guaranteed"),
        ("JAN@Acme.NL", "none"),            # the exact address beats the domain
        ("x@mail.acme.nl", "guaranteed"),   # subdomains belong to the domain
        ("x@shop.acme.nl", "aim"),          # the most specific domain wins
        ("x@a.shop.acme.nl", "aim"),
        ("x@badacme.nl", "none"),           # not a subdomain
        ("x@beta.com", "aim"),
        ("other@gamma.org", "none"),        # an address entry says nothing of its domain
        ("<piet@acme.nl>", "guaranteed"),
        ("", "none"),
    ],
)
def test_sla_level_for(sender: str, expected: str) -> None:
    assert sla_level_for(sender, CUSTOMERS) == expected


def test_unknown_senders_get_the_default_level() -> None:
    aim = SlaConfig(default_sla="aim", customers=CUSTOMERS.customers)
    assert sla_level_for("someone@unknown.example", aim) == "aim"
    c = commitment_for_sender("medium", at(2025, 3, 12, 3), "piet@acme.nl", DEFAULT, CUSTOMERS)
    assert c.guaranteed and c.response_due == at(2025, 3, 12, 16, 30)
    c = commitment_for_sender("medium", at(2025, 3, 12, 3), "x@nowhere.nl", DEFAULT, CUSTOMERS)
    assert not c.guaranteed and c.level == "none"


def test_configured_targets_are_used() -> None:
    sla = SlaConfig(targets={"high": Target(response_hours=1, resolution_hours=3),
                             "low": Target(response_hours=4, resolution_working_days=2)})
    c = commitment_for("high", at(2025, 3, 11, 16, 30), "aim", DEFAULT, sla)
    assert (c.response_due, c.resolution_due) == (at(2025, 3, 12, 9), at(2025, 3, 12, 11))
    c = commitment_for("low", at(2025, 3, 11, 16, 30), "aim", DEFAULT, sla)
    assert (c.response_due, c.resolution_due) == (at(2025, 3, 12, 12), at(2025, 3, 13, 16, 30))
    with pytest.raises(UsageError):
        commitment_for("medium", at(2025, 3, 11, 10), "aim", DEFAULT, sla)


def test_bad_input() -> None:
    with pytest.raises(UsageError):
        commitment_for("urgent", at(2025, 3, 11, 10), "aim", DEFAULT, SLA)
    with pytest.raises(UsageError):
        commitment_for("high", datetime(2025, 3, 11, 10), "aim", DEFAULT, SLA)
    with pytest.raises(UsageError):
        working_days_deadline(at(2025, 3, 11, 10), -1, DEFAULT)
    with pytest.raises(UsageError):
        commitment_for("high", at(2025, 3, 11, 10), "gold", DEFAULT, SLA)
