"""The business calendar: office intervals per local day, closing days, and office time arithmetic.

Every office interval is built from a local date and a local clock time in the calendar's zone,
so daylight-saving changes never shift office hours; office time is the real elapsed time inside
those intervals. Internally the calendar keeps one flat timeline of intervals in integer
microseconds since the Unix epoch, with a running total of office time, so that both
``office_time`` and ``deadline`` are two binary searches.

Rules (spec ``sla.md`` decisions 1, 3 and 4):

* Holidays are the public holidays of the ``holidays`` package (pinned 0.109) in Dutch names;
  ``holidays_exclude`` removes holidays by name (``Goede Vrijdag`` by default) and
  ``holidays_include`` adds holidays of the package's optional category by name. Names are
  compared without regard to case, in Dutch or in English.
* What ``holidays`` 0.109 says for NL, and what follows: Koningsdag 2025 is Saturday 26 April
  (27 April was a Sunday; the law moves it to the Saturday before), so no working day is lost
  that year, while Koningsdag 2026 closes Monday 27 April. Bevrijdingsdag (5 May) is a public
  holiday in the package only in lustrum years (2025, 2030, ...): closed on Monday 5 May 2025,
  open on Tuesday 5 May 2026. In other years it sits in the package's optional category; add
  ``holidays_include = ["Bevrijdingsdag"]`` to close every year.
* ``closed_days`` close a whole day; ``part_days`` (``MM-DD`` every year, ``YYYY-MM-DD`` once)
  cut every interval of that day off at the closing time. A holiday wins over a part day.
* An ambiguous local clock time (the autumn change) is read as its first occurrence (fold=0);
  a local clock time that does not exist (the spring change) is read with the offset before the
  change, as :mod:`zoneinfo` does. Office hours of the default calendar never touch these hours.
* A deadline is the earliest instant at which the office time reaches the target: a deadline
  landing on closing time reads 17:00, not the next morning. Microseconds are kept.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib

from mailtriage.config import CalendarConfig, PartDay
from mailtriage.errors import ConfigError, UsageError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = 1_000_000
_DAY_US = 86_400 * _US
# How many years a deadline may look ahead before the calendar is declared to have no office time.
_MAX_LOOKAHEAD_YEARS = 12

ClosingKind = Literal["holiday", "closed", "part_day"]

# Names of part days the office commonly has; other part days are called "Korte dag".
_PART_DAY_NAMES = {"12-24": "Kerstavond", "12-31": "Oudejaarsdag"}


@dataclass(frozen=True)
class ClosingDay:
    """A day on which the office is closed, or closes early, although its weekday has hours."""

    day: date
    name: str
    kind: ClosingKind
    closes: time | None = None


def to_us(moment: datetime) -> int:
    """An aware datetime as integer microseconds since the Unix epoch."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise UsageError(
            f"The time {moment.isoformat()} has no time zone; give an aware datetime."
        )
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds


def _us_to_td(us: int) -> timedelta:
    return timedelta(microseconds=us)


def _td_to_us(span: timedelta) -> int:
    return (span.days * 86_400 + span.seconds) * _US + span.microseconds


@dataclass(frozen=True)
class _Timeline:
    """Every office interval of the local days [first, last], with running office totals.

    Instants are epoch microseconds; ``cum_start[i]`` is the office time before interval ``i``
    starts, counted from the first interval. Never changed once built, so it can be shared.
    """

    first: date
    last: date
    lo_us: int
    hi_us: int
    starts: list[int]
    ends: list[int]
    cum_start: list[int]
    cum_end: list[int]

    def cum(self, us: int) -> int:
        """Office microseconds from the start of the timeline to ``us`` (inside it)."""
        i = bisect_right(self.starts, us) - 1
        if i < 0:
            return 0
        end = self.ends[i]
        return self.cum_start[i] + (end if us >= end else us) - self.starts[i]

    def holding(self, us: int) -> int | None:
        """The index of the office interval that holds ``us`` (inside it); None: closed."""
        i = bisect_right(self.starts, us) - 1
        return i if i >= 0 and us < self.ends[i] else None

    def earliest(self, cum: int) -> int:
        """The earliest instant whose running office total reaches ``cum`` (> 0, inside)."""
        i = bisect_left(self.cum_end, cum)
        return self.starts[i] + cum - self.cum_start[i]


def _norm(name: str) -> str:
    return " ".join(name.casefold().split())


class BusinessCalendar:
    """Office hours in one zone, with holidays, extra closing days and part days."""

    def __init__(
        self,
        zone: ZoneInfo,
        hours: Sequence[Sequence[tuple[time, time]]],
        *,
        holiday_country: str | None = "NL",
        holidays_exclude: Iterable[str] = (),
        holidays_include: Iterable[str] = (),
        closed_days: Iterable[date] = (),
        part_days: Iterable[PartDay] = (),
    ) -> None:
        if len(hours) != 7:
            raise ConfigError("'calendar' needs office hours for seven weekdays.", "calendar")
        week: list[tuple[tuple[time, time], ...]] = []
        for weekday, day in enumerate(hours):
            spans = sorted(day)
            for opens, closes in spans:
                if opens.tzinfo is not None or closes.tzinfo is not None:
                    raise ConfigError("Office hours are local clock times without a zone.",
                                      "calendar")
                if not opens < closes:
                    raise ConfigError(
                        f"Office interval {opens:%H:%M}-{closes:%H:%M} on weekday {weekday + 1} "
                        "must open before it closes.", "calendar")
            week.append(tuple(spans))
        if not any(week):
            raise ConfigError("'calendar' has no office hours on any weekday.", "calendar")
        self.zone = zone
        self.hours: tuple[tuple[tuple[time, time], ...], ...] = tuple(week)
        self.holiday_country = holiday_country
        self._exclude = frozenset(_norm(n) for n in holidays_exclude)
        self._include = frozenset(_norm(n) for n in holidays_include)
        self._closed = frozenset(closed_days)
        self._part_once: dict[date, time] = {}
        self._part_yearly: dict[tuple[int, int], time] = {}
        for pd in part_days:
            text = pd.date.strip()
            try:
                if len(text) == 5:
                    month, dom = (int(x) for x in text.split("-"))
                    date(2000, month, dom)  # validates against a leap year
                    self._part_yearly[(month, dom)] = pd.closes
                else:
                    self._part_once[date.fromisoformat(text)] = pd.closes
            except ValueError:
                raise ConfigError(f"Part day '{pd.date}' is not MM-DD or YYYY-MM-DD.",
                                  "calendar.part_days") from None
        self._holiday_years: set[int] = set()
        self._holidays: dict[date, str] = {}
        self._day_cache: dict[date, tuple[tuple[int, int], ...]] = {}
        self._timeline: _Timeline | None = None

    @classmethod
    def from_config(cls, config: CalendarConfig) -> BusinessCalendar:
        """The calendar the configuration describes."""
        try:
            zone = ZoneInfo(config.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"'calendar.timezone' names an unknown zone \"{config.timezone}\".",
                              "calendar.timezone") from None
        return cls(
            zone,
            config.hours,
            holiday_country=config.holiday_country or None,
            holidays_exclude=config.holidays_exclude,
            holidays_include=config.holidays_include,
            closed_days=config.closed_days,
            part_days=config.part_days,
        )

    # -----------------------------------------------------------------------------------------
    # Days

    def _load_holidays(self, year: int) -> None:
        if year in self._holiday_years:
            return
        if not self.holiday_country:
            self._holiday_years.add(year)
            return
        try:
            public = holidays_lib.country_holidays(self.holiday_country, years=year,
                                                   language="nl")
        except NotImplementedError:
            raise ConfigError(f"'calendar.holiday_country' \"{self.holiday_country}\" is not "
                              "known to the holidays package.",
                              "calendar.holiday_country") from None
        english = holidays_lib.country_holidays(self.holiday_country, years=year,
                                                language="en_US")
        chosen: dict[date, str] = {}
        for day, name in public.items():
            names = {_norm(n) for n in name.split("; ")}
            names |= {_norm(n) for n in english.get(day, "").split("; ") if n}
            if names & self._exclude:
                continue
            chosen[day] = name
        if self._include:
            categories = getattr(holidays_lib, "OPTIONAL", "optional")
            optional: Mapping[date, str]
            optional_en: Mapping[date, str]
            try:
                optional = holidays_lib.country_holidays(
                    self.holiday_country, years=year, language="nl", categories=(categories,))
                optional_en = holidays_lib.country_holidays(
                    self.holiday_country, years=year, language="en_US",
                    categories=(categories,))
            except (NotImplementedError, ValueError):
                optional, optional_en = {}, {}
            for source, other in ((public, english), (optional, optional_en)):
                for day, name in source.items():
                    names = {_norm(n) for n in name.split("; ")}
                    names |= {_norm(n) for n in other.get(day, "").split("; ") if n}
                    if names & self._include:
                        chosen[day] = name
        self._holidays.update(chosen)
        self._holiday_years.add(year)  # only now, so a concurrent reader never sees a gap

    def holiday_name(self, day: date) -> str | None:
        """The name of the holiday the office keeps on ``day``, or None."""
        self._load_holidays(day.year)
        return self._holidays.get(day)

    def part_day_closes(self, day: date) -> time | None:
        """The early closing time configured for ``day``, or None."""
        once = self._part_once.get(day)
        if once is not None:
            return once
        return self._part_yearly.get((day.month, day.day))

    def local_intervals(self, day: date) -> tuple[tuple[time, time], ...]:
        """The office intervals of a local date as local clock times (empty when closed)."""
        if day in self._closed or self.holiday_name(day) is not None:
            return ()
        spans = self.hours[day.weekday()]
        closes = self.part_day_closes(day)
        if closes is None:
            return spans
        cut: list[tuple[time, time]] = []
        for opens, ends in spans:
            if opens >= closes:
                continue
            cut.append((opens, min(ends, closes)))
        return tuple(cut)

    def day_intervals(self, day: date) -> tuple[tuple[int, int], ...]:
        """The office intervals of a local date in epoch microseconds, merged and sorted."""
        cached = self._day_cache.get(day)
        if cached is not None:
            return cached
        merged: list[list[int]] = []
        for opens, closes in self.local_intervals(day):
            a = to_us(datetime.combine(day, opens, tzinfo=self.zone))
            b = to_us(datetime.combine(day, closes, tzinfo=self.zone))
            if b <= a:
                continue
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        result = tuple((a, b) for a, b in merged)
        self._day_cache[day] = result
        return result

    def is_working_day(self, day: date) -> bool:
        """Whether the office is open at all on a local date."""
        return bool(self.day_intervals(day))

    def add_working_days(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day`` (``day`` itself is not counted)."""
        if count < 0:
            raise UsageError("A number of working days cannot be negative.")
        current = day
        guard = 0
        while count > 0:
            current += timedelta(days=1)
            guard += 1
            if guard > 366 * _MAX_LOOKAHEAD_YEARS:
                raise ConfigError("The calendar has no working days ahead.", "calendar")
            if self.is_working_day(current):
                count -= 1
        return current

    def standard_day(self) -> timedelta:
        """The office time of the standard day: the most common weekday length, ties longest."""
        lengths: dict[timedelta, int] = {}
        for spans in self.hours:
            total = sum(
                (datetime.combine(date(2000, 1, 3), b) - datetime.combine(date(2000, 1, 3), a)
                 for a, b in spans),
                timedelta(0),
            )
            if total:
                lengths[total] = lengths.get(total, 0) + 1
        return max(lengths, key=lambda t: (lengths[t], t))

    def local_date(self, moment: datetime) -> date:
        """The date ``moment`` falls on in the calendar's zone."""
        to_us(moment)
        return moment.astimezone(self.zone).date()

    def to_local(self, moment: datetime) -> datetime:
        """``moment`` in the calendar's zone (aware datetimes only)."""
        to_us(moment)
        return moment.astimezone(self.zone)

    # -----------------------------------------------------------------------------------------
    # The timeline

    def _cover(self, first: date, last: date, old: _Timeline | None) -> _Timeline:
        """A timeline for the local days [first, last] in whole years, at least ``old``'s."""
        first = date(first.year, 1, 1)
        last = date(last.year, 12, 31)
        if old is not None:
            first = min(first, old.first)
            last = max(last, old.last)
        starts: list[int] = []
        ends: list[int] = []
        cum_start: list[int] = []
        cum_end: list[int] = []
        total = 0
        day = first
        one = timedelta(days=1)
        while day <= last:
            for a, b in self.day_intervals(day):
                starts.append(a)
                ends.append(b)
                cum_start.append(total)
                total += b - a
                cum_end.append(total)
            day += one
        timeline = _Timeline(
            first=first,
            last=last,
            lo_us=to_us(datetime.combine(first, time(0), tzinfo=self.zone)),
            hi_us=to_us(datetime.combine(last + one, time(0), tzinfo=self.zone)),
            starts=starts,
            ends=ends,
            cum_start=cum_start,
            cum_end=cum_end,
        )
        self._timeline = timeline  # one assignment: readers see the old or the new, whole
        return timeline

    def _covering(self, *instants: int) -> _Timeline:
        """The current timeline, extended (rebuilt) when an instant falls outside it."""
        timeline = self._timeline
        if timeline is not None:
            lo, hi = timeline.lo_us, timeline.hi_us
            for us in instants:
                if not lo <= us < hi:
                    break
            else:
                return timeline
        years = [(_EPOCH + _us_to_td(us)).astimezone(self.zone).year for us in instants]
        return self._cover(date(min(years) - 1, 1, 1), date(max(years) + 2, 12, 31), timeline)

    def _extend(self, timeline: _Timeline) -> _Timeline:
        return self._cover(timeline.last, date(timeline.last.year + 2, 12, 31), timeline)

    def from_us(self, us: int) -> datetime:
        """Epoch microseconds as an aware datetime in the calendar's zone."""
        return (_EPOCH + _us_to_td(us)).astimezone(self.zone)

    def office_us(self, start_us: int, end_us: int) -> int:
        """Office microseconds between two epoch instants (0 when end <= start)."""
        if end_us <= start_us:
            return 0
        timeline = self._covering(start_us, end_us)
        return timeline.cum(end_us) - timeline.cum(start_us)

    def deadline_us(self, start_us: int, office_us: int) -> int:
        """The earliest epoch instant at which ``office_us`` of office time has passed."""
        if office_us < 0:
            raise UsageError("An office time cannot be negative.")
        if office_us == 0:
            return start_us
        timeline = self._covering(start_us)
        for _ in range(_MAX_LOOKAHEAD_YEARS):
            target = timeline.cum(start_us) + office_us
            if timeline.cum_end and target <= timeline.cum_end[-1]:
                return timeline.earliest(target)
            timeline = self._extend(timeline)
        raise ConfigError("The calendar has no office time ahead to reach a deadline.", "calendar")

    def next_opening_us(self, at_us: int) -> int:
        """``at_us`` itself when the office is open then, else the start of the next interval."""
        timeline = self._covering(at_us)
        for _ in range(_MAX_LOOKAHEAD_YEARS):
            if timeline.holding(at_us) is not None:
                return at_us
            i = bisect_right(timeline.starts, at_us)
            if i < len(timeline.starts):
                return timeline.starts[i]
            timeline = self._extend(timeline)
        raise ConfigError("The calendar has no office time ahead.", "calendar")

    # -----------------------------------------------------------------------------------------
    # Public arithmetic on aware datetimes

    def office_time(self, start: datetime, end: datetime) -> timedelta:
        """The office time between two instants (zero when ``end`` is not after ``start``)."""
        return _us_to_td(self.office_us(to_us(start), to_us(end)))

    def deadline(self, start: datetime, office_time: timedelta) -> datetime:
        """The earliest instant at which ``office_time`` has elapsed since ``start``.

        Returned in the calendar's zone; a zero office time gives ``start`` itself.
        """
        return self.from_us(self.deadline_us(to_us(start), _td_to_us(office_time)))

    def next_opening(self, at: datetime) -> datetime:
        """``at`` when the office is open then, otherwise the next moment it opens."""
        return self.from_us(self.next_opening_us(to_us(at)))

    def next_change(self, at: datetime) -> datetime:
        """When the office next opens (closed at ``at``) or closes (open at ``at``)."""
        us = to_us(at)
        timeline = self._covering(us)
        i = timeline.holding(us)
        return self.from_us(self.next_opening_us(us) if i is None else timeline.ends[i])

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` lies inside an office interval (opening included, closing excluded)."""
        us = to_us(at)
        return self.next_opening_us(us) == us

    def earliest_equivalent(self, at: datetime) -> datetime:
        """The earliest instant with the same office-time position as ``at``.

        Inside office hours that is ``at`` itself; in closed time it is the last closing before.
        """
        us = to_us(at)
        timeline = self._covering(us)
        cum = timeline.cum(us)
        if cum <= 0:
            return self.from_us(us)
        return self.from_us(timeline.earliest(cum))

    def closing_days(self, year: int) -> tuple[ClosingDay, ...]:
        """The effective closing days and part days of a year, in date order.

        Only days whose weekday has office hours are listed: a holiday on a Sunday closes nothing.
        Holidays excluded by configuration (Goede Vrijdag) are working days and not listed; a
        part day that is also a holiday or closing day is listed once, as closed.
        """
        out: list[ClosingDay] = []
        day = date(year, 1, 1)
        one = timedelta(days=1)
        while day.year == year:
            if self.hours[day.weekday()]:
                holiday = self.holiday_name(day)
                closes = self.part_day_closes(day)
                if holiday is not None:
                    out.append(ClosingDay(day, holiday, "holiday"))
                elif day in self._closed:
                    out.append(ClosingDay(day, "Extra sluitingsdag", "closed"))
                elif closes is not None and self.local_intervals(day) != self.hours[day.weekday()]:
                    name = _PART_DAY_NAMES.get(f"{day:%m-%d}", "Korte dag")
                    if self.local_intervals(day):
                        out.append(ClosingDay(day, name, "part_day", closes))
                    else:
                        out.append(ClosingDay(day, name, "closed"))
            day += one
        return tuple(out)
