"""The business calendar: office time, deadlines, openings, holidays and closing days.

Every expected value below was worked out by hand from the office hours (08:30-17:00 unless a
test says otherwise) and the holidays of the ``holidays`` package 0.109 for NL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailtriage.config import CalendarConfig, PartDay
from mailtriage.errors import UsageError
from mailtriage.sla.calendar import BusinessCalendar, ClosingDay

Z = ZoneInfo("Europe/Amsterdam")
WEEK = ((time(8, 30), time(17, 0)),)
LUNCH = ((time(8, 30), time(12, 0)), (time(12, 30), time(17, 0)))


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0,
       fold: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, us, tzinfo=Z, fold=fold)


def cal(**kwargs: object) -> BusinessCalendar:
    return BusinessCalendar.from_config(CalendarConfig(**kwargs))  # type: ignore[arg-type]


DEFAULT = cal()
LUNCH_CAL = cal(hours=(LUNCH,) * 5 + ((), ()))
SHORT_FRIDAY = cal(hours=(WEEK,) * 4 + (((time(8, 30), time(12, 0)),), (), ()))
SUNDAY_ONLY = cal(hours=((),) * 6 + (((time(0, 0), time(23, 59, 59)),),))

H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("label", "calendar", "start", "office", "expected"),
    [
        # The spec's worked examples, both targets of each row.
        ("tue 10:00 +2h", DEFAULT, at(2025, 3, 11, 10), 2 * H, at(2025, 3, 11, 12)),
        ("tue 10:00 +4h", DEFAULT, at(2025, 3, 11, 10), 4 * H, at(2025, 3, 11, 14)),
        ("fri 16:30 +2h", DEFAULT, at(2025, 3, 14, 16, 30), 2 * H, at(2025, 3, 17, 10)),
        ("fri 16:30 +4h", DEFAULT, at(2025, 3, 14, 16, 30), 4 * H, at(2025, 3, 17, 12)),
        ("wed 03:00 +8h", DEFAULT, at(2025, 3, 12, 3), 8 * H, at(2025, 3, 12, 16, 30)),
        ("wed 03:00 +16h", DEFAULT, at(2025, 3, 12, 3), 16 * H, at(2025, 3, 13, 16)),
        ("tue 09:00 +8h lands on closing", DEFAULT, at(2026, 9, 8, 9), 8 * H,
         at(2026, 9, 8, 17)),
        ("tue 09:00 +16h", DEFAULT, at(2026, 9, 8, 9), 16 * H, at(2026, 9, 9, 16, 30)),
        # Closing time, exactly 17:00:00, Sunday, holiday.
        ("15:00 +2h reads 17:00", DEFAULT, at(2025, 3, 11, 15), 2 * H, at(2025, 3, 11, 17)),
        ("arrives 17:00:00", DEFAULT, at(2025, 3, 11, 17), 2 * H, at(2025, 3, 12, 10, 30)),
        ("arrives 16:59:59", DEFAULT, at(2025, 3, 11, 16, 59, 59), 2 * H,
         at(2025, 3, 12, 10, 29, 59)),
        ("sunday", DEFAULT, at(2025, 3, 16, 12), 2 * H, at(2025, 3, 17, 10, 30)),
        ("easter monday 2025", DEFAULT, at(2025, 4, 21, 10), 2 * H, at(2025, 4, 22, 10, 30)),
        ("good friday is a working day", DEFAULT, at(2025, 4, 18, 10), 2 * H,
         at(2025, 4, 18, 12)),
        ("seconds and microseconds kept", DEFAULT, at(2025, 3, 11, 10, 15, 37, 250000), 2 * H,
         at(2025, 3, 11, 12, 15, 37, 250000)),
        ("zero office time", DEFAULT, at(2025, 3, 15, 3), timedelta(0), at(2025, 3, 15, 3)),
        # Daylight saving time, both changes of 2025 and 2026.
        ("spring 2025 across the weekend", DEFAULT, at(2025, 3, 28, 16), 2 * H,
         at(2025, 3, 31, 9, 30)),
        ("autumn 2025 across the weekend", DEFAULT, at(2025, 10, 24, 16), 4 * H,
         at(2025, 10, 27, 11, 30)),
        ("spring 2026 +8h", DEFAULT, at(2026, 3, 27, 16, 30), 8 * H, at(2026, 3, 30, 16)),
        ("spring 2026 +16h", DEFAULT, at(2026, 3, 27, 16, 30), 16 * H, at(2026, 3, 31, 15, 30)),
        ("autumn 2026, ambiguous hour fold=0", DEFAULT, at(2026, 10, 25, 2, 30, fold=0), 2 * H,
         at(2026, 10, 26, 10, 30)),
        ("autumn 2026, ambiguous hour fold=1", DEFAULT, at(2026, 10, 25, 2, 30, fold=1), 2 * H,
         at(2026, 10, 26, 10, 30)),
        ("autumn 2025, ambiguous hour fold=1", DEFAULT, at(2025, 10, 26, 2, 30, fold=1), 4 * H,
         at(2025, 10, 27, 12, 30)),
        ("spring 2025, hour that does not exist", DEFAULT, at(2025, 3, 30, 2, 30), 2 * H,
         at(2025, 3, 31, 10, 30)),
        # Holidays.
        ("koningsdag 2025 is a saturday", DEFAULT, at(2025, 4, 25, 16), 2 * H,
         at(2025, 4, 28, 9, 30)),
        ("koningsdag 2026 monday", DEFAULT, at(2026, 4, 24, 16), 2 * H, at(2026, 4, 28, 9, 30)),
        ("bevrijdingsdag 2025 (lustrum) closed", DEFAULT, at(2025, 5, 2, 16), 2 * H,
         at(2025, 5, 6, 9, 30)),
        ("bevrijdingsdag 2026 open", DEFAULT, at(2026, 5, 4, 16), 2 * H, at(2026, 5, 5, 9, 30)),
        ("ascension 2025", DEFAULT, at(2025, 5, 28, 16), 2 * H, at(2025, 5, 30, 9, 30)),
        ("ascension 2026", DEFAULT, at(2026, 5, 13, 16), 2 * H, at(2026, 5, 15, 9, 30)),
        ("whit monday 2025", DEFAULT, at(2025, 6, 6, 16), 2 * H, at(2025, 6, 10, 9, 30)),
        ("whit monday 2026", DEFAULT, at(2026, 5, 22, 16), 2 * H, at(2026, 5, 26, 9, 30)),
        ("christmas eve part day then christmas", DEFAULT, at(2025, 12, 24, 14), 2 * H,
         at(2025, 12, 29, 9, 30)),
        ("24 dec deadline on 15:00", DEFAULT, at(2025, 12, 24, 13), 2 * H,
         at(2025, 12, 24, 15)),
        ("24 dec after 15:00", DEFAULT, at(2025, 12, 24, 15, 30), 2 * H,
         at(2025, 12, 29, 10, 30)),
        ("new year", DEFAULT, at(2025, 12, 31, 16), 4 * H, at(2026, 1, 2, 11, 30)),
        ("christmas 2026 friday", DEFAULT, at(2026, 12, 24, 14), 2 * H,
         at(2026, 12, 28, 9, 30)),
        # A lunch break and a short Friday.
        ("lunch: across the break", LUNCH_CAL, at(2025, 3, 11, 11), 2 * H,
         at(2025, 3, 11, 13, 30)),
        ("lunch: lands on the break", LUNCH_CAL, at(2025, 3, 11, 10), 2 * H,
         at(2025, 3, 11, 12)),
        ("lunch: arrives in the break", LUNCH_CAL, at(2025, 3, 11, 12, 10), 1 * H,
         at(2025, 3, 11, 13, 30)),
        ("short friday: lands on 12:00", SHORT_FRIDAY, at(2025, 3, 14, 11), 1 * H,
         at(2025, 3, 14, 12)),
        ("short friday: into monday", SHORT_FRIDAY, at(2025, 3, 14, 11), 4 * H,
         at(2025, 3, 17, 11, 30)),
    ],
)
def test_deadline(label: str, calendar: BusinessCalendar, start: datetime, office: timedelta,
                  expected: datetime) -> None:
    got = calendar.deadline(start, office)
    assert got == expected, label
    assert got.utcoffset() == expected.utcoffset(), label
    assert got.tzinfo == Z


def test_dst_offsets_are_the_local_ones() -> None:
    assert DEFAULT.deadline(at(2025, 3, 28, 16), 2 * H).isoformat() == \
        "2025-03-31T09:30:00+02:00"
    assert DEFAULT.deadline(at(2025, 10, 24, 16), 2 * H).isoformat() == \
        "2025-10-27T09:30:00+01:00"


@pytest.mark.parametrize(
    ("calendar", "start", "end", "expected"),
    [
        (DEFAULT, at(2025, 3, 14, 16, 30), at(2025, 3, 17, 10), 2 * H),
        (DEFAULT, at(2025, 3, 10, 0), at(2025, 3, 17, 0), timedelta(hours=42, minutes=30)),
        (DEFAULT, at(2025, 3, 17, 10), at(2025, 3, 14, 16, 30), timedelta(0)),
        (DEFAULT, at(2025, 3, 15, 9), at(2025, 3, 16, 18), timedelta(0)),
        (DEFAULT, at(2025, 12, 22, 0), at(2025, 12, 29, 0), timedelta(hours=23, minutes=30)),
        (DEFAULT, at(2025, 10, 24, 16), at(2025, 10, 27, 9, 30), 2 * H),
        (LUNCH_CAL, at(2025, 3, 11, 0), at(2025, 3, 12, 0), 8 * H),
        (SHORT_FRIDAY, at(2025, 3, 14, 0), at(2025, 3, 15, 0), timedelta(hours=3, minutes=30)),
        # A 24-hour Sunday: office time is real elapsed time across the change of clocks.
        (SUNDAY_ONLY, at(2025, 3, 30), at(2025, 3, 31), timedelta(hours=22, minutes=59,
                                                                  seconds=59)),
        (SUNDAY_ONLY, at(2025, 10, 26), at(2025, 10, 27), timedelta(hours=24, minutes=59,
                                                                    seconds=59)),
        (SUNDAY_ONLY, at(2025, 10, 26, 2, 30, fold=0), at(2025, 10, 26, 2, 30, fold=1), H),
    ],
)
def test_office_time(calendar: BusinessCalendar, start: datetime, end: datetime,
                     expected: timedelta) -> None:
    assert calendar.office_time(start, end) == expected


def test_ambiguous_hour_on_an_open_sunday() -> None:
    first = at(2025, 10, 26, 2, 30, fold=0)   # 00:30 UTC
    second = at(2025, 10, 26, 2, 30, fold=1)  # 01:30 UTC
    due_first = SUNDAY_ONLY.deadline(first, H)
    due_second = SUNDAY_ONLY.deadline(second, H)
    assert due_first.astimezone(UTC) == datetime(2025, 10, 26, 1, 30, tzinfo=UTC)
    assert due_first.fold == 1 and due_first.hour == 2
    assert due_second.astimezone(UTC) == datetime(2025, 10, 26, 2, 30, tzinfo=UTC)
    assert (due_second.hour, due_second.minute) == (3, 30)


@pytest.mark.parametrize(
    ("at_", "expected"),
    [
        (at(2025, 3, 11, 10), at(2025, 3, 11, 10)),
        (at(2025, 3, 11, 8, 30), at(2025, 3, 11, 8, 30)),
        (at(2025, 3, 11, 17), at(2025, 3, 12, 8, 30)),
        (at(2025, 3, 11, 3), at(2025, 3, 11, 8, 30)),
        (at(2025, 3, 15, 12), at(2025, 3, 17, 8, 30)),
        (at(2025, 12, 24, 15), at(2025, 12, 29, 8, 30)),
        (at(2025, 12, 31, 17), at(2026, 1, 2, 8, 30)),
    ],
)
def test_next_opening(at_: datetime, expected: datetime) -> None:
    assert DEFAULT.next_opening(at_) == expected


@pytest.mark.parametrize(
    ("at_", "expected"),
    [
        # open: the end of the interval holding it (a second before closing, too)
        (at(2025, 3, 11, 10), at(2025, 3, 11, 17)),
        (at(2025, 3, 11, 16, 59, 59), at(2025, 3, 11, 17)),
        # closed (closing time itself, the night, a weekend, 24 December from 15:00): the
        # next opening
        (at(2025, 3, 11, 17), at(2025, 3, 12, 8, 30)),
        (at(2025, 3, 11, 3), at(2025, 3, 11, 8, 30)),
        (at(2025, 3, 15, 12), at(2025, 3, 17, 8, 30)),
        (at(2025, 12, 24, 14), at(2025, 12, 24, 15)),
        (at(2025, 12, 24, 15), at(2025, 12, 29, 8, 30)),
    ],
)
def test_next_change_of_open_or_closed(at_: datetime, expected: datetime) -> None:
    assert DEFAULT.next_change(at_) == expected
    assert DEFAULT.is_open(at_) is (expected.date() == at_.date() and DEFAULT.is_open(
        expected - timedelta(microseconds=1)))


def test_accepts_other_zones_and_answers_in_its_own() -> None:
    start = datetime(2025, 3, 11, 9, 0, tzinfo=UTC)  # 10:00 in Amsterdam
    due = DEFAULT.deadline(start, 2 * H)
    assert due == at(2025, 3, 11, 12)
    assert due.tzinfo == Z


@pytest.mark.parametrize("call", [
    lambda: DEFAULT.office_time(datetime(2025, 3, 11, 10), at(2025, 3, 11, 12)),
    lambda: DEFAULT.office_time(at(2025, 3, 11, 10), datetime(2025, 3, 11, 12)),
    lambda: DEFAULT.deadline(datetime(2025, 3, 11, 10), H),
    lambda: DEFAULT.next_opening(datetime(2025, 3, 11, 10)),
    lambda: DEFAULT.deadline(at(2025, 3, 11, 10), -H),
])
def test_naive_or_negative_input_is_refused(call: object) -> None:
    with pytest.raises(UsageError):
        call()  # type: ignore[operator]


def test_holiday_names_from_the_package() -> None:
    assert DEFAULT.holiday_name(date(2025, 4, 26)) == "Koningsdag"  # 27 April is a Sunday
    assert DEFAULT.holiday_name(date(2025, 4, 27)) is None
    assert DEFAULT.holiday_name(date(2026, 4, 27)) == "Koningsdag"
    assert DEFAULT.holiday_name(date(2025, 5, 5)) == "Bevrijdingsdag"
    assert DEFAULT.holiday_name(date(2026, 5, 5)) is None
    assert DEFAULT.holiday_name(date(2025, 4, 18)) is None  # Goede Vrijdag excluded
    assert not DEFAULT.is_working_day(date(2026, 5, 14))
    assert DEFAULT.is_working_day(date(2025, 12, 24))


def test_overrides_by_name() -> None:
    keeps_good_friday = cal(holidays_exclude=())
    assert keeps_good_friday.holiday_name(date(2025, 4, 18)) == "Goede vrijdag"
    assert keeps_good_friday.deadline(at(2025, 4, 17, 16), 2 * H) == at(2025, 4, 22, 9, 30)
    liberation_every_year = cal(holidays_include=("Bevrijdingsdag",))
    assert not liberation_every_year.is_working_day(date(2026, 5, 5))
    assert liberation_every_year.deadline(at(2026, 5, 4, 16), 2 * H) == at(2026, 5, 6, 9, 30)
    english_names = cal(holidays_exclude=("good friday", "Easter Monday"))
    assert english_names.is_working_day(date(2025, 4, 21))


def test_extra_closing_and_part_days() -> None:
    closed = cal(closed_days=(date(2025, 3, 12),))
    assert closed.deadline(at(2025, 3, 11, 16), 2 * H) == at(2025, 3, 13, 9, 30)
    once = cal(part_days=(PartDay("2025-03-12", time(12, 0)),))
    # 1 h on Tuesday, 3.5 h on Wednesday morning, 3.5 h on Thursday.
    assert once.deadline(at(2025, 3, 11, 16), 8 * H) == at(2025, 3, 13, 12)
    assert once.office_time(at(2026, 3, 11), at(2026, 3, 12)) == timedelta(hours=8, minutes=30)
    none = cal(part_days=())
    assert none.deadline(at(2025, 12, 24, 14), 2 * H) == at(2025, 12, 24, 16)


def test_closing_days_2025_and_2026() -> None:
    assert DEFAULT.closing_days(2025) == (
        ClosingDay(date(2025, 1, 1), "Nieuwjaarsdag", "holiday"),
        ClosingDay(date(2025, 4, 21), "Tweede paasdag", "holiday"),
        ClosingDay(date(2025, 5, 5), "Bevrijdingsdag", "holiday"),
        ClosingDay(date(2025, 5, 29), "Hemelvaartsdag", "holiday"),
        ClosingDay(date(2025, 6, 9), "Tweede pinksterdag", "holiday"),
        ClosingDay(date(2025, 12, 24), "Kerstavond", "part_day", time(15, 0)),
        ClosingDay(date(2025, 12, 25), "Eerste kerstdag", "holiday"),
        ClosingDay(date(2025, 12, 26), "Tweede kerstdag", "holiday"),
    )
    assert [(d.day, d.kind) for d in DEFAULT.closing_days(2026)] == [
        (date(2026, 1, 1), "holiday"),
        (date(2026, 4, 6), "holiday"),
        (date(2026, 4, 27), "holiday"),
        (date(2026, 5, 14), "holiday"),
        (date(2026, 5, 25), "holiday"),
        (date(2026, 12, 24), "part_day"),
        (date(2026, 12, 25), "holiday"),
    ]


def test_far_future_and_past_extend_the_timeline() -> None:
    calendar = cal()
    assert calendar.deadline(at(2031, 3, 11, 10), 2 * H) == at(2031, 3, 11, 12)
    assert calendar.deadline(at(2019, 3, 12, 10), 2 * H) == at(2019, 3, 12, 12)
    # A year-end crossing right at the edge of the first covered range.
    assert calendar.deadline(at(2033, 12, 30, 16), 4 * H) == at(2034, 1, 2, 11, 30)


def test_standard_day() -> None:
    assert DEFAULT.standard_day() == timedelta(hours=8, minutes=30)
    assert SHORT_FRIDAY.standard_day() == timedelta(hours=8, minutes=30)
    assert LUNCH_CAL.standard_day() == 8 * H


# ---------------------------------------------------------------------------------------------
# Properties

CALENDARS = st.sampled_from([DEFAULT, LUNCH_CAL, SHORT_FRIDAY])
_LO = int(datetime(2024, 12, 20, tzinfo=UTC).timestamp())
_HI = int(datetime(2027, 1, 10, tzinfo=UTC).timestamp())
INSTANTS = st.builds(
    lambda s, us: datetime.fromtimestamp(s, UTC).replace(microsecond=us).astimezone(Z),
    st.integers(_LO, _HI), st.integers(0, 999_999),
)
SPANS = st.integers(0, 80 * 3600 * 1_000_000).map(lambda us: timedelta(microseconds=us))


@settings(max_examples=300, deadline=None)
@given(CALENDARS, INSTANTS, INSTANTS, INSTANTS)
def test_office_time_is_additive(calendar: BusinessCalendar, a: datetime, b: datetime,
                                 c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    assert calendar.office_time(a, c) == calendar.office_time(a, b) + calendar.office_time(b, c)


@settings(max_examples=300, deadline=None)
@given(CALENDARS, INSTANTS, SPANS)
def test_deadline_inverts_office_time(calendar: BusinessCalendar, start: datetime,
                                      span: timedelta) -> None:
    due = calendar.deadline(start, span)
    assert due >= start
    assert calendar.office_time(start, due) == span
    if span > timedelta(0):
        one = timedelta(microseconds=1)
        # Within an office interval or at its end, never in closed time ...
        assert calendar.is_open(due - one)
        # ... and the earliest such instant.
        assert calendar.office_time(start, due - one) < span
