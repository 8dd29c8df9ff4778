"""The mbox source lists the same keys as the messages it yields."""

from __future__ import annotations

from pathlib import Path

from mailtriage.config import MailboxConfig
from mailtriage.ingest.sources.mbox import MboxSource


def test_keys_match_the_keys_of_the_batches(tmp_path: Path) -> None:
    path = tmp_path / "box.mbox"
    path.write_bytes(b"".join(
        b"From a@b.example Mon Jan  5 09:00:00 2026\nFrom: a@b.example\nSubject: %d\n\nbody %d\n\n"
        % (n, n) for n in range(5)))
    cfg = MailboxConfig(name="m", kind="mbox", path=path, batch_size=2)
    with MboxSource(cfg) as source:
        listed = list(source.keys())
        yielded = [m.uid for batch in source.batches(None, lambda keys: set()) for m in batch]
    assert len(listed) == 5
    assert listed == yielded
