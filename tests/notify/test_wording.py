"""Dates and deadlines in words, independent of the process locale."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from mailtriage.errors import UsageError
from mailtriage.notify.wording import Wording

AMS = ZoneInfo("Europe/Amsterdam")
NL = Wording("nl", AMS, 2025)
EN = Wording("en", AMS, 2025)


@pytest.mark.parametrize(("moment", "nl", "en"), [
    (datetime(2025, 3, 17, 10, 0, tzinfo=AMS),
     "uiterlijk maandag 17 maart om 10:00", "by Monday 17 March at 10:00"),
    # 09:00 UTC is 10:00 in Amsterdam in winter (CET, +01:00)
    (datetime(2025, 3, 17, 9, 0, tzinfo=UTC),
     "uiterlijk maandag 17 maart om 10:00", "by Monday 17 March at 10:00"),
    # after the switch to summer time (30 March 2025) 08:00 UTC is 10:00 CEST
    (datetime(2025, 3, 31, 8, 0, tzinfo=UTC),
     "uiterlijk maandag 31 maart om 10:00", "by Monday 31 March at 10:00"),
    (datetime(2025, 5, 1, 16, 5, tzinfo=AMS),
     "uiterlijk donderdag 1 mei om 16:05", "by Thursday 1 May at 16:05"),
    (datetime(2025, 8, 3, 8, 30, tzinfo=AMS),
     "uiterlijk zondag 3 augustus om 08:30", "by Sunday 3 August at 08:30"),
    (datetime(2026, 1, 2, 9, 0, tzinfo=AMS),
     "uiterlijk vrijdag 2 januari 2026 om 09:00", "by Friday 2 January 2026 at 09:00"),
])
def test_deadline_words(moment: datetime, nl: str, en: str) -> None:
    assert NL.deadline(moment) == nl
    assert EN.deadline(moment) == en


def test_every_month_and_weekday_name() -> None:
    # The 1st of each month of 2025, weekdays worked out on a calendar.
    expected_nl = ["woensdag 1 januari", "zaterdag 1 februari", "zaterdag 1 maart",
                   "dinsdag 1 april", "donderdag 1 mei", "zondag 1 juni", "dinsdag 1 juli",
                   "vrijdag 1 augustus", "maandag 1 september", "woensdag 1 oktober",
                   "zaterdag 1 november", "maandag 1 december"]
    assert [NL.day(date(2025, m, 1)) for m in range(1, 13)] == expected_nl
    assert EN.day(date(2025, 9, 1)) == "Monday 1 September"


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(UsageError):
        NL.deadline(datetime(2025, 3, 17, 10, 0))


@pytest.mark.parametrize(("lo", "hi", "nl", "en"), [
    (0, 4, "0 tot 4 uur", "0 to 4 hours"),
    (8, None, "meer dan 8 uur", "more than 8 hours"),
    (2.5, 6, "2.5 tot 6 uur", "2.5 to 6 hours"),
])
def test_hours_band(lo: float, hi: float | None, nl: str, en: str) -> None:
    assert NL.hours_band(lo, hi) == nl
    assert EN.hours_band(lo, hi) == en


def test_priority_words() -> None:
    assert [NL.priority(p) for p in ("high", "medium", "low")] == ["hoog", "middel", "laag"]
    assert [EN.priority(p) for p in ("high", "medium", "low")] == ["high", "medium", "low"]
