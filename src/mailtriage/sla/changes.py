"""Change requests: the target delivery window, agreed dates, and the current workload.

Rules (spec ``sla.md`` decision 10, and the points it leaves open):

* A week is five working days (days with office time; part days count, holidays do not).
* A delivery day is a working day from Monday to Thursday.
* The window runs from the first delivery day on or after start + low x 5 working days to the last
  delivery day on or before start + high x 5 working days; the start is a local date (the day the
  estimate was accepted, or receipt) and is not itself counted. Should holidays ever leave no
  delivery day between the two, the window is that one earliest delivery day.
* Size bands include their upper bound: up to and including 4 hours is "0-4", more than 4 up to
  and including 8 hours is "4-8", more than 8 hours needs a deadline agreed with the customer.
* An agreed date wins for any size and must be a delivery day. Work on the generic code gets no
  date: "next release" (this wins over everything else).
* Workload is set by staff (``SlaConfig.workload`` "low"/"high") or, when "auto", derived: high
  when the open change backlog exceeds ``SlaConfig.change_capacity_hours``, else low.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from mailtriage.config import SlaConfig, Workload
from mailtriage.errors import ConfigError, UsageError
from mailtriage.sla.calendar import BusinessCalendar

WindowKind = Literal["window", "agreed", "next_release"]
SizeBand = Literal["0-4", "4-8", ">8"]

WORKING_DAYS_PER_WEEK = 5
DELIVERY_WEEKDAYS = frozenset({0, 1, 2, 3})  # Monday to Thursday
_SEARCH_DAYS = 3660


@dataclass(frozen=True)
class TargetTerm:
    """One row of the standard target terms: a size band at a workload, in weeks."""

    band: SizeBand
    workload: Workload
    min_weeks: int
    max_weeks: int


# The page's table "Streeftermijnen"; over 8 hours the deadline is agreed with the customer.
TARGET_TERMS: tuple[TargetTerm, ...] = (
    TargetTerm("0-4", "low", 1, 2),
    TargetTerm("0-4", "high", 2, 3),
    TargetTerm("4-8", "low", 2, 3),
    TargetTerm("4-8", "high", 4, 5),
)


@dataclass(frozen=True)
class ChangeWindow:
    """The answer for one change request."""

    kind: WindowKind
    band: SizeBand | None = None
    workload: Workload | None = None
    earliest: date | None = None
    latest: date | None = None
    agreed: date | None = None


def target_terms(workload: Workload | None = None) -> tuple[TargetTerm, ...]:
    """The standard terms, for both workloads or only one."""
    return tuple(t for t in TARGET_TERMS if workload is None or t.workload == workload)


def size_band(hours: float) -> SizeBand:
    """The size band of an estimate in hours (upper bounds inclusive)."""
    if hours < 0 or hours != hours:
        raise UsageError(f"An estimate of {hours} hours is not possible.")
    if hours <= 4:
        return "0-4"
    if hours <= 8:
        return "4-8"
    return ">8"


def derive_workload(open_backlog_hours: float, capacity_hours: float) -> Workload:
    """High when the open change backlog exceeds the capacity, else low."""
    if capacity_hours <= 0:
        raise UsageError("The change capacity must be greater than zero.")
    return "high" if open_backlog_hours > capacity_hours else "low"


def current_workload(sla: SlaConfig, open_backlog_hours: float) -> Workload:
    """The workload set by staff in the configuration, or derived from the backlog."""
    if sla.workload == "auto":
        return derive_workload(open_backlog_hours, sla.change_capacity_hours)
    return sla.workload


def is_delivery_day(day: date, calendar: BusinessCalendar) -> bool:
    """A Monday-to-Thursday working day."""
    return day.weekday() in DELIVERY_WEEKDAYS and calendar.is_working_day(day)


def _step_to_delivery(day: date, calendar: BusinessCalendar, step: int) -> date:
    for _ in range(_SEARCH_DAYS):
        if is_delivery_day(day, calendar):
            return day
        day += timedelta(days=step)
    raise ConfigError("The calendar has no delivery day (Monday to Thursday with office hours).",
                      "calendar")


def _first_delivery_on_or_after(day: date, calendar: BusinessCalendar) -> date:
    return _step_to_delivery(day, calendar, 1)


def _last_delivery_on_or_before(day: date, calendar: BusinessCalendar) -> date:
    return _step_to_delivery(day, calendar, -1)


def change_window(start: date, hours: float, workload: Workload, calendar: BusinessCalendar, *,
                  generic: bool = False, agreed: date | None = None) -> ChangeWindow:
    """The target window of a change request accepted (or received) on ``start``."""
    if workload not in ("low", "high"):
        raise UsageError(f"Unknown workload \"{workload}\"; use low or high.")
    band = size_band(hours)
    if generic:
        return ChangeWindow("next_release", band=band, workload=workload)
    if agreed is not None:
        if not is_delivery_day(agreed, calendar):
            raise UsageError(f"The agreed date {agreed.isoformat()} is not a delivery day "
                             "(a working day from Monday to Thursday).")
        return ChangeWindow("agreed", band=band, workload=workload, agreed=agreed)
    if band == ">8":
        return ChangeWindow("agreed", band=band, workload=workload)
    term = next(t for t in TARGET_TERMS if t.band == band and t.workload == workload)
    low_day = calendar.add_working_days(start, term.min_weeks * WORKING_DAYS_PER_WEEK)
    high_day = calendar.add_working_days(start, term.max_weeks * WORKING_DAYS_PER_WEEK)
    earliest = _first_delivery_on_or_after(low_day, calendar)
    latest = _last_delivery_on_or_before(high_day, calendar)
    latest = max(latest, earliest)
    return ChangeWindow("window", band=band, workload=workload, earliest=earliest, latest=latest)
