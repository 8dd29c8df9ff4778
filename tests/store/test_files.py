"""The content-addressed file store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mailtriage.errors import StoreError
from mailtriage.store.files import FileStore


def test_put_get_by_hash_and_idempotent(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    key = store.put(b"hello")
    assert key == hashlib.sha256(b"hello").hexdigest()
    assert store.put(b"hello") == key
    assert store.get(key) == b"hello"
    assert store.path_for(key).relative_to(tmp_path).parts[:2] == (key[:2], key[2:4])
    assert not list(tmp_path.rglob(".tmp-*"))


@pytest.mark.parametrize("key", ["../../etc/passwd", "A" * 64, "abc", "g" * 64])
def test_keys_that_are_not_hashes_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(StoreError):
        FileStore(tmp_path).path_for(key)


def test_missing_file_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        FileStore(tmp_path).get("0" * 64)
