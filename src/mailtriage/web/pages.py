"""The staff pages: sign-in, the queue, a ticket with its correction form, downloads, the SLA
report and the model page."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from mailtriage.config import Config
from mailtriage.errors import MailtriageError, NotFoundError, StoreError, UsageError
from mailtriage.services.accounts import verify_password
from mailtriage.store.database import Database
from mailtriage.store.files import FileStore
from mailtriage.store.models import (
    Attachment,
    Classification,
    Correction,
    Message,
    OutboxItem,
    Ticket,
    TicketEvent,
)
from mailtriage.web.chart import compliance_chart
from mailtriage.web.csrf import rotate_token
from mailtriage.web.downloads import download_headers
from mailtriage.web.gate import SESSION_USER, safe_next
from mailtriage.web.i18n import LANGUAGES, translator
from mailtriage.web.modelinfo import model_info
from mailtriage.web.queue import (
    PRIORITIES,
    STATUS_FILTERS,
    TYPES,
    QueueFilter,
    clocks_for,
    load_queue,
)
from mailtriage.web.rendering import add_flash, render, request_language
from mailtriage.web.sanitize import sanitize_mail_html

router = APIRouter(include_in_schema=False)

CORRECTABLE_STATUSES = ("open", "waiting", "resolved")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    return now


def _user(request: Request) -> str:
    return str(request.scope["state"]["user"])


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# ---------------------------------------------------------------------------------------------
# Signing in and out, language


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    if request.session.get(SESSION_USER):
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", next=safe_next(next), error=None, username="")


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    name = str(form.get("username", ""))[:200]
    password = str(form.get("password", ""))[:1024]
    target = safe_next(str(form.get("next", "/")))
    throttle = request.app.state.throttle
    t = translator(request_language(request, _config(request)))
    now = _now(request)
    address = _client(request)
    if throttle.blocked(address, name, now):
        wait = throttle.retry_after(address, name, now)
        return render(request, "login.html", status_code=429, next=target,
                      error=t("login_throttled"), username=name,
                      headers={"Retry-After": str(max(wait, 1))})
    user = await run_in_threadpool(verify_password, _db(request), name, password)
    if user is None:
        throttle.failure(address, name, now)
        return render(request, "login.html", status_code=401, next=target,
                      error=t("login_failed"), username=name)
    throttle.success(name)
    lang = request.session.get("lang")
    request.session.clear()
    request.session[SESSION_USER] = user.name
    request.session["since"] = now.isoformat()
    if lang in LANGUAGES:
        request.session["lang"] = lang
    rotate_token(request.session)
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    lang = request.session.get("lang")
    request.session.clear()
    if lang in LANGUAGES:
        request.session["lang"] = lang
    add_flash(request, "info", translator(request_language(request, _config(request)))(
        "logged_out"))
    return RedirectResponse("/login", status_code=303)


@router.post("/lang")
async def set_language(request: Request) -> Response:
    form = await request.form()
    lang = str(form.get("lang", ""))
    if lang in LANGUAGES:
        request.session["lang"] = lang
    return RedirectResponse(safe_next(str(form.get("next", "/"))), status_code=303)


# ---------------------------------------------------------------------------------------------
# The queue


@router.get("/")
def queue_page(request: Request) -> Response:
    config = _config(request)
    f = QueueFilter.from_params(request.query_params)
    now = _now(request)
    with _db(request).session() as s:
        rows = load_queue(s, f, config, now, measure=request.app.state.office_time)
        review_count = s.scalar(select(func.count(Ticket.id)).where(
            Ticket.needs_review.is_(True), Ticket.status.in_(("new", "open", "waiting")))) or 0
    customers = [(c.match.lower(), c.name or c.match) for c in config.sla.customers]
    return render(request, "queue.html", rows=rows, f=f, types=TYPES, priorities=PRIORITIES,
                  statuses=STATUS_FILTERS, customers=customers, review_count=review_count)


# ---------------------------------------------------------------------------------------------
# A ticket


@dataclass(frozen=True)
class MessageView:
    message: Message
    attachments: list[Attachment]
    html: str | None
    blocked_images: int
    text: str


def _message_view(m: Message, attachments: list[Attachment], prefer_text: bool) -> MessageView:
    text = m.text or ""
    if m.html and not prefer_text:
        safe = sanitize_mail_html(m.html)
        if safe.html.strip():
            return MessageView(m, attachments, safe.html, safe.blocked_images, text)
    return MessageView(m, attachments, None, 0, text)


def _load_ticket(db: Database, number: int, prefer_text: bool) -> dict[str, Any]:
    with db.session() as s:
        t = s.scalar(select(Ticket).where(Ticket.number == number))
        if t is None:
            raise NotFoundError(f"There is no ticket #{number}.")
        messages = s.scalars(select(Message).where(Message.ticket_id == t.id)
                             .order_by(Message.received_at, Message.id)).all()
        views = []
        for m in messages:
            attachments = list(s.scalars(select(Attachment).where(Attachment.message_id == m.id)
                                         .order_by(Attachment.id)))
            views.append(_message_view(m, attachments, prefer_text))
        return {
            "ticket": t,
            "messages": views,
            "classifications": list(s.scalars(select(Classification).where(
                Classification.ticket_id == t.id).order_by(Classification.id.desc()))),
            "corrections": list(s.scalars(select(Correction).where(
                Correction.ticket_id == t.id).order_by(Correction.id.desc()))),
            "events": list(s.scalars(select(TicketEvent).where(
                TicketEvent.ticket_id == t.id).order_by(TicketEvent.at, TicketEvent.id))),
            "outbox": [row._asdict() for row in s.execute(
                select(OutboxItem.kind, OutboxItem.status, OutboxItem.recipients,
                       OutboxItem.subject, OutboxItem.sent_at)
                .where(OutboxItem.ticket_id == t.id).order_by(OutboxItem.id))],
        }


@router.get("/tickets/{number}")
def ticket_page(request: Request, number: int, view: str = "") -> Response:
    config = _config(request)
    try:
        data = _load_ticket(_db(request), number, prefer_text=view == "text")
    except NotFoundError:
        return render(request, "error.html", status_code=404, message_key="not_found")
    response, resolution = clocks_for(data["ticket"], _now(request), config.sla.at_risk_fraction,
                                      request.app.state.office_time)
    return render(request, "ticket.html", response_clock=response, resolution_clock=resolution,
                  types=TYPES, priorities=PRIORITIES, statuses=CORRECTABLE_STATUSES,
                  view=view, **data)


def _changed(form: Mapping[str, Any], field: str, current: str | None,
             allowed: tuple[str, ...]) -> str | None:
    value = str(form.get(field, "") or "")
    if value in allowed and value != current:
        return value
    return None


@router.post("/tickets/{number}/correct")
async def correct_ticket(request: Request, number: int) -> Response:
    form = await request.form()
    config = _config(request)
    db = _db(request)
    t = translator(request_language(request, config))
    target = f"/tickets/{number}"
    with db.session() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.number == number))
        if ticket is None:
            return render(request, "error.html", status_code=404, message_key="not_found")
        current = (ticket.type, ticket.priority, ticket.status)
    type_ = _changed(form, "type", current[0], TYPES)
    priority = _changed(form, "priority", current[1], PRIORITIES)
    status = _changed(form, "status", current[2], CORRECTABLE_STATUSES)
    note = str(form.get("note", "") or "").strip()[:4000]
    if type_ is None and priority is None and status is None and not note:
        add_flash(request, "error", t("nothing_changed"))
        return RedirectResponse(target, status_code=303)
    try:
        from mailtriage.services.corrections import (
            apply_correction,
        )
    except ImportError:
        add_flash(request, "error", t("corrections_unavailable"))
        return RedirectResponse(target, status_code=303)
    try:
        await run_in_threadpool(lambda: apply_correction(
            config, db, number, actor=_user(request), type_=type_, priority=priority,
            status=status, note=note, now=_now(request)))
    except (UsageError, NotFoundError) as exc:
        add_flash(request, "error", str(exc))
        return RedirectResponse(target, status_code=303)
    with db.session() as s:
        after = s.scalar(select(Ticket).where(Ticket.number == number))
    message = t("correction_saved")
    if after is not None:
        from mailtriage.web.i18n import format_datetime

        lang = request_language(request, config)
        zone = config.calendar.zone
        message += (f" {t('new_deadlines')}: {t('response')} "
                    f"{format_datetime(after.response_due, zone, lang)}, {t('resolution')} "
                    f"{format_datetime(after.resolution_due, zone, lang)}.")
    add_flash(request, "ok", message)
    return RedirectResponse(target, status_code=303)


# ---------------------------------------------------------------------------------------------
# Attachments


@router.get("/attachments/{attachment_id}")
def download_attachment(request: Request, attachment_id: int) -> Response:
    config = _config(request)
    with _db(request).session() as s:
        a = s.get(Attachment, attachment_id)
        if a is None:
            return render(request, "error.html", status_code=404, message_key="not_found")
        name, content_type, key = a.filename, a.content_type, a.storage_key
    try:
        data = FileStore(config.storage.directory).get(key)
    except StoreError:
        return render(request, "error.html", status_code=404, message_key="not_found")
    headers = download_headers(name, content_type, f"attachment-{attachment_id}")
    media_type = headers.pop("Content-Type")
    return Response(data, media_type=media_type, headers=headers)


# ---------------------------------------------------------------------------------------------
# SLA compliance report


def _field(row: Any, name: str) -> Any:
    if isinstance(row, Mapping):
        return row.get(name)
    return getattr(row, name, None)


def _flat_rows(raw: Any) -> list[dict[str, Any]]:
    """One row per priority and measure, from rows that hold both measures (``.response``,
    ``.resolution``) or from rows that already name their ``kind``."""
    rows: list[dict[str, Any]] = []
    for r in raw:
        kinds = [(kind, _field(r, kind)) for kind in ("response", "resolution")]
        if all(stats is None for _, stats in kinds):
            kinds = [(str(_field(r, "kind")), r)]
        for kind, stats in kinds:
            if stats is None:
                continue
            percent = _field(stats, "percent")
            if percent is None:
                percent = _field(stats, "percentage")
            rows.append({"month": _field(r, "month"), "priority": _field(r, "priority"),
                         "kind": kind, "n": _field(stats, "n") or 0,
                         "met": _field(stats, "met") or 0, "pending": _field(stats, "pending"),
                         "percent": percent, "target": _field(stats, "target"),
                         "passed": _field(stats, "passed")})
    return rows


def _month_of(now: datetime, config: Config) -> str:
    local = now.astimezone(config.calendar.zone)
    return f"{local.year:04d}-{local.month:02d}"


def _shift_month(month: str, delta: int) -> str:
    year, mon = int(month[:4]), int(month[5:])
    index = year * 12 + (mon - 1) + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@router.get("/report")
def report_page(request: Request, month: str = "") -> Response:
    config = _config(request)
    now = _now(request)
    if not _MONTH.match(month):
        month = _month_of(now, config)
    rows: list[dict[str, Any]] | None
    error: str | None = None
    try:
        from mailtriage.services.compliance import (
            monthly_report,
        )
    except ImportError:
        rows = None
    else:
        try:
            rows = _flat_rows(monthly_report(config, _db(request), month, now))
        except MailtriageError as exc:
            rows, error = [], str(exc)
    chart = None
    if rows:
        order = {p: i for i, p in enumerate(PRIORITIES)}
        kinds = {"response": 0, "resolution": 1}
        rows.sort(key=lambda r: (order.get(str(r["priority"]), 9), kinds.get(str(r["kind"]), 9)))
        chart = compliance_chart([
            (str(r["priority"]), str(r["kind"]), int(r["n"] or 0),
             None if r["percent"] is None else float(r["percent"]),
             float(r["target"] or 0), r["passed"])
            for r in rows])
    return render(request, "report.html", month=month, rows=rows, chart=chart, error=error,
                  previous_month=_shift_month(month, -1), next_month=_shift_month(month, 1))


# ---------------------------------------------------------------------------------------------
# The model


@router.get("/model")
def model_page(request: Request) -> Response:
    config = _config(request)
    info = model_info(config.classify)
    since = info.trained_at
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    corrections = _corrections_since(_db(request), since)
    return render(request, "model.html", info=info, corrections_since=corrections,
                  retrain=request.app.state.retrainer.status())


def _corrections_since(db: Database, since: datetime | None) -> int:
    """Corrections the model has not learnt from yet (the training service's count)."""
    try:
        from mailtriage.services.training import corrections_since
    except ImportError:
        with db.session() as s:
            query = select(func.count(Correction.id))
            if since is not None:
                query = query.where(Correction.created_at > since)
            return int(s.scalar(query) or 0)
    return corrections_since(db, since)


@router.post("/model/retrain")
def retrain_model(request: Request) -> Response:
    retrainer = request.app.state.retrainer
    t = translator(request_language(request, _config(request)))
    if retrainer.start(_user(request)):
        add_flash(request, "ok", t("retrain_started"))
    elif retrainer.status().running:
        add_flash(request, "info", t("retrain_running"))
    else:
        add_flash(request, "error", t("retrain_cli") + " mailtriage train")
    return RedirectResponse("/model", status_code=303)


# ---------------------------------------------------------------------------------------------
# API documentation (rendered from the OpenAPI schema; no third-party script)


@router.get("/api/docs")
def api_docs(request: Request) -> Response:
    schema = request.app.openapi()
    operations = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            operations.append({
                "method": method.upper(), "path": path, "summary": op.get("summary", ""),
                "description": op.get("description", ""),
                "parameters": [(p.get("name"), p.get("in"), p.get("required", False),
                                (p.get("schema") or {}).get("type", ""))
                               for p in op.get("parameters", [])],
                "body": "requestBody" in op,
                "responses": sorted((code, r.get("description", ""))
                                    for code, r in op.get("responses", {}).items()),
            })
    return render(request, "api_docs.html", operations=operations)

