"""Change-request windows, size bands, agreed dates and workload (dates counted by hand)."""

from __future__ import annotations

from datetime import date

import pytest

from mailtriage.config import CalendarConfig, SlaConfig
from mailtriage.errors import UsageError
from mailtriage.sla.calendar import BusinessCalendar
from mailtriage.sla.changes import (
    ChangeWindow,
    TargetTerm,
    change_window,
    current_workload,
    derive_workload,
    size_band,
    target_terms,
)

CAL = BusinessCalendar.from_config(CalendarConfig())


@pytest.mark.parametrize(
    ("label", "start", "hours", "workload", "earliest", "latest"),
    [
        # The spec's example: +5 is Thu 21 May (Ascension skipped), +10 is Fri 29 May (Whit
        # Monday skipped), Friday is no delivery day.
        ("spec example, 4 h counts as 0-4", date(2026, 5, 13), 4, "low",
         date(2026, 5, 21), date(2026, 5, 28)),
        # +10 Fri 29 May -> Mon 1 Jun; +15 Fri 5 Jun -> Thu 4 Jun.
        ("0-4 high", date(2026, 5, 13), 2, "high", date(2026, 6, 1), date(2026, 6, 4)),
        ("4-8 low", date(2026, 5, 13), 4.5, "low", date(2026, 6, 1), date(2026, 6, 4)),
        # +20 Fri 12 Jun -> Mon 15 Jun; +25 Fri 19 Jun -> Thu 18 Jun.
        ("4-8 high, 8 h counts as 4-8", date(2026, 5, 13), 8, "high",
         date(2026, 6, 15), date(2026, 6, 18)),
        ("plain weeks", date(2026, 3, 2), 2, "low", date(2026, 3, 9), date(2026, 3, 16)),
        ("starts on a friday", date(2026, 3, 6), 2, "low", date(2026, 3, 16), date(2026, 3, 19)),
        ("starts on a sunday", date(2026, 3, 8), 0, "low", date(2026, 3, 16), date(2026, 3, 19)),
        # 16, 17, 18, 19, 22 -> Mon 22 Dec; 23, 24 (part day counts), 29, 30, 31 -> Wed 31 Dec.
        ("christmas", date(2025, 12, 15), 1, "low", date(2025, 12, 22), date(2025, 12, 31)),
    ],
)
def test_window(label: str, start: date, hours: float, workload: str, earliest: date,
                latest: date) -> None:
    got = change_window(start, hours, workload, CAL)  # type: ignore[arg-type]
    assert (got.kind, got.earliest, got.latest) == ("window", earliest, latest), label


def test_over_eight_hours_needs_an_agreed_date() -> None:
    got = change_window(date(2026, 5, 13), 8.01, "low", CAL)
    assert got == ChangeWindow("agreed", band=">8", workload="low")
    agreed = change_window(date(2026, 5, 13), 12, "high", CAL, agreed=date(2026, 5, 21))
    assert (agreed.kind, agreed.agreed) == ("agreed", date(2026, 5, 21))
    small = change_window(date(2026, 5, 13), 2, "low", CAL, agreed=date(2026, 6, 2))
    assert (small.kind, small.agreed, small.earliest) == ("agreed", date(2026, 6, 2), None)


@pytest.mark.parametrize("day", [
    date(2026, 5, 22),  # a Friday
    date(2026, 5, 23),  # a Saturday
    date(2026, 5, 14),  # Ascension, a Thursday
    date(2026, 5, 25),  # Whit Monday
])
def test_agreed_date_must_be_a_delivery_day(day: date) -> None:
    with pytest.raises(UsageError):
        change_window(date(2026, 5, 13), 12, "low", CAL, agreed=day)


def test_generic_code_goes_into_a_next_release() -> None:
    got = change_window(date(2026, 5, 13), 3, "low", CAL, generic=True)
    assert (got.kind, got.earliest, got.latest, got.agreed) == ("next_release", None, None, None)


@pytest.mark.parametrize(("hours", "band"), [
    (0, "0-4"), (4, "0-4"), (4.0001, "4-8"), (8, "4-8"), (8.5, ">8"),
])
def test_size_band(hours: float, band: str) -> None:
    assert size_band(hours) == band


@pytest.mark.parametrize("hours", [-1, float("nan")])
def test_impossible_estimates(hours: float) -> None:
    with pytest.raises(UsageError):
        change_window(date(2026, 5, 13), hours, "low", CAL)


def test_target_terms_table() -> None:
    assert target_terms() == (
        TargetTerm("0-4", "low", 1, 2),
        TargetTerm("0-4", "high", 2, 3),
        TargetTerm("4-8", "low", 2, 3),
        TargetTerm("4-8", "high", 4, 5),
    )
    assert [t.band for t in target_terms("high")] == ["0-4", "4-8"]


@pytest.mark.parametrize(("backlog", "capacity", "expected"), [
    (0, 40, "low"), (40, 40, "low"), (40.5, 40, "high"), (100, 40, "high"),
])
def test_derive_workload(backlog: float, capacity: float, expected: str) -> None:
    assert derive_workload(backlog, capacity) == expected


def test_current_workload() -> None:
    assert current_workload(SlaConfig(), 41) == "high"
    assert current_workload(SlaConfig(change_capacity_hours=100), 41) == "low"
    assert current_workload(SlaConfig(workload="low"), 1000) == "low"
    assert current_workload(SlaConfig(workload="high"), 0) == "high"
