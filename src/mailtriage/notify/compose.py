"""Builds our outgoing mail as RFC 5322 bytes, with nothing the customer wrote able to add a header.

* Message-ID ``<mt.TOKEN@our-domain>`` carries an unguessable token (``secrets.token_urlsafe``);
  :func:`parse_our_token` recognises it when a customer answers (In-Reply-To / References), and
  the outbox row holding that Message-ID proves it was really ours.
* ``Auto-Submitted: auto-replied`` for answers to a mail, ``auto-generated`` for alerts and
  updates (RFC 3834 §5), plus ``X-Auto-Response-Suppress: All`` so Exchange and Outlook do not
  answer our answer. No ``Precedence`` header: it is not standardised (RFC 3834 names
  Auto-Submitted as the field to use) and ``Precedence: bulk`` pushes a personal reply towards
  the bulk or spam folder.
* The envelope sender of an automatic reply is the null path ``<>`` (RFC 3834 §3.3; RFC 5321
  §4.5.5), so a bounce of the reply can never start a loop; alerts use our address.
* Subject and display names lose every control character; an address or display name with a
  CR, LF or NUL is refused (``PermanentDeliveryError``), never cleaned into something else.
  After generating, the bytes are parsed back and the header names checked, so even a fault in
  the stdlib generator (CVE-2024-6923) cannot send an extra header.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.charset import Charset
from email.header import Header
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.parser import BytesParser
from email.quoprimime import body_encode
from email.utils import format_datetime, formataddr
from typing import Literal

from mailtriage.errors import PermanentDeliveryError, UsageError
from mailtriage.ingest.message import Address, ParsedMail
from mailtriage.notify.address import address_problem, normalize_address, strip_controls

AutoSubmitted = Literal["auto-replied", "auto-generated", "no"]

TOKEN_BYTES = 18  # 24 URL-safe characters, 144 bits
MAX_REFERENCES = 20
MAX_SUBJECT = 250

_TOKEN_RE = re.compile(r"^<?mt\.([A-Za-z0-9_-]{24})@([A-Za-z0-9.-]+)>?$")
_MSGID_RE = re.compile(r"^<[^<>\s\x00-\x1f\x7f@]{1,250}@[^<>\s\x00-\x1f\x7f@]{1,250}>$")
_UTF8 = Charset("utf-8")
_ALLOWED_HEADERS = frozenset({
    "from", "to", "subject", "date", "message-id", "in-reply-to", "references",
    "auto-submitted", "x-auto-response-suppress", "content-language", "mime-version",
    "content-type", "content-transfer-encoding",
})


def new_message_id(domain: str) -> tuple[str, str]:
    """A fresh ``(message_id, token)``; the Message-ID is ``<mt.TOKEN@domain>``."""
    clean = normalize_address(f"x@{domain}")
    if clean is None:
        raise UsageError(f"{domain!r} is not a usable domain for a Message-ID")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return f"<mt.{token}@{clean.split('@', 1)[1]}>", token


def parse_our_token(message_id: str, domain: str | None = None) -> str | None:
    """The token of a Message-ID we made, or None for any other (foreign or malformed) one.

    Only the shape is checked here (and the domain, when given); whether the token was really
    issued is for the caller to check against the Message-IDs it stored.
    """
    match = _TOKEN_RE.match(message_id.strip())
    if match is None:
        return None
    if domain is not None and match.group(2).lower() != domain.lower():
        return None
    return match.group(1)


def clean_message_id(value: str | None) -> str | None:
    """``<id@host>`` when ``value`` is a well-formed Message-ID (brackets added), else None."""
    if not value:
        return None
    value = value.strip()
    if not value.startswith("<"):
        value = f"<{value}>"
    return value if _MSGID_RE.match(value) else None


def thread_headers(original: ParsedMail) -> tuple[str | None, tuple[str, ...]]:
    """In-Reply-To and References for an answer to ``original`` (malformed ids dropped)."""
    parent = clean_message_id(original.message_id)
    refs = [r for r in (clean_message_id(x) for x in original.references) if r is not None]
    if not refs:
        refs = [r for r in (clean_message_id(x) for x in original.in_reply_to[:1])
                if r is not None]
    if parent is not None:
        refs.append(parent)
    unique: list[str] = []
    for r in refs:
        if r not in unique:
            unique.append(r)
    if len(unique) > MAX_REFERENCES:
        unique = [unique[0], *unique[-(MAX_REFERENCES - 1):]]
    return parent, tuple(unique)


@dataclass(frozen=True)
class OutgoingMail:
    """One mail of ours, before it becomes bytes."""

    sender: Address
    recipient: Address
    subject: str
    text: str
    html: str | None
    message_id: str
    date: datetime
    auto_submitted: AutoSubmitted = "auto-replied"
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    language: str | None = None

    @property
    def envelope_sender(self) -> str:
        """MAIL FROM: empty (null path) for automatic replies, our address otherwise."""
        if self.auto_submitted == "auto-replied":
            return ""
        return normalize_address(self.sender.addr) or ""

    @property
    def envelope_recipient(self) -> str:
        addr = normalize_address(self.recipient.addr)
        if addr is None:
            raise PermanentDeliveryError(f"recipient address rejected: "
                                         f"{address_problem(self.recipient.addr)}")
        return addr


def _header_address(who: Address, role: str) -> HeaderAddress:
    problem = address_problem(who.addr, who.name)
    if problem is not None:
        raise PermanentDeliveryError(f"{role} address rejected: {problem}")
    addr = normalize_address(who.addr)
    assert addr is not None
    local, domain = addr.split("@", 1)
    return HeaderAddress(display_name=strip_controls(who.name)[:200], username=local,
                         domain=domain)


def build_message(mail: OutgoingMail) -> EmailMessage:
    """The message object (policy SMTP: CRLF line ends, RFC 2047 encoded headers)."""
    if mail.date.tzinfo is None:
        raise UsageError("the Date of an outgoing mail must be timezone-aware")
    message_id = clean_message_id(mail.message_id)
    if message_id is None or message_id != mail.message_id:
        raise UsageError(f"{mail.message_id!r} is not a well-formed Message-ID")
    subject = strip_controls(mail.subject)  # a CR/LF/NUL becomes a space, never a new header
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = _header_address(mail.sender, "sender")
    msg["To"] = _header_address(mail.recipient, "recipient")
    msg["Subject"] = subject[:MAX_SUBJECT]
    msg["Date"] = format_datetime(mail.date)
    msg["Message-ID"] = message_id
    in_reply_to = clean_message_id(mail.in_reply_to)
    if in_reply_to is not None:
        msg["In-Reply-To"] = in_reply_to
    refs = [r for r in (clean_message_id(x) for x in mail.references) if r is not None]
    if refs:
        msg["References"] = " ".join(refs[-MAX_REFERENCES:])
    if mail.auto_submitted != "no":  # "no": a reply written by a person of the helpdesk
        msg["Auto-Submitted"] = mail.auto_submitted
        msg["X-Auto-Response-Suppress"] = "All"
    # quoted-printable keeps the message 7-bit clean for servers without 8BITMIME.
    msg.set_content(mail.text.replace("\x00", ""), subtype="plain", charset="utf-8",
                    cte="quoted-printable")
    if mail.html is not None:
        msg.add_alternative(mail.html.replace("\x00", ""), subtype="html", charset="utf-8",
                            cte="quoted-printable")
    if mail.language in ("nl", "en"):
        msg["Content-Language"] = mail.language
    return msg


def _verify(data: bytes) -> None:
    # Only the header names are checked, and compat32 splits the block into the same names as
    # policy.default without building header objects (a third of the cost).
    parsed = BytesParser(policy=policy.compat32).parsebytes(data, headersonly=True)
    names = [k.lower() for k in parsed]
    unexpected = sorted(set(names) - _ALLOWED_HEADERS)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if unexpected or repeated:
        raise PermanentDeliveryError(
            "refusing to send a mail whose headers do not come out as built "
            f"(unexpected: {', '.join(unexpected) or '-'}; repeated: {', '.join(repeated) or '-'})")


def compose_message(mail: OutgoingMail) -> bytes:
    """The mail as bytes ready for SMTP, checked by parsing it back.

    The same message as ``build_message`` describes, written directly: the header registry
    and generator of policy SMTP cost about a millisecond per mail, most of a reply's cost.
    Every value is checked as ``build_message`` checks it; a value that is not plain
    printable ASCII, or that holds ``=?``, goes out as RFC 2047 encoded words; the bytes are
    parsed back and checked all the same.
    """
    if mail.date.tzinfo is None:
        raise UsageError("the Date of an outgoing mail must be timezone-aware")
    message_id = clean_message_id(mail.message_id)
    if message_id is None or message_id != mail.message_id:
        raise UsageError(f"{mail.message_id!r} is not a well-formed Message-ID")
    headers = [
        ("From", _address_value(_header_address(mail.sender, "sender"))),
        ("To", _address_value(_header_address(mail.recipient, "recipient"))),
        ("Subject", _text_value("Subject", strip_controls(mail.subject)[:MAX_SUBJECT])),
        ("Date", format_datetime(mail.date)),
        ("Message-ID", message_id),
    ]
    in_reply_to = clean_message_id(mail.in_reply_to)
    if in_reply_to is not None:
        headers.append(("In-Reply-To", in_reply_to))
    refs = [r for r in (clean_message_id(x) for x in mail.references) if r is not None]
    if refs:
        headers.append(("References", _text_value("References",
                                                  " ".join(refs[-MAX_REFERENCES:]))))
    if mail.auto_submitted != "no":
        headers.append(("Auto-Submitted", mail.auto_submitted))
        headers.append(("X-Auto-Response-Suppress", "All"))
    headers.append(("MIME-Version", "1.0"))
    if mail.language in ("nl", "en"):
        headers.append(("Content-Language", mail.language))
    plain = _text_part("plain", mail.text)
    if mail.html is None:
        head, body = plain
        lines = [*(f"{n}: {v}" for n, v in headers), *head, "", body]
    else:
        boundary = f"=_mt_{secrets.token_hex(12)}"  # "=_" never occurs in quoted-printable
        parts: list[str] = []
        for head, body in (plain, _text_part("html", mail.html)):
            parts += [f"--{boundary}", *head, "", body]
        lines = [*(f"{n}: {v}" for n, v in headers),
                 f'Content-Type: multipart/alternative; boundary="{boundary}"', "", *parts,
                 f"--{boundary}--", ""]
    data = "\r\n".join(lines).encode("ascii")
    _verify(data)
    return data


def _text_part(subtype: str, text: str) -> tuple[list[str], str]:
    """Header lines and quoted-printable body (CRLF line ends) of a text part,
    encoded as the stdlib content manager encodes it."""
    lines = text.replace("\x00", "").encode("utf-8").splitlines()
    encoded = body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), 78)
    return ([f'Content-Type: text/{subtype}; charset="utf-8"',
             "Content-Transfer-Encoding: quoted-printable"],
            encoded.replace("\n", "\r\n"))


def _plain_ascii(value: str) -> bool:
    return value.isascii() and value.isprintable() and "=?" not in value


def _text_value(name: str, value: str) -> str:
    """An unstructured header value folded at spaces to lines of at most 78 characters: as
    is when plain ASCII, else as policy SMTP encodes it (RFC 2047 encoded words)."""
    if _plain_ascii(value):
        return Header(value, "us-ascii", header_name=name).encode(linesep="\r\n")
    folded = str(policy.SMTP.header_factory(name, value).fold(policy=policy.SMTP))
    return folded.split(":", 1)[1].strip()


def _address_value(address: HeaderAddress) -> str:
    """``Name <local@domain>``, the name quoted or encoded as RFC 5322 and 2047 require."""
    name = address.display_name
    if name and not _plain_ascii(name):
        # One encoded word for the whole name (at most 200 characters): a name split over
        # several words can be read back differently when it holds quotes or parentheses.
        return f"{_UTF8.header_encode(name)} <{address.addr_spec}>"
    return formataddr((name, address.addr_spec))
