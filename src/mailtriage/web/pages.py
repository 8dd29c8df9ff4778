"""The staff pages: sign-in, the queue, a ticket with its reply and correction forms, downloads,
the SLA report and the model page."""

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

from mailtriage.classify.decision import PRIORITIES, TYPES
from mailtriage.config import Config
from mailtriage.errors import MailtriageError, NotFoundError, StoreError, UsageError
from mailtriage.services.accounts import verify_password
from mailtriage.statuses import ACTIVE_STATUSES, AFTER_REPLY_STATUSES, STAFF_STATUSES, STATUSES
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
from mailtriage.web.clocks import TicketClockReader
from mailtriage.web.csrf import rotate_token
from mailtriage.web.downloads import download_headers
from mailtriage.web.gate import SESSION_USER, safe_next
from mailtriage.web.i18n import LANGUAGES, translator, window_text
from mailtriage.web.modelinfo import model_info
from mailtriage.web.queue import STATUS_FILTERS, QueueFilter, load_queue
from mailtriage.web.rendering import add_flash, render, request_language
from mailtriage.web.sanitize import sanitize_mail_html

router = APIRouter(include_in_schema=False)

# The next steps offered as buttons for each status (any step is possible in the form).
NEXT_STATUSES: Mapping[str, tuple[str, ...]] = {
    "new": ("open", "waiting", "resolved"),
    "open": ("waiting", "resolved"),
    "waiting": ("open", "resolved"),
    "resolved": ("closed", "open"),
    "closed": ("open",),
}
MAX_REPLY_CHARS = 100_000
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


def _clocks(request: Request) -> TicketClockReader:
    reader: TicketClockReader = request.app.state.clocks
    return reader


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
    with _db(request).session(read_only=True) as s:
        rows = load_queue(s, f, config, now, _clocks(request))
        review_count = s.scalar(select(func.count(Ticket.id)).where(
            Ticket.needs_review.is_(True), Ticket.status.in_(ACTIVE_STATUSES))) or 0
    customers = [(c.match.lower(), c.name or c.match) for c in config.sla.customers]
    return render(request, "queue.html", rows=rows, f=f, types=TYPES, priorities=PRIORITIES,
                  statuses=STATUS_FILTERS, customers=customers, review_count=review_count)


# ---------------------------------------------------------------------------------------------
# A ticket


@dataclass(frozen=True)
class Delivery:
    """Where an outgoing message stands in the outbox (pending, sent, failed, uncertain)."""

    id: int
    status: str
    attempts: int
    sent_at: datetime | None
    last_error: str


@dataclass(frozen=True)
class MessageView:
    message: Message
    attachments: list[Attachment]
    html: str | None
    blocked_images: int
    text: str
    delivery: Delivery | None = None

    @property
    def staff_reply(self) -> bool:
        return self.message.direction == "out"


def _message_view(m: Message, attachments: list[Attachment], prefer_text: bool,
                  delivery: Delivery | None = None) -> MessageView:
    text = m.text or ""
    if m.html and not prefer_text:
        safe = sanitize_mail_html(m.html)
        if safe.html.strip():
            return MessageView(m, attachments, safe.html, safe.blocked_images, text, delivery)
    return MessageView(m, attachments, None, 0, text, delivery)


def _load_ticket(db: Database, number: int, prefer_text: bool, clocks: TicketClockReader,
                 now: datetime) -> dict[str, Any]:
    with db.session(read_only=True) as s:
        t = s.scalar(select(Ticket).where(Ticket.number == number))
        if t is None:
            raise NotFoundError(f"There is no ticket #{number}.")
        messages = s.scalars(select(Message).where(Message.ticket_id == t.id)
                             .order_by(Message.received_at, Message.id)).all()
        deliveries = {
            row.message_id: Delivery(row.id, row.status, row.attempts, row.sent_at,
                                     row.last_error)
            for row in s.execute(select(OutboxItem.id, OutboxItem.message_id, OutboxItem.status,
                                        OutboxItem.attempts, OutboxItem.sent_at,
                                        OutboxItem.last_error)
                                 .where(OutboxItem.ticket_id == t.id))
        }
        views = []
        for m in messages:
            attachments = list(s.scalars(select(Attachment).where(Attachment.message_id == m.id)
                                         .order_by(Attachment.id)))
            delivery = deliveries.get(m.message_id) if m.direction == "out" else None
            views.append(_message_view(m, attachments, prefer_text, delivery))
        response_clock, resolution_clock = clocks.read(s, t, now)
        return {
            "ticket": t,
            "messages": views,
            "response_clock": response_clock,
            "resolution_clock": resolution_clock,
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
    try:
        data = _load_ticket(_db(request), number, view == "text", _clocks(request),
                            _now(request))
    except NotFoundError:
        return render(request, "error.html", status_code=404, message_key="not_found")
    status = data["ticket"].status
    return render(request, "ticket.html", types=TYPES, priorities=PRIORITIES,
                  statuses=STAFF_STATUSES, lifecycle=STATUSES,
                  next_statuses=NEXT_STATUSES.get(status, ()), reply_then=AFTER_REPLY_STATUSES,
                  max_reply=MAX_REPLY_CHARS, view=view, **data)


@router.post("/tickets/{number}/reply")
async def reply_to_ticket(request: Request, number: int) -> Response:
    """A staff reply: queued in the outbox, threaded, recorded as a response."""
    form = await request.form()
    config = _config(request)
    db = _db(request)
    t = translator(request_language(request, config))
    target = f"/tickets/{number}"
    text = str(form.get("text", "") or "")
    then = str(form.get("then_status", "") or "")
    if then and then not in AFTER_REPLY_STATUSES:
        add_flash(request, "error", t("reply_bad_status"))
        return RedirectResponse(target, status_code=303)
    if not text.strip():
        add_flash(request, "error", t("reply_empty"))
        return RedirectResponse(target, status_code=303)
    if len(text) > MAX_REPLY_CHARS:
        add_flash(request, "error", t("reply_too_long"))
        return RedirectResponse(target, status_code=303)
    from mailtriage.services.staff_reply import send_staff_reply

    user, now = _user(request), _now(request)
    try:
        result = await run_in_threadpool(lambda: send_staff_reply(
            config, db, number, actor=user, text=text, now=now, then_status=then or None))
    except NotFoundError:
        return render(request, "error.html", status_code=404, message_key="not_found")
    except MailtriageError as exc:
        add_flash(request, "error", str(exc))
        return RedirectResponse(target, status_code=303)
    message = f"{t('reply_queued')} {result.recipient}."
    if result.first_response:
        message += " " + t("first_response_recorded")
    message += f" {t('status')}: {t('status_' + result.status)}."
    add_flash(request, "ok", message)
    return RedirectResponse(target + "#messages", status_code=303)


@router.post("/tickets/{number}/outbox/{item_id}/requeue")
def requeue_reply(request: Request, number: int, item_id: int) -> Response:
    """Staff decision: send a failed or uncertain reply again."""
    from mailtriage.services.delivery import requeue

    t = translator(request_language(request, _config(request)))
    db = _db(request)
    with db.session(read_only=True) as s:
        owner = s.scalar(select(Ticket.number).join(OutboxItem, OutboxItem.ticket_id == Ticket.id)
                         .where(OutboxItem.id == item_id))
    if owner != number:
        return render(request, "error.html", status_code=404, message_key="not_found")
    if requeue(db, item_id, _now(request)):
        add_flash(request, "ok", t("requeued"))
    else:
        add_flash(request, "error", t("requeue_refused"))
    return RedirectResponse(f"/tickets/{number}#messages", status_code=303)


def _changed(form: Mapping[str, Any], field: str, current: str | None,
             allowed: tuple[str, ...]) -> str | None:
    value = str(form.get(field, "") or "")
    if value in allowed and value != current:
        return value
    return None


def parse_hours(text: str) -> float | None:
    """An estimate in hours as staff type it ("6", "6.5", "6,5"); None when left empty.

    Raises UsageError for anything else, including zero, negative and non-finite numbers.
    """
    value = text.strip().replace(",", ".")
    if not value:
        return None
    try:
        hours = float(value)
    except ValueError:
        raise UsageError(f"The estimate {text.strip()[:20]!r} is not a number of hours.") from None
    if not 0 < hours <= 10_000:
        raise UsageError("The estimate must be a positive number of hours.")
    return hours


def _estimate(form: Mapping[str, Any], hours_now: float | None,
              generic_now: bool) -> tuple[float | None, bool | None]:
    """The estimate fields that differ from the ticket (None: unchanged)."""
    if "estimate" not in form:
        return None, None
    hours = parse_hours(str(form.get("change_hours", "") or ""))
    generic = str(form.get("change_generic", "") or "") in ("1", "on", "true")
    return (hours if hours is not None and hours != hours_now else None,
            generic if generic != generic_now else None)


@router.post("/tickets/{number}/correct")
async def correct_ticket(request: Request, number: int) -> Response:
    form = await request.form()
    config = _config(request)
    db = _db(request)
    t = translator(request_language(request, config))
    target = f"/tickets/{number}"
    with db.session(read_only=True) as s:
        ticket = s.scalar(select(Ticket).where(Ticket.number == number))
        if ticket is None:
            return render(request, "error.html", status_code=404, message_key="not_found")
        current = (ticket.type, ticket.priority, ticket.status)
        estimate_now = (ticket.change_hours, bool(ticket.change_generic))
    type_ = _changed(form, "type", current[0], TYPES)
    priority = _changed(form, "priority", current[1], PRIORITIES)
    status = _changed(form, "status", current[2], STAFF_STATUSES)
    note = str(form.get("note", "") or "").strip()[:4000]
    try:
        change_hours, generic = _estimate(form, *estimate_now)
    except UsageError as exc:
        add_flash(request, "error", str(exc))
        return RedirectResponse(target, status_code=303)
    if (type_ is None and priority is None and status is None and change_hours is None
            and generic is None and not note):
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
            status=status, note=note, now=_now(request), change_hours=change_hours,
            generic=generic))
    except (UsageError, NotFoundError) as exc:
        add_flash(request, "error", str(exc))
        return RedirectResponse(target, status_code=303)
    with db.session(read_only=True) as s:
        after = s.scalar(select(Ticket).where(Ticket.number == number))
    message = t("correction_saved")
    if after is not None:
        from mailtriage.web.i18n import format_datetime

        lang = request_language(request, config)
        zone = config.calendar.zone
        if after.type == "change":
            if after.change_window:
                message += f" {t('change_window')}: {window_text(after.change_window, lang)}."
        else:
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
    with _db(request).session(read_only=True) as s:
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
        order: dict[str, int] = {p: i for i, p in enumerate(PRIORITIES)}
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
        with db.session(read_only=True) as s:
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

