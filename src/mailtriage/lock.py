"""The run lock: one ``mailtriage run`` at a time on this host (an exclusive, non-blocking flock).

The kernel releases the lock when the process dies, so a crashed run never blocks the next one.
Runs on several hosts sharing one database are kept apart by the lease in ``store.lease``.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from mailtriage.errors import LockHeldError, StoreError


class RunLock:
    """Context manager holding an exclusive lock on ``path``; raises LockHeldError if taken."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"The lock file {self.path} cannot be opened: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockHeldError(
                f"Another mailtriage run holds the lock {self.path}; this run stops."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
