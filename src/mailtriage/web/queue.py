"""The queue: which tickets a filter selects, in which order, with their clocks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from mailtriage.classify.decision import PRIORITIES, TYPES
from mailtriage.config import Config, CustomerConfig
from mailtriage.statuses import ACTIVE_STATUSES, STATUSES
from mailtriage.store.models import Ticket
from mailtriage.web.clocks import ClockView, TicketClockReader, ViewState, worst_state

STATUS_FILTERS = ("active", "all", *STATUSES)


@dataclass(frozen=True)
class QueueFilter:
    """What the queue page's filter form asked for; unknown values are ignored."""

    type: str = ""
    priority: str = ""
    status: str = "active"
    customer: str = ""
    requester: str = ""
    review_only: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> QueueFilter:
        type_ = params.get("type", "")
        priority = params.get("priority", "")
        status = params.get("status", "active")
        return cls(
            type=type_ if type_ in TYPES else "",
            priority=priority if priority in (*PRIORITIES, "none") else "",
            status=status if status in STATUS_FILTERS else "active",
            customer=params.get("customer", "").strip().lower()[:320],
            requester=params.get("requester", "").strip()[:320],
            review_only=params.get("review") in ("1", "on", "true"),
        )

    def is_default(self) -> bool:
        return self == QueueFilter()


@dataclass(frozen=True)
class QueueRow:
    ticket: Ticket
    response: ClockView
    resolution: ClockView
    urgency: ViewState


def customer_condition(customer: CustomerConfig) -> Any:
    """Tickets whose requester is the customer's address or lies in its domain."""
    match = customer.match.lower()
    requester = func.lower(Ticket.requester)
    if "@" in match:
        return requester == match
    domain = match.lstrip("@")
    return or_(requester.endswith("@" + domain, autoescape=True),
               requester.endswith("." + domain, autoescape=True))


def queue_query(f: QueueFilter, config: Config, limit: int = 300) -> Select[Any]:
    """Needs-review first, then the nearest running deadline, then the newest."""
    query = select(Ticket)
    if f.type:
        query = query.where(Ticket.type == f.type)
    if f.priority == "none":
        query = query.where(Ticket.priority.is_(None))
    elif f.priority:
        query = query.where(Ticket.priority == f.priority)
    if f.status == "active":
        query = query.where(Ticket.status.in_(ACTIVE_STATUSES))
    elif f.status != "all":
        query = query.where(Ticket.status == f.status)
    if f.review_only:
        query = query.where(Ticket.needs_review.is_(True))
    if f.customer:
        chosen = [c for c in config.sla.customers if c.match.lower() == f.customer]
        query = query.where(customer_condition(chosen[0]) if chosen else
                            customer_condition(CustomerConfig(match=f.customer, sla="none")))
    if f.requester:
        needle = f.requester.lower()
        query = query.where(or_(
            func.lower(Ticket.requester).contains(needle, autoescape=True),
            func.lower(Ticket.requester_name).contains(needle, autoescape=True),
        ))
    next_due = case((Ticket.first_response_at.is_(None), Ticket.response_due),
                    else_=Ticket.resolution_due)
    return query.order_by(Ticket.needs_review.desc(), next_due.asc().nulls_last(),
                          Ticket.received_at.desc(), Ticket.id.desc()).limit(limit)


def load_queue(session: Session, f: QueueFilter, config: Config, now: datetime,
               clocks: TicketClockReader, limit: int = 300) -> list[QueueRow]:
    """The selected tickets with their clocks from the SLA engine."""
    tickets = list(session.scalars(queue_query(f, config, limit)))
    read = clocks.read_many(session, tickets, now)
    rows = []
    for t in tickets:
        response, resolution = read[t.id]
        rows.append(QueueRow(t, response, resolution, worst_state((response, resolution))))
    return rows
