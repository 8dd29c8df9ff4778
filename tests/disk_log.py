"""A fixture that records fsyncs and renames, to check what a writer makes durable and when."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


class DiskLog:
    """The fsyncs (of files and of directories) and renames made while the fixture is active."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Path]] = []

    def synced_after(self, path: Path) -> bool:
        """True when ``path`` was renamed into place and its directory synced afterwards."""
        renamed = [i for i, e in enumerate(self.events) if e == ("replace", path)]
        return bool(renamed) and ("fsync-dir", path.parent) in self.events[renamed[-1]:]

    def file_synced_before_rename(self, path: Path) -> bool:
        renamed = [i for i, e in enumerate(self.events) if e == ("replace", path)]
        return bool(renamed) and self.events[renamed[-1] - 1][0] == "fsync-file"


@pytest.fixture
def disk_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[DiskLog]:
    log = DiskLog()
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        kind = "fsync-dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync-file"
        log.events.append((kind, Path(os.readlink(f"/proc/self/fd/{fd}"))))
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        real_replace(src, dst)
        log.events.append(("replace", Path(dst)))

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    yield log
