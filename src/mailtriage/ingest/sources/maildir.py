"""Reads a Maildir (``new/`` and ``cur/``); a message's key is its unique name.

The key is the file name without the ``:2,<flags>`` info suffix, so it survives the message
moving from ``new/`` to ``cur/`` and flag changes by a mail client. The folder ``INBOX`` is the
Maildir at ``path`` itself; any other folder is the Maildir++ subfolder ``path/.<folder>``.

``processed_action = "move"`` moves stored messages into the sibling Maildir++ folder
``path/.<processed_folder>`` (created when missing), keeping their file names; ``"flag"`` is a
no-op because Maildir has no custom keywords.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from mailtriage.config import MailboxConfig
from mailtriage.errors import MailboxGoneError
from mailtriage.ingest.message import RawMail
from mailtriage.ingest.sources.local import LocalSource, io_error, read_message_file

SUBDIRS = ("new", "cur")


def unique_name(filename: str) -> str:
    """The Maildir unique name: the file name up to the ``:`` that starts the info part."""
    return filename.split(":", 1)[0]


def subfolder(root: Path, folder: str) -> Path:
    """The directory of ``folder`` in the Maildir++ tree at ``root``."""
    if folder in ("", ".") or folder.upper() == "INBOX":
        return root
    return root / ("." + folder.replace("/", "."))


class MaildirSource(LocalSource):
    """One Maildir folder."""

    def __init__(self, cfg: MailboxConfig, *, folder: str | None = None) -> None:
        super().__init__(cfg, folder=folder)
        self.root = self.path
        self.directory = subfolder(self.root, self.folder)

    def check(self) -> None:
        if not all((self.directory / sub).is_dir() for sub in SUBDIRS):
            raise MailboxGoneError(f"{self.directory} is not a Maildir (no new/ and cur/).")

    def _scan(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for sub in SUBDIRS:
            try:
                with os.scandir(self.directory / sub) as entries:
                    for entry in entries:
                        if entry.name.startswith(".") or not entry.is_file():
                            continue
                        found[unique_name(entry.name)] = Path(entry.path)
            except FileNotFoundError:
                raise MailboxGoneError(f"{self.directory / sub} disappeared.") from None
            except OSError as exc:
                raise io_error(f"Cannot list {self.directory / sub}", exc) from None
        return found

    def keys(self) -> Iterable[str]:
        return sorted(self._scan())

    def locate(self, key: str) -> Path | None:
        """The current file of ``key`` in ``new/`` or ``cur/``, or None."""
        if not key or "/" in key or key.startswith("."):
            return None
        for sub in SUBDIRS:
            plain = self.directory / sub / key
            if plain.is_file():
                return plain
            for candidate in (self.directory / sub).glob(_glob_escape(key) + ":*"):
                return candidate
        return None

    def read(self, key: str, limit: int | None) -> RawMail | None:
        for _ in range(2):  # a client may rename the file between locating and opening it
            path = self.locate(key)
            if path is None:
                return None
            try:
                data, size, oversize = read_message_file(path, limit)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise io_error(f"Cannot read {path}", exc) from None
            return self.mail(key, data, size, oversize)
        return None

    def mark_processed(self, uids: Sequence[str]) -> None:
        """Move stored messages to ``.<processed_folder>`` when configured; otherwise nothing."""
        if self.cfg.processed_action != "move" or not uids:
            return
        target = subfolder(self.root, self.cfg.processed_folder)
        if target == self.directory:
            return
        try:
            for sub in ("tmp", "new", "cur"):
                (target / sub).mkdir(parents=True, exist_ok=True)
            for key in uids:
                path = self.locate(key)
                if path is None:
                    continue
                os.replace(path, target / path.parent.name / path.name)
        except OSError as exc:
            raise io_error(f"Cannot move processed mail to {target}", exc) from None


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)
