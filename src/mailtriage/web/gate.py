"""Nothing without signing in: the authentication gate in front of every route.

Pages need a signed-in session (else a redirect to ``/login``); the JSON API needs a bearer token
(else 401). The documentation pages of the API take either. Only the sign-in page and the
stylesheet are public. The account is looked up on every request, so a deactivated account loses
access at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from mailtriage.services.accounts import user_for_token
from mailtriage.store.database import Database
from mailtriage.store.models import User

PUBLIC_PREFIXES = ("/static/",)
PUBLIC_PATHS = frozenset({"/login"})
API_PREFIX = "/api"
API_DOC_PATHS = frozenset({"/api/docs", "/api/openapi.json"})
SESSION_USER = "user"


def safe_next(path: str | None) -> str:
    """A local path to return to after signing in; anything else becomes ``/``."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    if any(ord(ch) < 0x20 for ch in path):
        return "/"
    return path


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or []:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return str(token).strip()
    return None


class AuthGate:
    """Sets ``scope['state']['user']`` to the signed-in name, or refuses the request."""

    def __init__(self, app: ASGIApp, db_provider: Callable[[], Database]) -> None:
        self.app = app
        self.db_provider = db_provider

    def _active(self, name: str) -> bool:
        with self.db_provider().session(read_only=True) as s:
            return s.scalar(select(User.id).where(User.name == name,
                                                  User.active.is_(True))) is not None

    def _token_user(self, token: str) -> str | None:
        user = user_for_token(self.db_provider(), token)
        return None if user is None else str(user.name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope["path"])
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        is_api = path == API_PREFIX or path.startswith(API_PREFIX + "/")
        user: str | None = None
        if is_api:
            token = bearer_token(scope)
            if token is not None:
                user = await run_in_threadpool(self._token_user, token)
        if user is None and (not is_api or path in API_DOC_PATHS):
            session = scope.get("session", {})
            name = session.get(SESSION_USER)
            if isinstance(name, str) and await run_in_threadpool(self._active, name):
                user = name
            elif name is not None:
                session.clear()
        if user is None:
            if is_api and path not in API_DOC_PATHS:
                response: Any = JSONResponse(
                    {"error": "unauthorized",
                     "detail": "Send a valid API token as 'Authorization: Bearer <token>'."},
                    status_code=401, headers={"WWW-Authenticate": 'Bearer realm="mailtriage"'})
            else:
                target = path
                if scope.get("query_string"):
                    target += "?" + scope["query_string"].decode("latin-1")
                next_part = "" if target == "/" else "?next=" + quote(safe_next(target), safe="")
                response = RedirectResponse("/login" + next_part, status_code=303)
            await response(scope, receive, send)
            return
        state["user"] = user
        await self.app(scope, receive, send)
