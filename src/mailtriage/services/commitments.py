"""Applies the SLA engine to a ticket: its deadlines, or its change-request window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mailtriage.config import Config
from mailtriage.sla.calendar import BusinessCalendar
from mailtriage.sla.commitments import commitment_for, sla_level_for


@dataclass(frozen=True)
class TicketCommitment:
    """The deadlines a ticket gets; both None when it has no clock."""

    sla_level: str
    response_due: datetime | None
    resolution_due: datetime | None
    guaranteed: bool


class CommitmentCalculator:
    """Holds the calendar (built once per run) and computes commitments from config."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.calendar = BusinessCalendar.from_config(config.calendar)

    def level_for(self, requester: str | None) -> str:
        return sla_level_for(requester or "", self.config.sla)

    def for_ticket(self, *, requester: str | None, type_: str | None, priority: str | None,
                   received_at: datetime) -> TicketCommitment:
        level = self.level_for(requester)
        if type_ != "incident" or priority is None:
            return TicketCommitment(level, None, None, False)
        c = commitment_for(priority, received_at, level, self.calendar, self.config.sla)
        return TicketCommitment(level, c.response_due, c.resolution_due, c.guaranteed)
