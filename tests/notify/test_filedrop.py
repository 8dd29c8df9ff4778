"""FileTransport: one parseable .eml per message, atomic, named from the Message-ID hash."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from mailtriage.errors import PermanentDeliveryError, TemporaryDeliveryError
from mailtriage.ingest.message import Address
from mailtriage.notify.compose import OutgoingMail, compose_message, new_message_id
from mailtriage.notify.filedrop import FileTransport
from tests.disk_log import DiskLog


def message(subject: str = "Re: Storing [#1]") -> tuple[str, bytes]:
    message_id, _ = new_message_id("example.test")
    return message_id, compose_message(OutgoingMail(
        sender=Address("helpdesk@example.test", "Helpdesk"),
        recipient=Address("jan@klant.nl", "Jan"), subject=subject, text="Tekst é\n",
        html="<p>Tekst</p>", message_id=message_id,
        date=datetime(2025, 3, 14, 15, 31, tzinfo=UTC)))


def test_one_parseable_file_per_message(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    transport = FileTransport(outbox)
    sent = [message(f"Re: ../../etc/passwd {i} [#{i}]") for i in range(3)]
    for _, data in sent:
        transport.send(data, "", ["jan@klant.nl"])
    files = sorted(outbox.iterdir())
    assert len(files) == 3
    expected = sorted(hashlib.sha256(mid.encode()).hexdigest() + ".eml" for mid, _ in sent)
    assert [f.name for f in files] == expected
    for mid, data in sent:
        path = outbox / (hashlib.sha256(mid.encode()).hexdigest() + ".eml")
        raw = path.read_bytes()
        assert raw.endswith(data)
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        assert msg["Message-ID"] == mid
        assert msg["Return-Path"] == "<>"
        assert msg["Delivered-To"] == "jan@klant.nl"
        assert msg.get_body(("plain",)) is not None


def test_same_message_twice_is_one_file(tmp_path: Path) -> None:
    transport = FileTransport(tmp_path)
    _, data = message()
    transport.send(data, "helpdesk@example.test", ["jan@klant.nl"])
    transport.send(data, "helpdesk@example.test", ["jan@klant.nl"])
    files = list(tmp_path.iterdir())
    assert len(files) == 1
    assert files[0].read_bytes().startswith(b"Return-Path: <helpdesk@example.test>\r\n")


def test_no_temporary_files_left(tmp_path: Path) -> None:
    transport = FileTransport(tmp_path)
    for _ in range(5):
        transport.send(message()[1], "", ["jan@klant.nl"])
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []


def test_a_delivered_file_and_its_name_are_on_disk_when_send_returns(
        tmp_path: Path, disk_log: DiskLog) -> None:
    message_id, data = message()
    FileTransport(tmp_path / "outbox").send(data, "", ["jan@klant.nl"])
    path = tmp_path / "outbox" / (hashlib.sha256(message_id.encode()).hexdigest() + ".eml")
    assert disk_log.file_synced_before_rename(path)
    assert disk_log.synced_after(path)
    assert ("fsync-dir", tmp_path) in disk_log.events  # the new outbox directory


def test_message_without_message_id_is_named_by_its_bytes(tmp_path: Path) -> None:
    data = b"Subject: x\r\n\r\nbody\r\n"
    FileTransport(tmp_path).send(data, "", ["jan@klant.nl"])
    assert [p.name for p in tmp_path.iterdir()] == [hashlib.sha256(data).hexdigest() + ".eml"]


def test_bad_recipient_is_permanent(tmp_path: Path) -> None:
    with pytest.raises(PermanentDeliveryError):
        FileTransport(tmp_path).send(message()[1], "", ["jan@klant.nl\r\nX: y"])
    assert list(tmp_path.iterdir()) == []


def test_unwritable_directory_is_temporary(tmp_path: Path) -> None:
    blocker = tmp_path / "outbox"
    blocker.write_text("a file where the directory should be")
    with pytest.raises(TemporaryDeliveryError, match="cannot write"):
        FileTransport(blocker).send(message()[1], "", ["jan@klant.nl"])
