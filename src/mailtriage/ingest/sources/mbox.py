"""Reads an mbox file as a stream; a message's key is its byte offset plus a content hash.

The key ``<offset>-<first 16 hex digits of sha256>`` names where the message's ``From_`` line
starts and what it holds. Appending mail to the file keeps every earlier key; a mail client
that rewrites the file (deleting a message) shifts offsets, and then the hash makes sure a
different message at an old offset is never taken for the stored one (the pipeline still
deduplicates by content).

The file is read line by line: memory holds one batch of messages, and of a message larger
than ``max_message_bytes`` only its header block (its hash still covers all of it). A message
starts at the first line of the file, at a ``From_`` line carrying an asctime date, or after a
blank line at a ``From `` line carrying at least a time of day; an unquoted "From here on..."
in a body therefore stays body. The blank line before the next ``From_`` line is the
separator and not part of the message; ``>From`` quoting is left as it is.
``mark_processed`` does nothing: an mbox has no place for our flag.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from mailtriage.config import MailboxConfig
from mailtriage.errors import MailboxGoneError
from mailtriage.ingest.message import RawMail
from mailtriage.ingest.sources.base import Cursor, SeenKeys
from mailtriage.ingest.sources.headers import header_block
from mailtriage.ingest.sources.local import LocalSource, io_error

_FROM_DATED = re.compile(rb"^From \S+ +\w{3} +\w{3} +\d{1,2} +\d{1,2}:\d\d")
"""A From_ line with its asctime date: a message starts here even without a blank line."""
_FROM_TIMED = re.compile(rb"^From \S+ .*\d{1,2}:\d\d")
"""A looser From_ line (some tool's odd date): accepted after a blank line."""
_BLANK = (b"\n", b"\r\n")


@dataclass(frozen=True)
class MboxEntry:
    """One message of an mbox file as read from the stream."""

    offset: int
    digest: str
    data: bytes
    size: int
    oversize: bool

    @property
    def key(self) -> str:
        return f"{self.offset}-{self.digest[:16]}"


class _Builder:
    """Collects one message's lines, keeping at most ``limit`` bytes of it."""

    def __init__(self, offset: int, limit: int | None) -> None:
        self.offset = offset
        self.limit = limit
        self.hasher = hashlib.sha256()
        self.parts: list[bytes] = []
        self.size = 0
        self.head: bytes | None = None

    def add(self, line: bytes) -> None:
        self.hasher.update(line)
        self.size += len(line)
        if self.head is not None:
            return
        self.parts.append(line)
        if self.limit is not None and self.size > self.limit:
            self.head = header_block(b"".join(self.parts))
            self.parts = []

    def finish(self) -> MboxEntry:
        oversize = self.head is not None
        data = self.head if self.head is not None else b"".join(self.parts)
        return MboxEntry(self.offset, self.hasher.hexdigest(), data, self.size, oversize)


def read_mbox(stream: BinaryIO, limit: int | None, start: int = 0) -> Iterator[MboxEntry]:
    """The messages of ``stream`` from byte ``start`` (which must open a ``From_`` line)."""
    position = start
    current: _Builder | None = None
    pending: bytes | None = None  # a blank line that may be the separator
    previous_blank = True
    for line in stream:
        if line.startswith(b"From ") and (
                (current is None and position == start) or _FROM_DATED.match(line)
                or (previous_blank and _FROM_TIMED.match(line))):
            if current is not None and current.size:
                yield current.finish()
            current = _Builder(position, limit)
            pending = None
        elif current is not None:
            if pending is not None:
                current.add(pending)
                pending = None
            if line in _BLANK:
                pending = line
            else:
                current.add(line)
        previous_blank = line in _BLANK
        position += len(line)
    if current is not None and current.size:
        yield current.finish()


class MboxSource(LocalSource):
    """One mbox file."""

    def __init__(self, cfg: MailboxConfig, *, folder: str | None = None) -> None:
        super().__init__(cfg, folder=folder)

    def check(self) -> None:
        if not self.path.is_file():
            raise MailboxGoneError(f"{self.path} is not an mbox file.")

    def _open(self) -> BinaryIO:
        try:
            return self.path.open("rb")
        except FileNotFoundError:
            raise MailboxGoneError(f"{self.path} disappeared.") from None
        except OSError as exc:
            raise io_error(f"Cannot read {self.path}", exc) from None

    def keys(self) -> Iterator[str]:
        """Every message key, streaming the file (no message is kept in memory)."""
        with self._open() as stream:
            for entry in read_mbox(stream, 0):
                yield entry.key

    def batches(self, cursor: Cursor | None, seen: SeenKeys) -> Iterator[list[RawMail]]:
        """Reads the file once, keys and contents together (cheaper than ``keys`` + ``read``)."""
        size = max(1, self.cfg.batch_size)
        with self._open() as stream:
            chunk: list[MboxEntry] = []
            for entry in read_mbox(stream, self.cfg.max_message_bytes):
                chunk.append(entry)
                if len(chunk) >= size:
                    batch = self._unseen(chunk, seen)
                    chunk = []
                    if batch:
                        yield batch
            batch = self._unseen(chunk, seen)
            if batch:
                yield batch

    def _unseen(self, chunk: list[MboxEntry], seen: SeenKeys) -> list[RawMail]:
        if not chunk:
            return []
        known = seen([e.key for e in chunk])
        return [self.mail(e.key, e.data, e.size, e.oversize) for e in chunk
                if e.key not in known]

    def read(self, key: str, limit: int | None) -> RawMail | None:
        """The message with ``key``: looked for at its offset, else anywhere in the file."""
        offset_text, _, digest = key.partition("-")
        if not offset_text.isdigit() or not digest:
            return None
        with self._open() as stream:
            stream.seek(int(offset_text))
            for entry in read_mbox(stream, limit, start=int(offset_text)):
                if entry.key == key:
                    return self.mail(key, entry.data, entry.size, entry.oversize)
                break
            stream.seek(0)
            for entry in read_mbox(stream, limit):
                if entry.digest.startswith(digest):
                    return self.mail(entry.key, entry.data, entry.size, entry.oversize)
        return None
