"""The frozen values the reply and alert templates are rendered from.

All datetimes must be timezone-aware; templates show them in ``timezone`` (the calendar zone).
The standard change-request target terms of the helpdesk's service page are here too, so a
caller without its own table can fill :class:`AckContext.change_terms`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from mailtriage.errors import UsageError
from mailtriage.notify.wording import Language, check_aware, check_language

AckKind = Literal["incident", "other", "change", "review"]
Priority = Literal["high", "medium", "low"]
WorkloadLevel = Literal["low", "high"]
AlertKind = Literal["new_high", "response_at_risk", "response_breached", "resolution_at_risk",
                    "resolution_breached"]

ACK_KINDS: tuple[AckKind, ...] = ("incident", "other", "change", "review")
ALERT_KINDS: tuple[AlertKind, ...] = ("new_high", "response_at_risk", "response_breached",
                                      "resolution_at_risk", "resolution_breached")


@dataclass(frozen=True)
class ChangeTerm:
    """One size band of change requests and its target term in weeks.

    ``max_hours`` None means "more than ``min_hours``"; ``min_weeks``/``max_weeks`` None means
    the deadline is agreed with the customer.
    """

    min_hours: float
    max_hours: float | None
    min_weeks: int | None
    max_weeks: int | None


def standard_change_terms(workload: WorkloadLevel) -> tuple[ChangeTerm, ...]:
    """The target terms of the service page for the given current workload (from ``sla``)."""
    from mailtriage.sla.changes import target_terms

    bands = tuple(
        ChangeTerm(0 if t.band == "0-4" else 4, 4 if t.band == "0-4" else 8, t.min_weeks,
                   t.max_weeks)
        for t in target_terms(workload)
    )
    return (*bands, ChangeTerm(8, None, None, None))


@dataclass(frozen=True)
class AckContext:
    """Everything the acknowledgement (or the commitment part of an update) says.

    ``kind``: ``incident`` (needs ``priority``, ``response_due``, ``resolution_due``;
    ``guaranteed`` says SLA or aim only), ``other`` (best effort), ``change`` (target terms,
    ``change_window`` when an estimate exists, ``generic_code`` for a next release,
    ``over_limit`` when more than 8 hours means a deadline agreed with the customer,
    ``agreed_deadline`` when one was agreed), ``review`` (provisional, no commitment).
    """

    ticket_number: int
    subject: str
    language: Language
    kind: AckKind
    helpdesk_name: str
    issued_at: datetime
    priority: Priority | None = None
    response_due: datetime | None = None
    resolution_due: datetime | None = None
    guaranteed: bool = False
    resolution_percent: float = 85.0
    workload: WorkloadLevel | None = None
    change_terms: tuple[ChangeTerm, ...] = ()
    estimate_hours: float | None = None
    change_window: tuple[date, date] | None = None
    agreed_deadline: date | None = None
    generic_code: bool = False
    over_limit: bool = False
    requester_name: str = ""
    timezone: str = "Europe/Amsterdam"

    def __post_init__(self) -> None:
        check_language(self.language)
        if self.kind not in ACK_KINDS:
            raise UsageError(f"unknown reply kind {self.kind!r}")
        check_aware(self.issued_at, "issued_at")
        check_aware(self.response_due, "response_due")
        check_aware(self.resolution_due, "resolution_due")
        if self.kind == "incident" and (self.priority is None or self.response_due is None
                                        or self.resolution_due is None):
            raise UsageError("an incident reply needs priority, response_due and "
                             "resolution_due; use kind 'other' or 'review' without them")
        if self.change_window is not None and self.change_window[0] > self.change_window[1]:
            raise UsageError("change_window ends before it starts")


@dataclass(frozen=True)
class UpdateContext:
    """A staff correction changed the ticket: what it was, and the new commitment."""

    new: AckContext
    previous_kind: AckKind | None = None
    previous_priority: Priority | None = None


@dataclass(frozen=True)
class AlertItem:
    """One ticket that needs staff attention."""

    kind: AlertKind
    ticket_number: int
    subject: str
    priority: Priority | None = None
    due: datetime | None = None
    requester: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ALERT_KINDS:
            raise UsageError(f"unknown alert kind {self.kind!r}")
        check_aware(self.due, "due")


@dataclass(frozen=True)
class AlertContext:
    """A staff alert: one item, or a batched list."""

    language: Language
    helpdesk_name: str
    issued_at: datetime
    items: tuple[AlertItem, ...]
    timezone: str = "Europe/Amsterdam"
    ticket_url: str | None = None  # e.g. "https://helpdesk.example/tickets/{number}"

    def __post_init__(self) -> None:
        check_language(self.language)
        check_aware(self.issued_at, "issued_at")
        if not self.items:
            raise UsageError("a staff alert needs at least one item")
