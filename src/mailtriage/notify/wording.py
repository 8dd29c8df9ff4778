"""Puts dates, deadlines, priorities and week ranges into Dutch or English words.

The month and weekday names are written out here, so the wording never depends on the process
locale. Datetimes are shown in the calendar's zone; the year is added only when it differs from
the reference year (normally the year the mail is written).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from mailtriage.errors import UsageError

Language = Literal["nl", "en"]

MONTHS: dict[Language, tuple[str, ...]] = {
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}
WEEKDAYS: dict[Language, tuple[str, ...]] = {
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
PRIORITIES: dict[Language, dict[str, str]] = {
    "nl": {"high": "hoog", "medium": "middel", "low": "laag"},
    "en": {"high": "high", "medium": "medium", "low": "low"},
}
PRIORITY_MEANING: dict[Language, dict[str, str]] = {
    "nl": {"high": "verstoring met grote gevolgen",
           "medium": "verstoring met beperkte gevolgen",
           "low": "verstoring met (zeer) beperkte gevolgen"},
    "en": {"high": "disruption with major consequences",
           "medium": "disruption with limited consequences",
           "low": "disruption with (very) limited consequences"},
}

KINDS: dict[Language, dict[str, str]] = {
    "nl": {"incident": "incident", "other": "overige melding", "change": "wijzigingsverzoek",
           "review": "nog te beoordelen"},
    "en": {"incident": "incident", "other": "other request", "change": "change request",
           "review": "to be reviewed"},
}
WORKLOADS: dict[Language, dict[str, str]] = {
    "nl": {"low": "laag", "high": "hoog"},
    "en": {"low": "low", "high": "high"},
}
ALERT_LABELS: dict[Language, dict[str, str]] = {
    "nl": {"new_high": "Nieuw incident met hoge prioriteit",
           "response_at_risk": "Reactietermijn dreigt te verlopen",
           "response_breached": "Reactietermijn verlopen",
           "resolution_at_risk": "Oplostermijn dreigt te verlopen",
           "resolution_breached": "Oplostermijn verlopen"},
    "en": {"new_high": "New high-priority incident",
           "response_at_risk": "Response deadline at risk",
           "response_breached": "Response deadline missed",
           "resolution_at_risk": "Resolution deadline at risk",
           "resolution_breached": "Resolution deadline missed"},
}


def check_language(language: str) -> Language:
    if language == "nl":
        return "nl"
    if language == "en":
        return "en"
    raise UsageError(f"unknown language {language!r}; use 'nl' or 'en'")


def check_aware(value: datetime | None, name: str) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise UsageError(f"{name} must be a timezone-aware datetime")


@dataclass(frozen=True)
class Wording:
    """Words for one language, zone and reference year; handed to the templates as ``words``."""

    language: Language
    zone: ZoneInfo
    reference_year: int

    def local(self, moment: datetime) -> datetime:
        check_aware(moment, "moment")
        return moment.astimezone(self.zone)

    def day(self, value: date | datetime) -> str:
        """'maandag 17 maart' / 'Monday 17 March' (with the year when it is not this year)."""
        d = self.local(value).date() if isinstance(value, datetime) else value
        text = (f"{WEEKDAYS[self.language][d.weekday()]} {d.day} "
                f"{MONTHS[self.language][d.month - 1]}")
        if d.year != self.reference_year:
            text += f" {d.year}"
        return text

    def moment(self, value: datetime) -> str:
        """'maandag 17 maart om 10:00' / 'Monday 17 March at 10:00'."""
        t = self.local(value)
        at = "om" if self.language == "nl" else "at"
        return f"{self.day(t)} {at} {t.hour:02d}:{t.minute:02d}"

    def deadline(self, value: datetime) -> str:
        """'uiterlijk maandag 17 maart om 10:00' / 'by Monday 17 March at 10:00'."""
        by = "uiterlijk" if self.language == "nl" else "by"
        return f"{by} {self.moment(value)}"

    def priority(self, priority: str | None) -> str:
        if priority is None:
            return "onbekend" if self.language == "nl" else "unknown"
        return PRIORITIES[self.language].get(priority, priority)

    def priority_meaning(self, priority: str | None) -> str:
        if priority is None:
            return ""
        return PRIORITY_MEANING[self.language].get(priority, "")

    def kind(self, kind: str | None) -> str:
        if kind is None:
            return KINDS[self.language]["review"]
        return KINDS[self.language].get(kind, kind)

    def workload(self, level: str | None) -> str:
        return WORKLOADS[self.language].get(level or "", level or "")

    def alert_label(self, kind: str) -> str:
        return ALERT_LABELS[self.language].get(kind, kind)

    def hours(self, value: float) -> str:
        """'6 uur' / '6 hours'."""
        unit = "uur" if self.language == "nl" else ("hour" if value == 1 else "hours")
        return f"{_num(value)} {unit}"

    def weeks(self, low: int, high: int) -> str:
        """'1 tot 2 weken' / '1 to 2 weeks'."""
        if self.language == "nl":
            return f"{low} week" if low == high == 1 else f"{low} tot {high} weken"
        return f"{low} week" if low == high == 1 else f"{low} to {high} weeks"

    def hours_band(self, low: float, high: float | None) -> str:
        """'0 tot 4 uur' / '0 to 4 hours'; 'meer dan 8 uur' / 'more than 8 hours'."""
        lo, hi = _num(low), None if high is None else _num(high)
        if self.language == "nl":
            return f"meer dan {lo} uur" if hi is None else f"{lo} tot {hi} uur"
        return f"more than {lo} hours" if hi is None else f"{lo} to {hi} hours"

    def percent(self, value: float) -> str:
        return f"{_num(value)}%"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
