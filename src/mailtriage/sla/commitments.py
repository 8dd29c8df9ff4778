"""Commitments: which SLA a sender has, and the response and resolution deadlines of an incident.

Decisions (spec ``sla.md`` decisions 5 and 8, and the points it leaves open):

* **Customers** are matched on the sender's address, lower-cased. An entry that contains ``@`` is
  an exact address and always beats a domain entry. A domain entry (``example.nl``, a leading
  ``@`` is ignored) matches that domain and its subdomains (``mail.example.nl``); the most specific
  domain wins, so ``shop.example.nl`` beats ``example.nl``. Unknown senders get
  ``SlaConfig.default_sla``.
* **Levels.** ``guaranteed`` gives the times as a guarantee; ``aim`` and ``none`` give the same
  times as an aim (the page: customers without an SLA get the times as ``streven``), so
  ``Commitment.guaranteed`` is true only for ``guaranteed``. Other incidents and change requests
  have no clock: callers do not ask for a commitment for them.
* **Office-hour targets** count office time from the receipt: the deadline is the earliest instant
  at which that much office time has passed.
* **Working-day targets** ("5 working days") are the same clock time that many working days later:
  the clock starts at the next opening at or after receipt, and the deadline is that local clock
  time on the N-th working day after the start's date (a working day is a day with any office
  time, part days included). With the standard calendar that is exactly N times the standard
  day's office time (Monday 10:00 gives the next Monday 10:00). Where the day reached is shorter
  (24 December closes at 15:00, a short Friday) or the clock time falls in a lunch break, the
  deadline is the earliest instant with the same office-time position: the closing time before
  that clock time. So a shorter day never pushes the deadline past the N-th working day, and a
  clock that starts at opening time ends at the previous working day's closing (Tuesday 08:30
  gives the next Monday 17:00, not Tuesday 08:30). A fractional part is added as that fraction of
  the standard day's office time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from mailtriage.config import SlaConfig, SlaLevel, Target
from mailtriage.errors import UsageError
from mailtriage.sla.calendar import BusinessCalendar

PRIORITIES = ("high", "medium", "low")
_LEVELS = ("guaranteed", "aim", "none")


@dataclass(frozen=True)
class Commitment:
    """The deadlines the helpdesk commits to for one incident."""

    priority: str
    level: SlaLevel
    guaranteed: bool
    received_at: datetime
    clock_start: datetime
    response_due: datetime
    resolution_due: datetime
    response_target: timedelta
    resolution_target: timedelta


def sla_level_for(sender: str, sla: SlaConfig) -> SlaLevel:
    """The SLA level of a sender address: exact address, else the most specific domain."""
    address = sender.strip().lower()
    if address.startswith("<") and address.endswith(">"):
        address = address[1:-1]
    domain = address.rpartition("@")[2]
    best: tuple[int, SlaLevel] | None = None
    for customer in sla.customers:
        match = customer.match.strip().lower()
        if "@" in match and not match.startswith("@"):
            if match == address:
                return customer.sla
            continue
        match = match.lstrip("@").strip(".")
        if not match or not domain:
            continue
        if domain == match or domain.endswith("." + match):
            specificity = match.count(".") + 1
            if best is None or specificity > best[0]:
                best = (specificity, customer.sla)
    return best[1] if best is not None else sla.default_sla


def target_for(priority: str, sla: SlaConfig) -> Target:
    """The configured target of a priority; a UsageError for an unknown priority."""
    try:
        return sla.targets[priority]
    except KeyError:
        allowed = ", ".join(sorted(sla.targets))
        raise UsageError(f"Unknown priority \"{priority}\"; use one of {allowed}.") from None


def working_days_deadline(start: datetime, days: float, calendar: BusinessCalendar) -> datetime:
    """The deadline ``days`` working days after ``start`` (see the module docstring)."""
    if days < 0:
        raise UsageError("A number of working days cannot be negative.")
    opening = calendar.next_opening(start)
    whole = math.floor(days)
    fraction = days - whole
    if whole == 0:
        due = opening
    else:
        day = calendar.add_working_days(opening.date(), whole)
        candidate = datetime.combine(day, opening.time(), tzinfo=calendar.zone)
        due = calendar.earliest_equivalent(candidate)
    if fraction:
        due = calendar.deadline(due, calendar.standard_day() * fraction)
    return due


def resolution_deadline(start: datetime, target: Target, calendar: BusinessCalendar) -> datetime:
    """The resolution deadline of a target for a clock starting at ``start``."""
    if target.resolution_working_days is not None:
        return working_days_deadline(start, target.resolution_working_days, calendar)
    if target.resolution_hours is None:
        raise UsageError("This priority has no resolution target.")
    return calendar.deadline(start, timedelta(hours=target.resolution_hours))


def resolution_target(start: datetime, target: Target, calendar: BusinessCalendar) -> timedelta:
    """The resolution target as office time for a clock starting at ``start``.

    Working-day targets become the office time between the start and their deadline.
    """
    if target.resolution_working_days is not None:
        due = working_days_deadline(start, target.resolution_working_days, calendar)
        return calendar.office_time(start, due)
    if target.resolution_hours is None:
        raise UsageError("This priority has no resolution target.")
    return timedelta(hours=target.resolution_hours)


def response_target(target: Target) -> timedelta:
    """The response target as office time."""
    return timedelta(hours=target.response_hours)


def commitment_for(priority: str, received_at: datetime, level: SlaLevel | str,
                   calendar: BusinessCalendar, sla: SlaConfig) -> Commitment:
    """The commitment for an incident of ``priority`` received at ``received_at``.

    ``level`` is "guaranteed", "aim" or "none" (as :func:`sla_level_for` gives it).
    """
    target = target_for(priority, sla)
    if level not in _LEVELS:
        raise UsageError(f"Unknown SLA level \"{level}\"; use guaranteed, aim or none.")
    checked = cast(SlaLevel, level)
    local = calendar.to_local(received_at)
    response = response_target(target)
    response_due = calendar.deadline(local, response)
    resolution_due = resolution_deadline(local, target, calendar)
    return Commitment(
        priority=priority,
        level=checked,
        guaranteed=checked == "guaranteed",
        received_at=received_at,
        clock_start=calendar.next_opening(local),
        response_due=response_due,
        resolution_due=resolution_due,
        response_target=response,
        resolution_target=(
            calendar.office_time(local, resolution_due)
            if target.resolution_working_days is not None
            else timedelta(hours=target.resolution_hours or 0)
        ),
    )


def commitment_for_sender(priority: str, received_at: datetime, sender: str,
                          calendar: BusinessCalendar, sla: SlaConfig) -> Commitment:
    """``commitment_for`` with the level looked up from the sender's address."""
    return commitment_for(priority, received_at, sla_level_for(sender, sla), calendar, sla)
