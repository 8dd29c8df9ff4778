"""The content-addressed file store for large raw mails and attachment contents.

Contents are stored under their sha256 (``ab/cd/abcd…``), never under a name a sender chose, and
written durably (``mailtriage.durable``: temporary file, fsync, rename, fsync of the directory),
so neither a crash nor a power loss leaves a half file or loses a file the database names.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from mailtriage import durable
from mailtriage.errors import StoreError

_KEY = re.compile(r"^[0-9a-f]{64}$")


class FileStore:
    """Put and get byte strings by their sha256."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, key: str) -> Path:
        if not _KEY.match(key):
            raise StoreError(f"{key!r} is not a file store key")
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes) -> str:
        key = hashlib.sha256(data).hexdigest()
        path = self.path_for(key)
        if path.exists():
            return key
        try:
            durable.make_dirs(path.parent)
            durable.write_file(path, data)
        except OSError as exc:
            raise StoreError(f"The file store at {self.root} cannot be written: {exc}") from exc
        return key

    def get(self, key: str) -> bytes:
        try:
            return self.path_for(key).read_bytes()
        except OSError as exc:
            raise StoreError(f"File {key} is missing from the file store: {exc}") from exc

    def exists(self, key: str) -> bool:
        return self.path_for(key).exists()
