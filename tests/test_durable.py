"""Durable writes: the file, then its name, reach the disk; a failed write leaves nothing."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mailtriage import durable
from tests.disk_log import DiskLog


def test_write_file_syncs_the_file_then_renames_then_syncs_the_directory(
        tmp_path: Path, disk_log: DiskLog) -> None:
    target = tmp_path / "active"
    durable.write_file(target, b"v1\n")
    durable.write_file(target, b"v2\n", mode=0o640)
    assert target.read_bytes() == b"v2\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [kind for kind, _ in disk_log.events] == ["fsync-file", "replace", "fsync-dir"] * 2
    assert disk_log.file_synced_before_rename(target)
    assert disk_log.synced_after(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["active"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "model.skops"
    target.write_bytes(b"old")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        durable.write_file(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.skops"]


@pytest.mark.parametrize(("existing", "created", "synced"), [
    # nothing exists below tmp_path: every new directory's parent is synced
    ("", "a/b/c", ["", "a", "a/b"]),
    # part exists: only the parents that gained a directory
    ("a", "a/b/c", ["a", "a/b"]),
    # all exists: no sync at all
    ("a/b", "a/b", []),
])
def test_make_dirs_syncs_each_parent_that_gained_a_directory(
        tmp_path: Path, disk_log: DiskLog, existing: str, created: str,
        synced: list[str]) -> None:
    if existing:
        (tmp_path / existing).mkdir(parents=True)
    durable.make_dirs(tmp_path / created)
    assert (tmp_path / created).is_dir()
    assert disk_log.events == [("fsync-dir", tmp_path / s if s else tmp_path) for s in synced]


@pytest.mark.parametrize("wanted", ["outbox", "outbox/sub"])
def test_make_dirs_where_a_file_stands_fails(tmp_path: Path, wanted: str) -> None:
    (tmp_path / "outbox").write_text("a file where a directory should be")
    with pytest.raises(OSError):
        durable.make_dirs(tmp_path / wanted)
