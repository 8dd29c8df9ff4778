"""Reads a directory tree of ``.eml`` files; a message's key is its path relative to the root.

Files are taken in sorted order of their relative path (``/``-separated), recursively; hidden
files and directories are skipped. ``mark_processed`` does nothing: a directory of files has no
flags, and moving files a person placed there would surprise them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from mailtriage.config import MailboxConfig
from mailtriage.errors import MailboxGoneError
from mailtriage.ingest.message import RawMail
from mailtriage.ingest.sources.local import LocalSource, fit_key, io_error, read_message_file


class EmlDirSource(LocalSource):
    """A directory of .eml files."""

    _paths: dict[str, Path]

    def __init__(self, cfg: MailboxConfig, *, folder: str | None = None) -> None:
        super().__init__(cfg, folder=folder)
        self._paths = {}

    def check(self) -> None:
        if not self.path.is_dir():
            raise MailboxGoneError(f"{self.path} is not a directory.")

    def _walk(self) -> dict[str, Path]:
        found: dict[str, Path] = {}

        def fail(exc: OSError) -> None:
            raise io_error(f"Cannot list {exc.filename}", exc)

        for top, dirs, files in os.walk(self.path, onerror=fail):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                if name.startswith(".") or not name.lower().endswith(".eml"):
                    continue
                path = Path(top) / name
                found[fit_key(path.relative_to(self.path).as_posix())] = path
        return found

    def keys(self) -> Iterable[str]:
        self._paths = self._walk()
        return sorted(self._paths)

    def read(self, key: str, limit: int | None) -> RawMail | None:
        path = self._paths.get(key)
        if path is None:  # not listed yet (a replay) or gone: look again, only at listed files
            self._paths = self._walk()
            path = self._paths.get(key)
            if path is None:
                return None
        try:
            data, size, oversize = read_message_file(path, limit)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise io_error(f"Cannot read {path}", exc) from None
        return self.mail(key, data, size, oversize)
