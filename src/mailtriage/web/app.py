"""Builds the staff web application: routes, middleware, templates and shared state."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import Response

from mailtriage import __version__
from mailtriage.config import Config
from mailtriage.store.database import Database
from mailtriage.web import api, pages
from mailtriage.web.clocks import TicketClockReader
from mailtriage.web.csrf import CsrfMiddleware
from mailtriage.web.gate import AuthGate
from mailtriage.web.headers import SecurityHeadersMiddleware
from mailtriage.web.rendering import make_environment, render
from mailtriage.web.retrain import Retrainer, RetrainFunction
from mailtriage.web.throttle import LoginThrottle

STATIC = Path(__file__).resolve().parent / "static"
SESSION_HOURS = 12


def _utcnow() -> datetime:
    return datetime.now(UTC)


def create_app(config: Config, db: Database | None = None, *,
               clock: Callable[[], datetime] | None = None,
               throttle: LoginThrottle | None = None,
               retrain: RetrainFunction | None = None) -> FastAPI:
    """The staff UI and JSON API for ``config``; opens (and migrates) the database unless given.

    ``clock`` gives "now" (aware); tests pass a fixed one. Without ``web.secret_key`` a random
    key is made, so sessions end when the server restarts.
    """
    if db is None:
        from mailtriage.store.schema import ensure_schema

        db = Database(config.database.url)
        ensure_schema(db)
    database = db
    now = clock or _utcnow
    app = FastAPI(title="mailtriage", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=None,
                  description="The helpdesk's tickets: list, show and correct. Authenticate "
                              "with 'Authorization: Bearer <token>'.")
    app.state.config = config
    app.state.db = database
    app.state.clock = now
    app.state.throttle = throttle or LoginThrottle()
    app.state.templates = make_environment()
    app.state.retrainer = Retrainer(config, database, now, retrain)
    app.state.clocks = TicketClockReader(config)

    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "invalid", "detail": jsonable_errors(exc)},
                                status_code=422)
        return render(request, "error.html", status_code=404, message_key="not_found")

    @app.exception_handler(404)
    async def not_found(request: Request, exc: Any) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "not_found", "detail": "Not found."}, status_code=404)
        return render(request, "error.html", status_code=404, message_key="not_found")

    secure = config.web.secure_cookies
    # Middleware added last runs first: headers, session, CSRF, then the login gate.
    app.add_middleware(AuthGate, db_provider=lambda: database)
    app.add_middleware(CsrfMiddleware)
    app.add_middleware(SessionMiddleware,
                       secret_key=config.web.secret_key or secrets.token_urlsafe(48),
                       session_cookie="__Host-mailtriage" if secure else "mailtriage_session",
                       max_age=SESSION_HOURS * 3600, same_site="lax", https_only=secure)
    app.add_middleware(SecurityHeadersMiddleware, hsts=secure)
    return app


def jsonable_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in exc.errors()]
