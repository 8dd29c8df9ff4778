"""CSRF protection: a synchroniser token kept in the session and required on every form POST.

The check is an ASGI middleware, so no route can forget it: every POST, PUT, PATCH and DELETE
outside the bearer-token API must carry the session's token in the ``csrf`` form field or the
``X-CSRF-Token`` header, or it is answered 403 before any route runs.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import parse_qs

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_KEY = "csrf"
FIELD = "csrf"
HEADER = b"x-csrf-token"
MAX_FORM_BYTES = 256 * 1024
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def csrf_token(session: dict[str, Any]) -> str:
    """The session's token, created on first use."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


def rotate_token(session: dict[str, Any]) -> str:
    """A new token (after sign-in, so a token seen before it is worthless)."""
    session[SESSION_KEY] = secrets.token_urlsafe(32)
    return str(session[SESSION_KEY])


def token_matches(expected: object, submitted: str | None) -> bool:
    if not isinstance(expected, str) or not expected or not submitted:
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())


class CsrfMiddleware:
    """Refuses unsafe requests without the session's token; ``exempt`` prefixes are skipped."""

    def __init__(self, app: ASGIApp, exempt: tuple[str, ...] = ("/api/",)) -> None:
        self.app = app
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS
                or str(scope["path"]).startswith(self.exempt)):
            await self.app(scope, receive, send)
            return
        expected = scope.get("session", {}).get(SESSION_KEY)
        headers = dict(scope.get("headers") or [])
        submitted: str | None = None
        if HEADER in headers:
            submitted = headers[HEADER].decode("latin-1")
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
            if len(body) > MAX_FORM_BYTES:
                await PlainTextResponse("Form too large.", status_code=413)(scope, receive, send)
                return
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        if submitted is None and content_type.startswith("application/x-www-form-urlencoded"):
            values = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            if values.get(FIELD):
                submitted = values[FIELD][0]
        if not token_matches(expected, submitted):
            response = PlainTextResponse(
                "403 Forbidden: the form token is missing or does not match this session. "
                "Reload the page and try again.", status_code=403)
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
