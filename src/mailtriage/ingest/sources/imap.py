"""Reads one IMAP folder with imapclient: TLS or STARTTLS, UID cursor, batched peeking fetches.

Every imaplib, imapclient, socket and ssl exception is translated here into the ``MailboxError``
tree. Connection drops and timeouts are retried with a bounded, growing pause
(``reconnect_attempts``); refused credentials, untrusted certificates and missing folders are
not retried. Messages are always fetched with ``BODY.PEEK`` so reading never sets ``\\Seen``;
the folder is selected read-only unless a processed action (flag or move) is configured.
"""

from __future__ import annotations

import imaplib
import logging
import shlex
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

from imapclient import DELETED, IMAPClient, SocketTimeout
from imapclient.exceptions import LoginError
from imapclient.exceptions import ProtocolError as ImapProtocolError

from mailtriage.config import MailboxConfig, is_loopback
from mailtriage.errors import (
    MailboxAuthError,
    MailboxConnectError,
    MailboxError,
    MailboxGoneError,
    MailboxProtocolError,
    MailboxTLSError,
)
from mailtriage.ingest.message import RawMail
from mailtriage.ingest.sources.base import Cursor, SeenKeys
from mailtriage.ingest.sources.headers import header_block

log = logging.getLogger(__name__)

T = TypeVar("T")

BACKOFF_FIRST = 0.25
"""Pause before the first reconnect, in seconds; doubled per attempt."""
BACKOFF_MAX = 8.0
BATCH_BYTES = 64 * 1024 * 1024
"""A batch is also cut when its messages add up to this many bytes (one message always fits)."""

_BODY = b"BODY[]"
_HEADER = b"BODY[HEADER]"
_SIZE = b"RFC822.SIZE"
_DATE = b"INTERNALDATE"


def translate(exc: BaseException, *, connecting: bool) -> MailboxError:
    """The ``MailboxError`` for a library exception; ``connecting`` is true before login."""
    if isinstance(exc, MailboxError):
        return exc
    text = str(exc) or type(exc).__name__
    if isinstance(exc, LoginError):
        return MailboxAuthError(f"The server refused the credentials: {text}")
    if isinstance(exc, ssl.SSLCertVerificationError | ssl.CertificateError):
        return MailboxTLSError(f"The server's certificate is not trusted: {text}")
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError) and not connecting:
        return MailboxConnectError(f"The connection was closed: {text}")
    if isinstance(exc, ssl.SSLError):
        return MailboxTLSError(f"TLS failed: {text}")
    if isinstance(exc, TimeoutError):
        return MailboxConnectError(f"The server did not answer in time: {text}")
    if isinstance(exc, OSError):
        return MailboxConnectError(f"The connection failed: {text}")
    if isinstance(exc, imaplib.IMAP4.abort):
        lowered = text.lower()
        if "unexpected response" in lowered or "bad response" in lowered:
            return MailboxProtocolError(f"The server sent something unexpected: {text}")
        return MailboxConnectError(f"The connection broke off: {text}")
    if isinstance(exc, ImapProtocolError | imaplib.IMAP4.error | ValueError | KeyError | TypeError):
        return MailboxProtocolError(f"The server's answer could not be understood: {text}")
    return MailboxProtocolError(f"Unexpected failure talking to the server: {text}")


def oauth2_token(command: str, timeout: float) -> str:
    """Run ``command`` (split like a shell would, but without a shell); its output is the token."""
    try:
        argv = shlex.split(command)
        if not argv:
            raise ValueError("the command is empty")
        done = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise MailboxAuthError(f"The OAuth2 token command did not finish within {timeout:g} s."
                               ) from None
    except (OSError, ValueError) as exc:
        raise MailboxAuthError(f"The OAuth2 token command could not be run: {exc}") from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise MailboxAuthError(f"The OAuth2 token command failed with status {done.returncode}"
                               + (f": {detail[0]}" if detail else "."))
    token = done.stdout.decode("utf-8", "replace").strip()
    if not token or any(c.isspace() for c in token):
        raise MailboxAuthError("The OAuth2 token command printed no single token.")
    return token


class ImapSource:
    """One IMAP folder; open it with ``with``. Not for use from several threads at once,
    though every server conversation holds a lock so a prefetching thread cannot interleave."""

    def __init__(self, cfg: MailboxConfig, *, folder: str | None = None,
                 batch_bytes: int = BATCH_BYTES) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.folder = folder or cfg.folder
        self.batch_bytes = batch_bytes
        self._client: IMAPClient | None = None
        self._uidvalidity: int | None = None
        self._lock = threading.RLock()
        self.connections = 0
        """How many connections this source opened (the first one and reconnects)."""

    # -- connection ----------------------------------------------------------------------------

    def _tls_context(self) -> ssl.SSLContext:
        try:
            cafile = str(self.cfg.ca_file) if self.cfg.ca_file else None
            return ssl.create_default_context(cafile=cafile)
        except (OSError, ssl.SSLError) as exc:
            raise MailboxTLSError(f"The CA file {self.cfg.ca_file} cannot be used: {exc}"
                                  ) from None

    def _open(self) -> IMAPClient:
        cfg = self.cfg
        if cfg.security == "none" and not is_loopback(cfg.host):
            raise MailboxTLSError(f"Plaintext IMAP to {cfg.host} is refused; only loopback may "
                                  "go without TLS.")
        context = self._tls_context() if cfg.security != "none" else None
        self.connections += 1
        try:
            client = IMAPClient(cfg.host, port=cfg.port, ssl=cfg.security == "tls",
                                ssl_context=context,
                                timeout=SocketTimeout(connect=cfg.connect_timeout,
                                                      read=cfg.read_timeout))
        except Exception as exc:
            raise translate(exc, connecting=True) from None
        try:
            client.normalise_times = False
            if cfg.security == "starttls":
                if not client.has_capability("STARTTLS"):
                    raise MailboxTLSError(f"{cfg.host}:{cfg.port} does not offer STARTTLS; "
                                          "refusing to log in without TLS.")
                client.starttls(context)
            elif cfg.security == "none":
                peer = client.socket().getpeername()[0]
                if not is_loopback(str(peer)):
                    raise MailboxTLSError(f"Plaintext IMAP reached {peer}, which is not "
                                          "loopback; refused.")
            self._login(client)
            self._select(client)
        except BaseException as exc:
            _close(client)
            if isinstance(exc, MailboxError):
                raise
            if isinstance(exc, Exception):
                raise translate(exc, connecting=True) from None
            raise
        return client

    def _login(self, client: IMAPClient) -> None:
        cfg = self.cfg
        try:
            if cfg.oauth2_token_command:
                token = oauth2_token(cfg.oauth2_token_command, cfg.connect_timeout)
                client.oauth2_login(cfg.username, token)
            else:
                client.login(cfg.username, cfg.password or "")
        except (LoginError, imaplib.IMAP4.error) as exc:
            if isinstance(exc, imaplib.IMAP4.abort):
                raise
            raise MailboxAuthError(f"{cfg.host} refused the login of {cfg.username}: "
                                   f"{_text(exc)}") from None

    def _select(self, client: IMAPClient) -> None:
        readonly = self.cfg.processed_action == "none"
        try:
            info = client.select_folder(self.folder, readonly=readonly)
        except imaplib.IMAP4.error as exc:
            if isinstance(exc, imaplib.IMAP4.abort):
                raise
            raise MailboxGoneError(f"The folder {self.folder!r} cannot be selected: "
                                   f"{_text(exc)}") from None
        try:
            uidvalidity = int(info[b"UIDVALIDITY"])
        except (KeyError, TypeError, ValueError):
            raise MailboxProtocolError(f"The server gave no UIDVALIDITY for {self.folder!r}."
                                       ) from None
        if self._uidvalidity is not None and uidvalidity != self._uidvalidity:
            raise MailboxProtocolError(f"UIDVALIDITY of {self.folder!r} changed from "
                                       f"{self._uidvalidity} to {uidvalidity} while reading; "
                                       "the next run rescans the folder.")
        self._uidvalidity = uidvalidity

    def _drop(self) -> None:
        if self._client is not None:
            _close(self._client)
            self._client = None

    def _call(self, what: str, operation: Callable[[IMAPClient], T]) -> T:
        """Run ``operation`` on a live connection, reconnecting after drops, at most
        ``reconnect_attempts`` times with a growing pause; then ``MailboxConnectError``."""
        attempt = 0
        while True:
            with self._lock:
                try:
                    if self._client is None:
                        self._client = self._open()
                    return operation(self._client)
                except MailboxError as exc:
                    error: MailboxError = exc
                except Exception as exc:
                    error = translate(exc, connecting=False)
                if not isinstance(error, MailboxConnectError):
                    raise error
                self._drop()
                if attempt >= self.cfg.reconnect_attempts:
                    raise MailboxConnectError(
                        f"{self.cfg.host}:{self.cfg.port} {what}: {error} (gave up after "
                        f"{attempt + 1} attempts)") from None
            pause = min(BACKOFF_FIRST * 2 ** attempt, BACKOFF_MAX)
            log.warning("mailbox %s: %s failed (%s); reconnecting in %.2f s", self.name, what,
                        error, pause)
            time.sleep(pause)
            attempt += 1

    def __enter__(self) -> Self:
        self._call("connect", lambda client: None)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        with self._lock:
            if self._client is not None:
                try:
                    self._client.logout()
                except Exception:  # the connection is going away either way
                    log.debug("mailbox %s: logout failed", self.name, exc_info=True)
                self._drop()

    # -- reading -------------------------------------------------------------------------------

    def uidvalidity(self) -> int:
        if self._uidvalidity is None:
            self._call("connect", lambda client: None)
        assert self._uidvalidity is not None
        return self._uidvalidity

    def new_uids(self, after: int) -> list[int]:
        """UIDs above ``after``, ascending. ``UID n:*`` also matches the highest UID when n is
        above it (RFC 3501 6.4.8), so the answer is filtered."""
        found = self._call("search", lambda c: c.search(["UID", f"{after + 1}:*"]))
        return sorted(int(u) for u in found if int(u) > after)

    def batches(self, cursor: Cursor | None, seen: SeenKeys) -> Iterator[list[RawMail]]:
        uidvalidity = self.uidvalidity()
        after = cursor.last_uid if cursor and cursor.uidvalidity == uidvalidity else 0
        uids = self.new_uids(after)
        size = max(1, self.cfg.batch_size)
        for start in range(0, len(uids), size):
            chunk = uids[start:start + size]
            meta = self._fetch(chunk, [_SIZE, _DATE], _SIZE)
            group: list[int] = []
            group_bytes = 0
            for uid in chunk:
                if uid not in meta:
                    continue
                cost = min(_int(meta[uid][_SIZE]), self.cfg.max_message_bytes)
                if group and group_bytes + cost > self.batch_bytes:
                    yield self._materialise(group, meta, self.cfg.max_message_bytes)
                    group, group_bytes = [], 0
                group.append(uid)
                group_bytes += cost
            if group:
                yield self._materialise(group, meta, self.cfg.max_message_bytes)

    def _fetch(self, uids: Sequence[int], items: list[bytes], key: bytes
               ) -> dict[int, dict[bytes, Any]]:
        """FETCH ``items`` for a UID list; a UID whose answer lacks ``key`` (expunged meanwhile)
        is asked for once more, then left out."""
        wanted = list(uids)
        found: dict[int, dict[bytes, Any]] = {}
        for round_ in range(2):
            if not wanted:
                break
            ask = list(wanted)
            answer = self._call("fetch", lambda c, ask=ask: c.fetch(ask, items))  # type: ignore[misc]
            for uid, data in answer.items():
                if uid in ask and data.get(key) is not None:
                    found[int(uid)] = data
            wanted = [u for u in ask if u not in found]
            if wanted and round_ == 0:
                log.info("mailbox %s/%s: UIDs %s missing from FETCH; asking once more",
                         self.name, self.folder, wanted[:10])
        if wanted:
            log.info("mailbox %s/%s: skipping UIDs %s (expunged)", self.name, self.folder,
                     wanted[:10])
        return found

    def _materialise(self, uids: Sequence[int], meta: dict[int, dict[bytes, Any]],
                     limit: int | None) -> list[RawMail]:
        over = [u for u in uids if limit is not None and _int(meta[u][_SIZE]) > limit]
        normal = [u for u in uids if u not in over]
        bodies = self._fetch(normal, [b"BODY.PEEK[]"], _BODY) if normal else {}
        heads = self._fetch(over, [b"BODY.PEEK[HEADER]"], _HEADER) if over else {}
        assert self._uidvalidity is not None
        out: list[RawMail] = []
        for uid in uids:
            if uid in bodies:
                data, oversize = _bytes(bodies[uid][_BODY]), False
                size = len(data)
            elif uid in heads:
                data, oversize = header_block(_bytes(heads[uid][_HEADER])), True
                size = _int(meta[uid][_SIZE])
            else:
                continue
            date = meta[uid].get(_DATE)
            out.append(RawMail(
                mailbox=self.name, folder=self.folder, uidvalidity=self._uidvalidity,
                uid=str(uid), data=data, size=size,
                internaldate=date if isinstance(date, datetime) else None, oversize=oversize))
        return out

    def fetch_one(self, uidvalidity: int, uid: str, *, size_limit: int | None) -> RawMail | None:
        if not uid.isdigit() or uidvalidity != self.uidvalidity():
            return None
        number = int(uid)
        meta = self._fetch([number], [_SIZE, _DATE], _SIZE)
        if number not in meta:
            return None
        mails = self._materialise([number], meta, size_limit)
        return mails[0] if mails else None

    # -- marking -------------------------------------------------------------------------------

    def mark_processed(self, uids: Sequence[str]) -> None:
        """Flag or move stored mail, as configured; never touches ``\\Seen``."""
        action = self.cfg.processed_action
        numbers = [int(u) for u in uids if u.isdigit()]
        if action == "none" or not numbers:
            return
        if action == "flag":
            flag = self.cfg.processed_flag
            self._call("flag", lambda c: c.add_flags(numbers, [flag], silent=True))
            return
        target = self.cfg.processed_folder
        self._call("move", lambda c: self._move(c, numbers, target))

    def _move(self, client: IMAPClient, numbers: list[int], target: str) -> None:
        if not client.folder_exists(target):
            try:
                client.create_folder(target)
            except imaplib.IMAP4.error as exc:
                if isinstance(exc, imaplib.IMAP4.abort) or not client.folder_exists(target):
                    raise
        if client.has_capability("MOVE"):
            client.move(numbers, target)
            return
        client.copy(numbers, target)
        client.add_flags(numbers, [DELETED], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(numbers)
        else:
            log.warning("mailbox %s: the server has neither MOVE nor UIDPLUS; moved mail stays "
                        "in %s flagged \\Deleted until the folder is expunged",
                        self.name, self.folder)


def _close(client: IMAPClient) -> None:
    try:
        client.shutdown()
    except Exception:  # already broken; nothing left to release
        log.debug("closing an IMAP connection failed", exc_info=True)


def _text(exc: BaseException) -> str:
    text = str(exc)
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return text or type(exc).__name__


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise MailboxProtocolError(f"The server sent a size that is not a number: {value!r}"
                                   ) from None


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    raise MailboxProtocolError(f"The server sent a message body that is not a string: "
                               f"{type(value).__name__}")

