"""The content-addressed file store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mailtriage.errors import StoreError
from mailtriage.store.files import FileStore
from tests.disk_log import DiskLog


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


def test_a_stored_file_and_its_name_are_on_disk_when_put_returns(
        tmp_path: Path, disk_log: DiskLog) -> None:
    store = FileStore(tmp_path / "files")
    key = store.put(b"raw mail")
    path = store.path_for(key)
    assert disk_log.file_synced_before_rename(path)
    assert disk_log.synced_after(path)
    # the two new fan-out directories and the store's root are entered durably too
    for directory in (tmp_path, tmp_path / "files", path.parent.parent):
        assert ("fsync-dir", directory) in disk_log.events
