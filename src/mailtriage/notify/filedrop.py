"""Delivers outgoing mail as .eml files in a directory, written atomically.

The file name is the SHA-256 of the Message-ID (of the bytes, when there is none), never any text
the sender chose; delivering the same message again replaces its file instead of adding one.
Each file starts with ``Return-Path`` and ``Delivered-To`` trace headers holding the envelope, as
a local delivery agent would add them, so the file stays a parseable RFC 5322 message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from email import policy
from email.parser import BytesParser
from pathlib import Path

from mailtriage import durable
from mailtriage.errors import PermanentDeliveryError, TemporaryDeliveryError
from mailtriage.notify.address import normalize_address


def message_file_name(message_bytes: bytes) -> str:
    """``<sha256>.eml`` of the Message-ID, or of the bytes when there is no Message-ID."""
    headers = BytesParser(policy=policy.compat32).parsebytes(message_bytes, headersonly=True)
    message_id = (headers.get("Message-ID") or "").strip()
    key = message_id.encode("utf-8", "replace") if message_id else message_bytes
    return hashlib.sha256(key).hexdigest() + ".eml"


class FileTransport:
    """Writes each message to ``directory`` as one .eml file, durably (``mailtriage.durable``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def close(self) -> None:
        """Nothing is kept open between messages."""

    def send(self, message_bytes: bytes, sender: str, recipients: Sequence[str], *,
             before_data: Callable[[], None] | None = None) -> None:
        clean = [normalize_address(r) for r in recipients]
        if not recipients or any(r is None for r in clean):
            raise PermanentDeliveryError("recipient address rejected: not a valid plain address")
        envelope_from = normalize_address(sender) if sender else ""
        if sender and envelope_from is None:
            raise PermanentDeliveryError("envelope sender rejected: not a valid plain address")
        trace = f"Return-Path: <{envelope_from}>\r\n".encode("ascii")
        for r in clean:
            trace += f"Delivered-To: {r}\r\n".encode("ascii")
        name = message_file_name(message_bytes)
        if before_data is not None:
            before_data()
        try:
            durable.make_dirs(self.directory)
            durable.write_file(self.directory / name, trace + message_bytes)
        except OSError as exc:
            raise TemporaryDeliveryError(
                f"cannot write to the outbox directory {self.directory}: {exc}") from exc
