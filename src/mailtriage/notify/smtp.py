"""Delivers outgoing mail over SMTP (smtplib), and turns every failure into a delivery error.

Security: ``tls`` is implicit TLS (SMTP_SSL), ``starttls`` upgrades the connection and refuses to
go on in plaintext when the server does not offer STARTTLS; ``none`` is allowed by the config on
loopback only. Certificates are verified with the default context (system CAs, or only
``ca_file`` when set), hostname included. AUTH is used when a username is set.

Errors, as the outbox needs them:

* a 4xx reply, connection refused, reset or timed out before the message was handed over →
  ``TemporaryDeliveryError`` (retried with backoff);
* a 5xx reply to MAIL, RCPT or the end of DATA → ``PermanentDeliveryError`` with the server's
  text (not retried);
* the connection failing after the complete message and its terminating dot were sent but
  before the server's answer arrived → ``UncertainDeliveryError``: the server may have taken the
  mail (RFC 1047), so it must not be resent blindly;
* TLS or AUTH failing, or the server refusing the connection in its greeting →
  ``DeliverySetupError`` (a temporary error): it is about our setup, not this message, so no
  message is failed for it.

The transaction is run step by step (MAIL, each RCPT, DATA, payload, reply) instead of through
``sendmail`` so these moments can be told apart; a message goes to all its recipients or none.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Callable, Sequence

from mailtriage.config import SmtpConfig
from mailtriage.errors import (
    DeliveryError,
    DeliverySetupError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    UncertainDeliveryError,
)
from mailtriage.notify.address import normalize_address

_EOL_RE = re.compile(rb"\r\n|\n|\r")
_DOT_RE = re.compile(rb"(?m)^\.")


def smtp_payload(message_bytes: bytes) -> bytes:
    """The DATA payload: CRLF line ends, leading dots doubled, ending in CRLF.CRLF."""
    data = _EOL_RE.sub(b"\r\n", message_bytes)
    data = _DOT_RE.sub(b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())


def _by_code(code: int, reply: bytes | str, what: str) -> DeliveryError:
    text = f"{what}: {code} {_reply_text(reply)}".rstrip()
    if 500 <= code < 600:
        return PermanentDeliveryError(text)
    return TemporaryDeliveryError(text)


def tls_context(cfg: SmtpConfig) -> ssl.SSLContext:
    """Certificate and hostname verification; only ``cfg.ca_file`` trusted when it is set."""
    ctx = ssl.create_default_context(cafile=str(cfg.ca_file) if cfg.ca_file else None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def _quit(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (OSError, smtplib.SMTPException):
        conn.close()


class SmtpTransport:
    """One SMTP session for a run of messages; a failure ends it, so it never leaks into the
    next message.

    Greeting, EHLO, STARTTLS and AUTH cost a handful of round trips that a smarthost across a
    network makes dear; after a message the server accepted, the next one goes over the same
    session. When a kept session turns out to be gone before the message was handed over (the
    server closed it while idle, or it takes only so many messages per connection), the
    message is tried once more on a fresh one. ``close`` ends the session (QUIT).
    """

    def __init__(self, cfg: SmtpConfig) -> None:
        self.cfg = cfg
        self._context: ssl.SSLContext | None = None
        self._conn: smtplib.SMTP | None = None
        domain = cfg.from_address.rsplit("@", 1)[-1]
        self.local_hostname = domain or "localhost"

    @property
    def context(self) -> ssl.SSLContext:
        if self._context is None:
            try:
                self._context = tls_context(self.cfg)
            except (OSError, ssl.SSLError) as exc:
                raise DeliverySetupError(
                    f"cannot load the CA file {self.cfg.ca_file}: {exc}") from exc
        return self._context

    def _where(self) -> str:
        return f"SMTP server {self.cfg.host}:{self.cfg.port}"

    def _connect(self) -> smtplib.SMTP:
        cfg = self.cfg
        try:
            if cfg.security == "tls":
                return smtplib.SMTP_SSL(cfg.host, cfg.port, local_hostname=self.local_hostname,
                                        timeout=cfg.timeout, context=self.context)
            return smtplib.SMTP(cfg.host, cfg.port, local_hostname=self.local_hostname,
                                timeout=cfg.timeout)
        except ssl.SSLError as exc:
            raise DeliverySetupError(f"TLS with the {self._where()} failed: {exc}") from exc
        except smtplib.SMTPConnectError as exc:
            raise DeliverySetupError(f"the {self._where()} refused the connection: "
                                     f"{exc.smtp_code} {_reply_text(exc.smtp_error)}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryDeliveryError(f"cannot connect to the {self._where()}: "
                                         f"{exc}") from exc

    def _prepare(self, conn: smtplib.SMTP) -> None:
        cfg = self.cfg
        try:
            conn.ehlo_or_helo_if_needed()
            if cfg.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise DeliverySetupError(f"the {self._where()} does not offer STARTTLS; "
                                             "refusing to send in plaintext")
                code, reply = conn.starttls(context=self.context)
                if code != 220:
                    raise DeliverySetupError(f"STARTTLS refused: {code} {_reply_text(reply)}")
                conn.ehlo()
            if cfg.username:
                conn.login(cfg.username, cfg.password or "")
        except DeliveryError:
            raise
        except ssl.SSLError as exc:
            raise DeliverySetupError(f"TLS with the {self._where()} failed: {exc}") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliverySetupError(f"the {self._where()} refused the login for "
                                     f"{cfg.username}: {exc.smtp_code} "
                                     f"{_reply_text(exc.smtp_error)}") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliverySetupError(f"the {self._where()} does not support {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliverySetupError(f"the {self._where()} refused the session: "
                                     f"{exc.smtp_code} {_reply_text(exc.smtp_error)}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryDeliveryError(f"the connection to the {self._where()} failed: "
                                         f"{exc}") from exc

    def _transaction(self, conn: smtplib.SMTP, payload: bytes, sender: str,
                     recipients: Sequence[str], before_data: Callable[[], None] | None) -> None:
        try:
            code, reply = conn.mail(sender)
            if code != 250:
                raise _by_code(code, reply, f"MAIL FROM:<{sender}> refused")
            refused: list[tuple[str, int, bytes]] = []
            for rcpt in recipients:
                code, reply = conn.rcpt(rcpt)
                if code not in (250, 251):
                    refused.append((rcpt, code, reply))
            if refused:
                text = "; ".join(f"{r}: {c} {_reply_text(t)}" for r, c, t in refused)
                if all(500 <= c < 600 for _, c, _ in refused):
                    raise PermanentDeliveryError(f"recipient refused: {text}")
                raise TemporaryDeliveryError(f"recipient refused for now: {text}")
            code, reply = conn.docmd("DATA")
            if code != 354:
                raise _by_code(code, reply, "DATA refused")
            if before_data is not None:
                before_data()  # the last moment at which nothing can have been delivered
            conn.send(payload)
        except DeliveryError:
            raise
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryDeliveryError(f"the connection to the {self._where()} failed "
                                         f"before the message was handed over: {exc}") from exc
        # The whole message and its final dot are out: from here on the server may have it.
        try:
            code, reply = conn.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            raise UncertainDeliveryError(
                f"the connection to the {self._where()} failed after the message was sent, "
                f"before the server answered; it may have been delivered: {exc}") from exc
        if code != 250:
            raise _by_code(code, reply, "message refused")

    def send(self, message_bytes: bytes, sender: str, recipients: Sequence[str], *,
             before_data: Callable[[], None] | None = None) -> None:
        """Hand one message to the server for ``recipients``; ``sender`` "" is the null path.

        ``before_data`` is called once the server accepted DATA, right before the message goes
        out: until then a crash cannot have delivered anything.
        """
        clean = [normalize_address(r) for r in recipients]
        if not recipients or any(r is None for r in clean):
            raise PermanentDeliveryError("recipient address rejected: not a valid plain address")
        envelope_from = ""
        if sender:
            checked = normalize_address(sender)
            if checked is None:
                raise PermanentDeliveryError("envelope sender rejected: not a valid address")
            envelope_from = checked
        payload = smtp_payload(message_bytes)
        handed_over = False

        def mark() -> None:
            nonlocal handed_over
            handed_over = True
            if before_data is not None:
                before_data()

        rcpts = [r for r in clean if r]
        kept = self._conn is not None
        while True:
            try:
                self._transaction(self._session(), payload, envelope_from, rcpts, mark)
                return
            except BaseException as exc:
                self.close()
                if not (kept and isinstance(exc, TemporaryDeliveryError)) or handed_over:
                    raise
                kept = False  # a kept session failed before the hand-over: once more, fresh

    def _session(self) -> smtplib.SMTP:
        """The open session, or a new one (connected, TLS, logged in)."""
        if self._conn is None:
            conn = self._connect()
            try:
                self._prepare(conn)
            except BaseException:
                _quit(conn)
                raise
            self._conn = conn
        return self._conn

    def close(self) -> None:
        """End the session, if one is open."""
        conn, self._conn = self._conn, None
        if conn is not None:
            _quit(conn)
