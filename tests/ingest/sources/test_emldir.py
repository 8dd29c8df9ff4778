"""The .eml directory adapter: recursive sorted walk, relative-path keys, laziness."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from mailtriage.config import MailboxConfig
from mailtriage.errors import MailboxGoneError
from mailtriage.ingest.sources.base import open_source
from mailtriage.ingest.sources.local import KEY_MAX, fit_key


def config(path: Path, **overrides: object) -> MailboxConfig:
    values: dict[str, object] = {"name": "files", "kind": "emldir", "path": path}
    values.update(overrides)
    return MailboxConfig(**values)  # type: ignore[arg-type]


def nothing_seen(keys: Sequence[str]) -> set[str]:
    return set()


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_recursive_sorted_relative_keys(tmp_path: Path) -> None:
    for rel in ["b.eml", "a/z.EML", "a/c.eml", ".hidden/x.eml", "a/.y.eml", "notes.txt"]:
        write(tmp_path / rel, f"Subject: {rel}\n\nx\n".encode())
    with open_source(config(tmp_path, batch_size=2)) as source:
        batches = [[(m.uid, m.data) for m in b] for b in source.batches(None, nothing_seen)]
    assert batches == [
        [("a/c.eml", b"Subject: a/c.eml\n\nx\n"), ("a/z.EML", b"Subject: a/z.EML\n\nx\n")],
        [("b.eml", b"Subject: b.eml\n\nx\n")],
    ]


def test_seen_skipping_and_laziness(tmp_path: Path) -> None:
    for n in range(5):
        write(tmp_path / f"{n}.eml", f"Subject: {n}\n\nx\n".encode())
    with open_source(config(tmp_path, batch_size=2)) as source:
        stream = source.batches(None, lambda keys: {"1.eml", "2.eml"} & set(keys))
        first = next(stream)
        write(tmp_path / "4.eml", b"Subject: rewritten\n\ny\n")
        (tmp_path / "3.eml").unlink()  # vanished after the listing: skipped, no error
        rest = list(stream)
    assert [m.uid for m in first] == ["0.eml"]
    assert [(m.uid, m.data) for b in rest for m in b] == [("4.eml",
                                                           b"Subject: rewritten\n\ny\n")]


def test_oversize_and_fetch_one(tmp_path: Path) -> None:
    big = b"Subject: groot\r\n\r\n" + b"q" * 4000
    write(tmp_path / "in" / "big.eml", big)
    with open_source(config(tmp_path, max_message_bytes=100)) as source:
        [[mail]] = list(source.batches(None, nothing_seen))
        again = source.fetch_one(0, "in/big.eml", size_limit=None)
        assert source.fetch_one(0, "../etc/passwd", size_limit=None) is None
        assert source.fetch_one(0, "/etc/passwd", size_limit=None) is None
    assert (mail.data, mail.size, mail.oversize) == (b"Subject: groot\r\n\r\n", len(big), True)
    assert again is not None and (again.data, again.oversize) == (big, False)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(MailboxGoneError):
        open_source(config(tmp_path / "none")).__enter__()


@pytest.mark.parametrize("length", [1, KEY_MAX, KEY_MAX + 1, 1000])
def test_fit_key(length: int) -> None:
    key = "k" * length
    fitted = fit_key(key)
    assert len(fitted) <= KEY_MAX
    assert (fitted == key) == (length <= KEY_MAX)
