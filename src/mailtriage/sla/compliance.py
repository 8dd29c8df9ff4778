"""Compliance: per month and priority, how many response and resolution deadlines were met.

Rules (spec ``sla.md`` decision 9, and the points it leaves open):

* Each measure (response, resolution) of a ticket counts in the month its own deadline falls, in
  the calendar's zone; the two measures of one ticket may count in different months.
* A finished measure (replied or resolved at or before ``now``) is met when it finished at or
  before its deadline. An unfinished measure whose deadline has passed counts as missed. An
  unfinished measure whose deadline is still ahead is not counted yet; it shows as ``pending``.
  A ticket without a deadline for a measure (no clock) is not counted for it.
* The percentage is met / n x 100 (None when n is 0); a row passes when the percentage reaches
  the target (100% response, 85% resolution by default). With few tickets one miss fails the
  month, so every row carries n.
* Which tickets to report (for example only guaranteed ones) is the caller's choice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from mailtriage.config import SlaConfig
from mailtriage.errors import UsageError
from mailtriage.sla.calendar import to_us

PRIORITY_ORDER = ("high", "medium", "low")


@dataclass(frozen=True)
class TicketRecord:
    """What compliance needs of one ticket."""

    priority: str
    response_due: datetime | None
    responded_at: datetime | None
    resolution_due: datetime | None
    resolved_at: datetime | None
    ticket: str = ""


@dataclass(frozen=True)
class MeasureStats:
    """One measure of one month and priority."""

    n: int
    met: int
    pending: int
    percentage: float | None
    target: float
    passed: bool | None


@dataclass(frozen=True)
class ComplianceRow:
    """A month (``YYYY-MM``) and priority with its response and resolution figures."""

    month: str
    priority: str
    response: MeasureStats
    resolution: MeasureStats


def _outcome(due: datetime, done: datetime | None, now_us: int) -> bool | None:
    """True met, False missed, None not counted yet."""
    due_us = to_us(due)
    if done is not None and to_us(done) <= now_us:
        return to_us(done) <= due_us
    if due_us < now_us:
        return False
    return None


def _stats(counts: list[int], target: float) -> MeasureStats:
    n, met, pending = counts
    if n == 0:
        return MeasureStats(0, 0, pending, None, target, None)
    return MeasureStats(n, met, pending, met * 100.0 / n, target, met * 100.0 >= target * n)


def _priority_key(priority: str) -> tuple[int, str]:
    if priority in PRIORITY_ORDER:
        return (PRIORITY_ORDER.index(priority), priority)
    return (len(PRIORITY_ORDER), priority)


def compliance_report(records: Iterable[TicketRecord], now: datetime, zone: tzinfo,
                      sla: SlaConfig, *, month: str | None = None) -> tuple[ComplianceRow, ...]:
    """Rows per month and priority, oldest month first, high before medium before low.

    ``month`` (``YYYY-MM``) keeps only that month.
    """
    now_us = to_us(now)
    if month is not None:
        try:
            datetime.strptime(month, "%Y-%m")
        except ValueError:
            raise UsageError(f"The month \"{month}\" is not written as YYYY-MM.") from None
    # (month, priority) -> [response n, met, pending], [resolution n, met, pending]
    table: dict[tuple[str, str], tuple[list[int], list[int]]] = {}
    for record in records:
        for index, (due, done) in enumerate(((record.response_due, record.responded_at),
                                             (record.resolution_due, record.resolved_at))):
            if due is None:
                continue
            key = (due.astimezone(zone).strftime("%Y-%m"), record.priority)
            if month is not None and key[0] != month:
                continue
            counts = table.setdefault(key, ([0, 0, 0], [0, 0, 0]))[index]
            outcome = _outcome(due, done, now_us)
            if outcome is None:
                counts[2] += 1
            else:
                counts[0] += 1
                counts[1] += int(outcome)
    rows = [
        ComplianceRow(
            month=m,
            priority=p,
            response=_stats(resp, sla.response_target_percent),
            resolution=_stats(reso, sla.resolution_target_percent),
        )
        for (m, p), (resp, reso) in table.items()
    ]
    rows.sort(key=lambda r: (r.month, _priority_key(r.priority)))
    return tuple(rows)
