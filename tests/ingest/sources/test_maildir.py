"""The Maildir adapter on Maildirs written in tmp_path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from mailtriage.config import MailboxConfig
from mailtriage.errors import MailboxGoneError
from mailtriage.ingest.sources.base import Cursor, open_source
from mailtriage.ingest.sources.maildir import MaildirSource, unique_name


def make_maildir(root: Path) -> Path:
    for sub in ("tmp", "new", "cur"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


def mail(n: int, extra: bytes = b"") -> bytes:
    return (f"From: klant{n}@example.test\nSubject: Vraag {n}\n\nTekst {n}\n").encode() + extra


def config(root: Path, **overrides: object) -> MailboxConfig:
    values: dict[str, object] = {"name": "local", "kind": "maildir", "path": root}
    values.update(overrides)
    return MailboxConfig(**values)  # type: ignore[arg-type]


def nothing_seen(keys: Sequence[str]) -> set[str]:
    return set()


@pytest.mark.parametrize("filename, key", [
    ("1700000000.M1P2.host", "1700000000.M1P2.host"),
    ("1700000000.M1P2.host:2,S", "1700000000.M1P2.host"),
    ("1700000000.M1P2.host:2,", "1700000000.M1P2.host"),
    ("1700000000.M1P2.host,S=1234:2,RS", "1700000000.M1P2.host,S=1234"),
])
def test_unique_name(filename: str, key: str) -> None:
    assert unique_name(filename) == key


def test_new_and_cur_in_batches_with_keys_without_info(tmp_path: Path) -> None:
    root = make_maildir(tmp_path / "Maildir")
    (root / "new" / "a1").write_bytes(mail(1))
    (root / "cur" / "a2:2,S").write_bytes(mail(2))
    (root / "cur" / "a3:2,").write_bytes(mail(3))
    (root / "tmp" / "a4").write_bytes(mail(4))  # still being delivered: not read
    with open_source(config(root, batch_size=2)) as source:
        assert source.uidvalidity() == 0
        batches = list(source.batches(Cursor(5, 99), nothing_seen))
    assert [[(m.uid, m.data, m.uidvalidity, m.internaldate) for m in b] for b in batches] == [
        [("a1", mail(1), 0, None), ("a2", mail(2), 0, None)],
        [("a3", mail(3), 0, None)],
    ]


def test_seen_keys_are_skipped_and_asked_per_batch(tmp_path: Path) -> None:
    root = make_maildir(tmp_path / "Maildir")
    for n in range(5):
        (root / "cur" / f"k{n}:2,S").write_bytes(mail(n))
    asked: list[list[str]] = []

    def seen(keys: Sequence[str]) -> set[str]:
        asked.append(list(keys))
        return {"k1", "k2", "k3"} & set(keys)

    with open_source(config(root, batch_size=2)) as source:
        got = [[m.uid for m in b] for b in source.batches(None, seen)]
    assert asked == [["k0", "k1"], ["k2", "k3"], ["k4"]]
    assert got == [["k0"], ["k4"]]  # the batch with only seen keys is not yielded


def test_oversize_file_gives_its_header_block(tmp_path: Path) -> None:
    root = make_maildir(tmp_path / "Maildir")
    big = mail(1, b"y" * 5000)
    (root / "new" / "big").write_bytes(big)
    with open_source(config(root, max_message_bytes=1000)) as source:
        [[m]] = list(source.batches(None, nothing_seen))
    assert (m.data, m.size, m.oversize) == (b"From: klant1@example.test\nSubject: Vraag 1\n\n",
                                            len(big), True)


def test_reading_is_lazy_one_batch_at_a_time(tmp_path: Path) -> None:
    root = make_maildir(tmp_path / "Maildir")
    for n in range(6):
        (root / "new" / f"m{n}").write_bytes(mail(n))
    with open_source(config(root, batch_size=2)) as source:
        stream = source.batches(None, nothing_seen)
        first = next(stream)
        (root / "new" / "m5").write_bytes(b"Subject: changed\n\nlater\n")
        (root / "new" / "m3").rename(root / "cur" / "m3:2,S")  # a client moved it meanwhile
        rest = list(stream)
    assert [m.uid for m in first] == ["m0", "m1"]
    assert [(m.uid, m.data) for b in rest for m in b] == [
        ("m2", mail(2)), ("m3", mail(3)), ("m4", mail(4)), ("m5", b"Subject: changed\n\nlater\n")]


def test_subfolder_and_missing_maildir(tmp_path: Path) -> None:
    root = make_maildir(tmp_path / "Maildir")
    make_maildir(root / ".Sent")
    (root / ".Sent" / "cur" / "s1:2,S").write_bytes(mail(1))
    with open_source(config(root), folder="Sent") as source:
        assert source.folder == "Sent"
        assert [m.uid for b in source.batches(None, nothing_seen) for m in b] == ["s1"]
    with pytest.raises(MailboxGoneError):
        open_source(config(root), folder="Missing").__enter__()
    with pytest.raises(MailboxGoneError):
        open_source(config(tmp_path / "nothing")).__enter__()


def test_move_processed_to_sibling_folder(tmp_path: Path) -> None:
    root = make_maildir(tmp_path / "Maildir")
    (root / "new" / "a1").write_bytes(mail(1))
    (root / "cur" / "a2:2,S").write_bytes(mail(2))
    (root / "cur" / "a3:2,").write_bytes(mail(3))
    with open_source(config(root, processed_action="move", processed_folder="Done")) as source:
        list(source.batches(None, nothing_seen))
        source.mark_processed(["a1", "a2", "gone"])
    assert sorted(p.name for p in (root / "new").iterdir()) == []
    assert sorted(p.name for p in (root / "cur").iterdir()) == ["a3:2,"]
    assert (root / ".Done" / "new" / "a1").read_bytes() == mail(1)
    assert (root / ".Done" / "cur" / "a2:2,S").read_bytes() == mail(2)
    assert (root / ".Done" / "tmp").is_dir()


@pytest.mark.parametrize("action", ["none", "flag"])
def test_other_actions_leave_files_alone(tmp_path: Path, action: str) -> None:
    root = make_maildir(tmp_path / "Maildir")
    (root / "new" / "a1").write_bytes(mail(1))
    with open_source(config(root, processed_action=action)) as source:
        source.mark_processed(["a1"])
    assert (root / "new" / "a1").read_bytes() == mail(1)


def test_fetch_one(tmp_path: Path) -> None:
    root = make_maildir(tmp_path / "Maildir")
    (root / "cur" / "a1:2,S").write_bytes(mail(1, b"z" * 3000))
    source = MaildirSource(config(root))
    with source:
        whole = source.fetch_one(0, "a1", size_limit=None)
        head = source.fetch_one(0, "a1", size_limit=100)
        assert source.fetch_one(0, "nope", size_limit=None) is None
        assert source.fetch_one(0, "../x", size_limit=None) is None
        assert source.fetch_one(7, "a1", size_limit=None) is None
    assert whole is not None and whole.data == mail(1, b"z" * 3000)
    assert head is not None and head.oversize and head.data.endswith(b"Vraag 1\n\n")
