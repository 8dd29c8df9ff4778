"""The monthly SLA compliance report over stored tickets (for ``report sla`` and the web UI)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from mailtriage.config import Config
from mailtriage.sla.compliance import ComplianceRow, TicketRecord, compliance_report
from mailtriage.store.database import Database
from mailtriage.store.models import Ticket


def ticket_records(db: Database, level: str | None = None) -> list[TicketRecord]:
    """One record per incident with a clock (the due instants stored on the ticket); only
    customers with SLA ``level`` (guaranteed, aim, none) when given."""
    with db.session(read_only=True) as s:
        rows = s.execute(select(
            Ticket.number, Ticket.priority, Ticket.response_due, Ticket.first_response_at,
            Ticket.resolution_due, Ticket.resolved_at,
        ).where(Ticket.type == "incident", Ticket.priority.is_not(None),
                Ticket.response_due.is_not(None),
                *([Ticket.sla_level == level] if level else []))).all()
    return [TicketRecord(priority=r.priority, response_due=r.response_due,
                         responded_at=r.first_response_at, resolution_due=r.resolution_due,
                         resolved_at=r.resolved_at, ticket=str(r.number)) for r in rows]


def monthly_report(config: Config, db: Database, month: str | None,
                   now: datetime, *, level: str | None = None) -> tuple[ComplianceRow, ...]:
    """Rows per month and priority; ``month`` (YYYY-MM) keeps only that month, ``level`` only
    the customers with that SLA (the percentages are sold to ``guaranteed`` customers)."""
    return compliance_report(ticket_records(db, level), now, config.calendar.zone, config.sla,
                             month=month)


def row_json(row: ComplianceRow) -> dict[str, Any]:
    def stats(m: Any) -> dict[str, Any]:
        return {"n": m.n, "met": m.met, "pending": m.pending,
                "percentage": None if m.percentage is None else round(m.percentage, 2),
                "target": m.target, "passed": m.passed}

    return {"month": row.month, "priority": row.priority, "response": stats(row.response),
            "resolution": stats(row.resolution)}
