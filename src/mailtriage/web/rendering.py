"""Server-side page rendering: the Jinja environment and what every page template receives."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from mailtriage import __version__
from mailtriage.config import Config
from mailtriage.web.clocks import ClockView
from mailtriage.web.csrf import csrf_token
from mailtriage.web.downloads import clean_filename
from mailtriage.web.i18n import (
    format_datetime,
    format_duration,
    pick_language,
    translator,
    window_text,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "svg"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["filename"] = clean_filename
    return env


def request_language(request: Request, config: Config) -> str:
    return pick_language(request.session.get("lang"), request.headers.get("accept-language"),
                         config.notify.default_language)


def add_flash(request: Request, kind: str, text: str) -> None:
    """A message shown once on the next page (kind: ok, error, info)."""
    flashes = list(request.session.get("flash", []))
    flashes.append([kind, text])
    request.session["flash"] = flashes[-5:]


def render(request: Request, name: str, *, status_code: int = 200,
           headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    """Render ``name`` with the page basics: words, language, user, form token, messages."""
    app = request.app
    config: Config = app.state.config
    lang = request_language(request, config)
    t = translator(lang)
    zone = config.calendar.zone
    now: datetime = app.state.clock()

    def when(value: datetime | None) -> str:
        return format_datetime(value, zone, lang)

    def left(clock: ClockView) -> str:
        if clock.left is None:
            return ""
        word = t("left") if clock.left.total_seconds() > 0 else t("overdue")
        return f"{format_duration(clock.left, lang)} {word}"

    label: Callable[[str, str | None], str] = lambda group, value: (  # noqa: E731
        t(f"{group}_{value if value is not None else 'none'}"))
    flashes = request.session.pop("flash", []) if "flash" in request.session else []
    base = {
        "t": t,
        "lang": lang,
        "when": when,
        "left": left,
        "window": lambda value: window_text(value, lang),
        "label": label,
        "now": now,
        "user": request.scope.get("state", {}).get("user"),
        "csrf": csrf_token(request.session),
        "flashes": flashes,
        "path": request.url.path,
        "version": __version__,
        "helpdesk": config.notify.helpdesk_name,
    }
    base.update(context)
    html = app.state.templates.get_template(name).render(base)
    return HTMLResponse(html, status_code=status_code, headers=headers)
