"""The JSON API under /api: list, show and correct tickets with a bearer token.

Shapes are those of ``mailtriage tickets list/show --json`` (services.serialize). The gate has
already checked the token; the bearer scheme here documents it in the OpenAPI schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from mailtriage.classify.decision import Priority, TicketType
from mailtriage.config import Config
from mailtriage.errors import NotFoundError, UsageError
from mailtriage.services.serialize import ticket_detail, ticket_summary
from mailtriage.statuses import ACTIVE_STATUSES, StaffStatus
from mailtriage.store.database import Database
from mailtriage.store.models import Ticket

_bearer = HTTPBearer(auto_error=False, description="A token from "
                     "'mailtriage user add NAME --api-token'.")

UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "No token, or a token no active account has."}}


def api_user(request: Request,
             _credentials: Annotated[HTTPAuthorizationCredentials | None,
                                     Depends(_bearer)]) -> str:
    """The account the gate found for the bearer token."""
    return str(request.scope["state"]["user"])


router = APIRouter(prefix="/api", tags=["tickets"], dependencies=[Depends(api_user)],
                   responses=UNAUTHORIZED)


class CorrectionIn(BaseModel):
    """A staff correction; fields left out stay as they are."""

    type: TicketType | None = None
    priority: Priority | None = None
    status: StaffStatus | None = None
    note: str = Field(default="", max_length=4000)


class CorrectionOut(BaseModel):
    ticket_number: int
    before: dict[str, Any]
    after: dict[str, Any]
    commitment_changed: bool
    ticket: dict[str, Any]


def _problem(status: int, error: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status)


def _state(request: Request) -> tuple[Config, Database, datetime]:
    return request.app.state.config, request.app.state.db, request.app.state.clock()


@router.get("/tickets", summary="List tickets, newest first")
def list_tickets(
    request: Request,
    status: str | None = Query(None, description="new, open, waiting, resolved, closed, or "
                               "'active' for new+open+waiting"),
    type: TicketType | None = Query(None),
    priority: Priority | None = Query(None),
    needs_review: bool | None = Query(None),
    requester: str | None = Query(None, max_length=320,
                                  description="Part of the requester's address or name"),
    limit: int = Query(200, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> list[dict[str, Any]]:
    """The tickets with the fields of `mailtriage tickets list --json`."""
    config, db, _ = _state(request)
    query = select(Ticket).order_by(Ticket.received_at.desc(), Ticket.id.desc())
    if status == "active":
        query = query.where(Ticket.status.in_(ACTIVE_STATUSES))
    elif status:
        query = query.where(Ticket.status == status)
    if type:
        query = query.where(Ticket.type == type)
    if priority:
        query = query.where(Ticket.priority == priority)
    if needs_review is not None:
        query = query.where(Ticket.needs_review.is_(needs_review))
    if requester:
        needle = requester.lower()
        query = query.where(func.lower(Ticket.requester).contains(needle, autoescape=True)
                            | func.lower(Ticket.requester_name).contains(needle, autoescape=True))
    zone = config.calendar.zone
    with db.session(read_only=True) as s:
        return [ticket_summary(t, zone) for t in s.scalars(query.limit(limit).offset(offset))]


@router.get("/tickets/{number}", summary="Show one ticket",
            responses={404: {"description": "No such ticket."}})
def show_ticket(request: Request, number: int) -> Any:
    """The ticket with the fields of `mailtriage tickets show --json`: the SLA clocks now,
    messages, classification history, corrections, events and replies."""
    config, db, now = _state(request)
    with db.session(read_only=True) as s:
        t = s.scalar(select(Ticket).where(Ticket.number == number))
        if t is None:
            return _problem(404, "not_found", f"There is no ticket #{number}.")
        clocks = request.app.state.clocks.clocks(s, t, now)
        return ticket_detail(s, t, config.calendar.zone, clocks=clocks, now=now)


@router.post("/tickets/{number}/corrections", summary="Correct a ticket",
             response_model=CorrectionOut,
             responses={400: {"description": "The correction cannot be applied."},
                        404: {"description": "No such ticket."},
                        503: {"description": "The correction service is not installed."}})
async def correct_ticket(request: Request, number: int, body: CorrectionIn,
                         actor: Annotated[str, Depends(api_user)]) -> Any:
    """Change type, priority and/or status with a note. Recorded with the token's account as
    the actor; deadlines are recomputed and the correction feeds the next training."""
    config, db, now = _state(request)
    if body.type is None and body.priority is None and body.status is None and not body.note:
        return _problem(400, "usage", "Give at least one of type, priority, status or note.")
    try:
        from mailtriage.services.corrections import (
            apply_correction,
        )
    except ImportError:
        return _problem(503, "unavailable", "The correction service is not installed.")
    try:
        result = await run_in_threadpool(lambda: apply_correction(
            config, db, number, actor=actor, type_=body.type, priority=body.priority,
            status=body.status, note=body.note, now=now))
    except NotFoundError as exc:
        return _problem(404, "not_found", str(exc))
    except UsageError as exc:
        return _problem(400, "usage", str(exc))
    with db.session() as s:
        t = s.scalar(select(Ticket).where(Ticket.number == number))
        summary = ticket_summary(t, config.calendar.zone) if t is not None else {}
    return {"ticket_number": result.ticket_number, "before": dict(result.before),
            "after": dict(result.after), "commitment_changed": bool(result.commitment_changed),
            "ticket": summary}


@router.get("/openapi.json", include_in_schema=False)
def openapi_schema(request: Request) -> dict[str, Any]:
    schema: dict[str, Any] = request.app.openapi()
    return schema
