"""The typed, frozen values that flow from a mailbox through parsing into the pipeline."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Origin = Literal["person", "auto_reply", "bounce", "list", "own"]


@dataclass(frozen=True)
class RawMail:
    """One message as a source handed it over, before any parsing.

    ``uid`` is the IMAP UID as text, or a stable key for local sources (Maildir unique name,
    mbox position, file name). ``uidvalidity`` is 0 for local sources. When the message is larger
    than the configured limit, ``data`` holds only its header block and ``oversize`` is true.
    """

    mailbox: str
    folder: str
    uidvalidity: int
    uid: str
    data: bytes
    size: int
    internaldate: datetime | None = None
    oversize: bool = False

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Address:
    """A mailbox address: the real addr-spec (lowercased domain) and its display name."""

    addr: str
    name: str = ""

    def __str__(self) -> str:
        return self.addr


@dataclass(frozen=True)
class Attachment:
    """One attachment: its decoded bytes and the sender's metadata, never used as a path."""

    filename: str
    content_type: str
    payload: bytes
    content_id: str | None = None
    inline: bool = False

    @property
    def size(self) -> int:
        return len(self.payload)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.payload).hexdigest()


@dataclass(frozen=True)
class Report:
    """What a bounce or delivery report says about the message it refers to."""

    kind: Literal["dsn", "arf", "other"]
    original_message_ids: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    status: str = ""


@dataclass(frozen=True)
class ParsedMail:
    """A parsed message: addresses, text, headers needed later and notes on any defects."""

    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    sender: Address | None
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    subject: str
    date_header: datetime | None
    received_at: datetime
    text: str
    html: str | None
    new_text: str
    language: Literal["nl", "en"]
    attachments: tuple[Attachment, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    report: Report | None = None
    encrypted: bool = False
    return_path: str | None = None
    # Why an automatic reply must not go out even to a person (CR/LF smuggled into a display
    # name or Reply-To, several From addresses, a From group without address, a mailsploit
    # encoded word); empty for ordinary mail.
    reply_blockers: tuple[str, ...] = ()

    def header(self, name: str) -> str | None:
        """The first value of a kept header, matched case-insensitively."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    def header_all(self, name: str) -> tuple[str, ...]:
        lname = name.lower()
        return tuple(v for k, v in self.headers if k.lower() == lname)


@dataclass(frozen=True)
class OriginVerdict:
    """Where a mail comes from, and the named rules that said so."""

    origin: Origin
    rules: tuple[str, ...] = field(default_factory=tuple)
    reasons: tuple[str, ...] = field(default_factory=tuple)
