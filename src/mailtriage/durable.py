"""Durable file writes: a file that survives a crash or a power loss whole, or not at all.

``write_file`` writes to a temporary file in the target's directory, fsyncs it, renames it over
the target and then fsyncs the directory, so the new name itself is on disk before the caller
goes on (on Linux a rename is only durable once its directory is synced). ``make_dirs`` creates
missing directories and syncs each parent that gained one. Both raise ``OSError``; the adapters
that call them translate it into their own errors.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def sync_directory(directory: Path) -> None:
    """Flush ``directory``'s entries (names created, renamed or removed in it) to disk."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(directory: Path) -> None:
    """``mkdir -p`` whose new directories are on disk when it returns."""
    missing: list[Path] = []
    cursor = directory
    while not cursor.is_dir():
        missing.append(cursor)
        if cursor.parent == cursor:
            break
        cursor = cursor.parent
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            if not path.is_dir():
                raise  # a file where a directory should be
            # else another process made it meanwhile
        sync_directory(path.parent)


def write_file(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace ``path`` by ``data`` atomically and durably; ``mode`` sets the permissions."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    sync_directory(path.parent)
