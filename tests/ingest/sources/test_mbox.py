"""The mbox adapter: splitting, stable keys across appends, seen skipping, bounded memory."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from collections.abc import Sequence
from pathlib import Path

import pytest

from mailtriage.config import MailboxConfig
from mailtriage.errors import MailboxGoneError
from mailtriage.ingest.sources.base import open_source
from mailtriage.ingest.sources.mbox import read_mbox

FROM_1 = b"From klant1@example.test Tue Mar  3 10:00:00 2026\n"
MSG_1 = b"From: klant1@example.test\nSubject: Een\n\nRegel een\n\nFrom the start, quoted?\n"
FROM_2 = b"From klant2@example.test Tue Mar  3 11:00:00 2026\n"
MSG_2 = b"From: klant2@example.test\nSubject: Twee\n\nRegel twee\n"


def config(path: Path, **overrides: object) -> MailboxConfig:
    values: dict[str, object] = {"name": "box", "kind": "mbox", "path": path}
    values.update(overrides)
    return MailboxConfig(**values)  # type: ignore[arg-type]


def nothing_seen(keys: Sequence[str]) -> set[str]:
    return set()


def key(offset: int, data: bytes) -> str:
    return f"{offset}-{hashlib.sha256(data).hexdigest()[:16]}"


def test_split_and_keys() -> None:
    # "From the start" follows a blank line but is not a From_ line with a date: it stays body.
    text = FROM_1 + MSG_1 + b"\n" + FROM_2 + MSG_2 + b"\n"
    entries = list(read_mbox(io.BytesIO(text), None))
    second = len(FROM_1 + MSG_1 + b"\n")
    assert [(e.offset, e.data, e.size, e.oversize) for e in entries] == [
        (0, MSG_1, len(MSG_1), False), (second, MSG_2, len(MSG_2), False)]
    assert [e.key for e in entries] == [key(0, MSG_1), key(second, MSG_2)]


def test_from_line_with_date_starts_a_message_even_without_blank_line() -> None:
    text = FROM_1 + MSG_1 + FROM_2 + MSG_2
    assert [e.data for e in read_mbox(io.BytesIO(text), None)] == [MSG_1, MSG_2]


def test_keys_survive_appends_and_seen_mail_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "inbox.mbox"
    path.write_bytes(FROM_1 + MSG_1 + b"\n")
    with open_source(config(path)) as source:
        first = [m for b in source.batches(None, nothing_seen) for m in b]
    assert [(m.uid, m.data, m.uidvalidity, m.internaldate) for m in first] == [
        (key(0, MSG_1), MSG_1, 0, None)]

    with path.open("ab") as fh:
        fh.write(FROM_2 + MSG_2 + b"\n")
    stored = {first[0].uid}
    with open_source(config(path)) as source:
        second = [m for b in source.batches(None, lambda keys: stored & set(keys)) for m in b]
    assert [(m.uid, m.data) for m in second] == [
        (key(len(FROM_1 + MSG_1 + b"\n"), MSG_2), MSG_2)]


def test_rewritten_file_does_not_match_old_keys(tmp_path: Path) -> None:
    path = tmp_path / "inbox.mbox"
    path.write_bytes(FROM_2 + MSG_2 + b"\n")  # message 1 deleted: message 2 moved to offset 0
    with open_source(config(path)) as source:
        [[mail]] = list(source.batches(None, lambda keys: {key(0, MSG_1)} & set(keys)))
        assert mail.uid == key(0, MSG_2)
        # a replay of a key whose offset moved still finds the message by its hash
        moved = source.fetch_one(0, key(500, MSG_2), size_limit=None)
        assert source.fetch_one(0, key(0, MSG_1), size_limit=None) is None
    assert moved is not None and moved.data == MSG_2


def test_oversize_message_keeps_header_and_full_hash(tmp_path: Path) -> None:
    big = b"From: a@example.test\nSubject: Groot\n\n" + b"regel\n" * 2000
    path = tmp_path / "inbox.mbox"
    path.write_bytes(FROM_1 + big + b"\n" + FROM_2 + MSG_2)
    with open_source(config(path, max_message_bytes=1000)) as source:
        [[one, two]] = list(source.batches(None, nothing_seen))
    assert (one.data, one.size, one.oversize, one.uid) == (
        b"From: a@example.test\nSubject: Groot\n\n", len(big), True, key(0, big))
    assert (two.data, two.oversize) == (MSG_2, False)


def test_batches_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "inbox.mbox"
    path.write_bytes(b"".join(
        f"From k{n}@example.test Tue Mar  3 10:00:00 2026\n".encode()
        + f"Subject: {n}\n\nx\n\n".encode() for n in range(5)))
    with open_source(config(path, batch_size=2)) as source:
        sizes = [len(b) for b in source.batches(None, nothing_seen)]
    assert sizes == [2, 2, 1]
    with pytest.raises(MailboxGoneError):
        open_source(config(tmp_path / "missing.mbox")).__enter__()


def test_memory_stays_bounded_by_one_batch(tmp_path: Path) -> None:
    # 200 messages of 100 kB (20 MB) read in batches of 5: peak memory must stay near one
    # batch (0.5 MB), far below the file size.
    body = (b"z" * 99 + b"\n") * 1000
    path = tmp_path / "big.mbox"
    with path.open("wb") as fh:
        for n in range(200):
            fh.write(f"From k{n}@example.test Tue Mar  3 10:00:00 2026\n".encode())
            fh.write(f"Subject: {n}\n\n".encode() + body + b"\n")
    count = 0
    tracemalloc.start()
    try:
        with open_source(config(path, batch_size=5)) as source:
            for batch in source.batches(None, nothing_seen):
                count += len(batch)
                del batch
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 200
    assert peak < 3 * 1024 * 1024, peak
