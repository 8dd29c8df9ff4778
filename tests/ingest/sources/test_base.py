"""open_source picks the adapter for the configured kind (pure: nothing is opened)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtriage.config import MailboxConfig
from mailtriage.ingest.sources.base import open_source
from mailtriage.ingest.sources.emldir import EmlDirSource
from mailtriage.ingest.sources.imap import ImapSource
from mailtriage.ingest.sources.maildir import MaildirSource
from mailtriage.ingest.sources.mbox import MboxSource


@pytest.mark.parametrize("kind, cls", [
    ("imap", ImapSource), ("maildir", MaildirSource), ("mbox", MboxSource),
    ("emldir", EmlDirSource),
])
def test_open_source_by_kind(kind: str, cls: type, tmp_path: Path) -> None:
    cfg = MailboxConfig(name="m", kind=kind, host="127.0.0.1", username="u",  # type: ignore[arg-type]
                        password="p", path=tmp_path, folder="INBOX")
    source = open_source(cfg)
    assert isinstance(source, cls)
    assert (source.name, source.folder) == ("m", "INBOX")
    assert open_source(cfg, folder="Sent").folder == "Sent"
