"""What the local sources share: the path check, key batching with ``seen``, reading files.

Local sources have no UIDs: each message has a stable key (see the adapters), UIDVALIDITY is 0
and the cursor is ignored. A batch of keys is listed, the caller says which are stored already,
and only the others are read, so memory holds one batch of messages at a time.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from mailtriage.config import MailboxConfig
from mailtriage.errors import MailboxError, MailboxGoneError
from mailtriage.ingest.message import RawMail
from mailtriage.ingest.sources.base import Cursor, SeenKeys
from mailtriage.ingest.sources.headers import read_header_block

KEY_MAX = 300
"""Keys are stored in a column of this width; longer ones are shortened with a hash."""


def fit_key(key: str) -> str:
    """``key`` itself, or a prefix plus a hash of the whole when it is longer than KEY_MAX."""
    if len(key) <= KEY_MAX:
        return key
    return key[:200] + "#" + hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def read_message_file(path: Path, limit: int | None) -> tuple[bytes, int, bool]:
    """``(data, size, oversize)`` of one message file; over ``limit`` only its header block."""
    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if limit is not None and size > limit:
            return read_header_block(fh), size, True
        data = fh.read()
    return data, len(data), False


def chunked(items: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class LocalSource(ABC):
    """Base of the file-based sources; subclasses list keys and read one key."""

    def __init__(self, cfg: MailboxConfig, *, folder: str | None = None) -> None:
        if cfg.path is None:
            raise MailboxGoneError(f"Mailbox {cfg.name} has no path configured.")
        self.cfg = cfg
        self.name = cfg.name
        self.folder = folder or cfg.folder
        self.path: Path = cfg.path

    @abstractmethod
    def check(self) -> None:
        """Raise ``MailboxGoneError`` when the mailbox is not there."""

    @abstractmethod
    def keys(self) -> Iterable[str]:
        """Every message key, in a stable order."""

    @abstractmethod
    def read(self, key: str, limit: int | None) -> RawMail | None:
        """The message with ``key``, or None when it disappeared meanwhile."""

    def __enter__(self) -> Self:
        self.check()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        return None

    def uidvalidity(self) -> int:
        return 0

    def batches(self, cursor: Cursor | None, seen: SeenKeys) -> Iterator[list[RawMail]]:
        for chunk in chunked(self.keys(), max(1, self.cfg.batch_size)):
            known = seen(chunk)
            batch: list[RawMail] = []
            for key in chunk:
                if key in known:
                    continue
                mail = self.read(key, self.cfg.max_message_bytes)
                if mail is not None:
                    batch.append(mail)
            if batch:
                yield batch

    def mail(self, key: str, data: bytes, size: int, oversize: bool) -> RawMail:
        return RawMail(mailbox=self.name, folder=self.folder, uidvalidity=0, uid=key,
                       data=data, size=size, internaldate=None, oversize=oversize)

    def mark_processed(self, uids: Sequence[str]) -> None:
        """Nothing to do for this kind of source (see the adapter's docstring)."""
        return None

    def fetch_one(self, uidvalidity: int, uid: str, *, size_limit: int | None) -> RawMail | None:
        if uidvalidity != 0:
            return None
        return self.read(uid, size_limit)


def io_error(what: str, exc: OSError) -> MailboxError:
    """A local read failure as a ``MailboxError``."""
    return MailboxError(f"{what}: {exc.strerror or exc}")
