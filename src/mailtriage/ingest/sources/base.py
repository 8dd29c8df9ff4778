"""The contract every mailbox adapter fulfils, and ``open_source`` that picks one from config.

A source hands over ``RawMail`` values in bounded batches. IMAP sources resume from a
``Cursor`` (UIDVALIDITY and the last stored UID); local sources (Maildir, mbox, a directory of
.eml files) have no UIDs and instead ask the caller which of their stable keys are already
stored. ``mark_processed`` is called only after the batch is committed to the database, so a
crash between the two leaves mail unmarked, never marked-but-lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

from mailtriage.config import MailboxConfig
from mailtriage.ingest.message import RawMail

SeenKeys = Callable[[Sequence[str]], set[str]]
"""Given keys of a local source, returns the subset that is already stored."""


@dataclass(frozen=True)
class Cursor:
    """Where the previous run stopped in an IMAP folder."""

    uidvalidity: int
    last_uid: int


class MailSource(Protocol):
    """One folder of one mailbox, open for reading."""

    name: str
    folder: str

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def uidvalidity(self) -> int:
        """The folder's UIDVALIDITY; 0 for local sources."""
        ...

    def batches(self, cursor: Cursor | None, seen: SeenKeys) -> Iterator[list[RawMail]]:
        """New mail in batches of at most ``batch_size``, read lazily, one batch in memory.

        IMAP: UIDs above ``cursor.last_uid`` when ``cursor.uidvalidity`` matches the folder's,
        otherwise every message (a full rescan; the pipeline deduplicates by content hash).
        Local sources ignore ``cursor`` and skip the keys ``seen`` reports as stored.
        """
        ...

    def mark_processed(self, uids: Sequence[str]) -> None:
        """Apply the configured processed action to stored mail; call only after the commit."""
        ...

    def fetch_one(self, uidvalidity: int, uid: str, *, size_limit: int | None) -> RawMail | None:
        """One message again (for a replay), or None when it is gone or UIDVALIDITY changed."""
        ...


def open_source(cfg: MailboxConfig, *, folder: str | None = None) -> MailSource:
    """The adapter for ``cfg.kind``, reading ``folder`` (default ``cfg.folder``); not yet open.

    Use it as a context manager: entering connects (IMAP) or checks the path (local sources)
    and raises a ``MailboxError`` subclass when that fails.
    """
    if cfg.kind == "imap":
        from mailtriage.ingest.sources.imap import ImapSource

        return ImapSource(cfg, folder=folder)
    if cfg.kind == "maildir":
        from mailtriage.ingest.sources.maildir import MaildirSource

        return MaildirSource(cfg, folder=folder)
    if cfg.kind == "mbox":
        from mailtriage.ingest.sources.mbox import MboxSource

        return MboxSource(cfg, folder=folder)
    from mailtriage.ingest.sources.emldir import EmlDirSource

    return EmlDirSource(cfg, folder=folder)
