"""The bundled sample mailbox: every mail parses cleanly and the README's table tells the truth."""

from __future__ import annotations

import re
import struct
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import HeaderParser
from email.utils import parsedate_to_datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import pytest

from mailtriage.config import SAMPLE_MAILBOX

README = SAMPLE_MAILBOX.parent / "README.md"
AMS = ZoneInfo("Europe/Amsterdam")
HELPDESK = "helpdesk@example.test"

# Counted by hand from the brief for the mailbox, independent of the README table.
EXPECTED_KINDS = {
    "incident-high": 6,
    "incident-medium": 6,
    "incident-low": 5,
    "incident-other": 3,
    "change-small": 3,
    "change-medium": 3,
    "change-large": 2,
    "change-generic": 2,
    "question": 2,
    "thanks": 1,
    "follow-up": 1,
    "auto-reply": 1,
    "bounce": 1,
    "newsletter": 1,
    "foreign-ticket-ref": 1,
}

# The classification a kind implies; "—" is no type or no priority.
KIND_OUTCOME = {
    "incident-high": ("incident", "high"),
    "incident-medium": ("incident", "medium"),
    "incident-low": ("incident", "low"),
    "incident-other": ("other", "—"),
    "change-small": ("change", "—"),
    "change-medium": ("change", "—"),
    "change-large": ("change", "—"),
    "change-generic": ("change", "—"),
    "question": ("other", "—"),
    "foreign-ticket-ref": ("other", "—"),
    "thanks": ("—", "—"),
    "follow-up": ("—", "—"),
    "auto-reply": ("—", "—"),
    "bounce": ("—", "—"),
    "newsletter": ("—", "—"),
}
NO_TICKET = {"auto-reply", "bounce", "newsletter"}
ON_EXISTING_TICKET = {"thanks", "follow-up"}

NL_WORDS = {"de", "het", "een", "en", "van", "ik", "je", "niet", "op", "dat", "wij", "zijn",
            "voor", "met", "kunnen", "jullie", "graag", "ook", "maar", "dit", "er", "bij", "naar",
            "groet", "bedankt", "hallo", "goedemorgen", "hoi", "u", "uw", "wel", "nog"}
EN_WORDS = {"the", "and", "to", "of", "it", "our", "you", "for", "on", "with", "this", "that",
            "can", "could", "please", "but", "not", "since", "are", "be", "your", "hi", "hello",
            "thanks", "regards", "would", "they"}


@dataclass(frozen=True)
class Row:
    file: str
    received: str
    kind: str
    lang: str
    fmt: str
    type: str
    priority: str
    ticket: str
    reply: str


@cache
def rows() -> tuple[Row, ...]:
    found = []
    for line in README.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        found.append(Row(cells[0].strip("`"), *cells[1:9]))
    return tuple(found)


def files() -> list[Path]:
    return sorted(SAMPLE_MAILBOX.glob("*.eml"))


@cache
def parse(name: str) -> EmailMessage:
    msg = message_from_bytes((SAMPLE_MAILBOX / name).read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def row_ids() -> list[str]:
    return [r.file for r in rows()]


def sender(msg: EmailMessage) -> str:
    return str(msg["From"].addresses[0].addr_spec).lower()


def msg_id(msg: EmailMessage) -> str:
    return str(msg["Message-ID"]).strip()


def all_headers(msg: EmailMessage, name: str) -> list[str]:
    return [str(v) for v in msg.get_all(name) or []]


def received_at(msg: EmailMessage) -> datetime:
    top = all_headers(msg, "Received")[0]
    return parsedate_to_datetime(top.rsplit(";", 1)[1].strip())


def ids_in(value: object) -> list[str]:
    return re.findall(r"<[^<>\s]+>", str(value or ""))


def ticket_of(row: Row) -> int | None:
    m = re.fullmatch(r"(?:new|→) #(\d+)", row.ticket)
    return int(m.group(1)) if m else None


def row_opening(number: int) -> Row:
    (row,) = [r for r in rows() if r.ticket == f"new #{number}"]
    return row


def body_text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    if part.get_content_subtype() == "html":
        content = re.sub(r"<[^>]+>", " ", content)
    return content


# ------------------------------------------------------------------------------ the listing

def test_readme_lists_every_file_once_in_order() -> None:
    names = [p.name for p in files()]
    assert len(names) >= 36
    assert [r.file for r in rows()] == names
    prefixes = [n.split("-", 1)[0] for n in names]
    assert all(re.fullmatch(r"\d{3}", p) for p in prefixes)
    assert len(set(prefixes)) == len(prefixes)


def test_counts_by_kind_match_the_readme() -> None:
    assert Counter(r.kind for r in rows()) == Counter(EXPECTED_KINDS)
    assert len(rows()) == sum(EXPECTED_KINDS.values())


def test_type_and_priority_follow_from_the_kind() -> None:
    for r in rows():
        assert (r.type, r.priority) == KIND_OUTCOME[r.kind], r.file


def test_tickets_and_replies() -> None:
    expected_number = 1001
    for r in rows():
        if r.kind in NO_TICKET:
            assert (r.ticket, r.reply) == ("none", "no"), r.file
        elif r.kind in ON_EXISTING_TICKET:
            assert r.ticket.startswith("→ #") and r.reply == "no", r.file
            number = ticket_of(r)
            assert number is not None and number < expected_number, r.file
        else:
            assert (r.ticket, r.reply) == (f"new #{expected_number}", "yes"), r.file
            expected_number += 1


def test_about_sixty_percent_dutch() -> None:
    share = sum(r.lang == "nl" for r in rows()) / len(rows())
    assert 0.55 <= share <= 0.70


# ------------------------------------------------------------------------------ every file

@pytest.mark.parametrize("name", row_ids())
def test_parses_without_defects(name: str) -> None:
    msg = parse(name)
    for part in msg.walk():
        assert part.defects == [], (part.get_content_type(), part.defects)
    for header in ("From", "To", "Subject", "Date", "Message-ID", "Received", "MIME-Version",
                   "Content-Type"):
        assert msg[header] is not None, header
        assert getattr(msg[header], "defects", ()) == (), header
    assert len(msg["From"].addresses) == 1
    assert len(all_headers(msg, "Message-ID")) == 1
    for part in msg.walk():
        if not part.is_multipart():
            assert part.get_content() is not None
    assert body_text(msg).strip()


@pytest.mark.parametrize("name", row_ids())
def test_line_ends_are_lf_throughout(name: str) -> None:
    data = (SAMPLE_MAILBOX / name).read_bytes()
    assert b"\r" not in data
    assert data.endswith(b"\n")


@pytest.mark.parametrize("name", row_ids())
def test_top_received_is_our_mx_and_matches_the_readme(name: str) -> None:
    msg = parse(name)
    top = " ".join(all_headers(msg, "Received")[0].split())
    assert "by mx1.example.test" in top
    assert f"for <{HELPDESK}>" in top
    when = received_at(msg)
    assert when.tzinfo is not None and when.year == 2026
    (row,) = [r for r in rows() if r.file == name]
    assert when.astimezone(AMS).strftime("%a %d %b %H:%M") == row.received


def test_message_ids_unique_and_at_the_senders_domain() -> None:
    seen: dict[str, str] = {}
    for r in rows():
        msg = parse(r.file)
        mid = msg_id(msg)
        assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", mid), mid
        assert mid not in seen, (r.file, seen.get(mid))
        seen[mid] = r.file
        domain = mid[1:-1].rsplit("@", 1)[1].lower()
        assert domain == sender(msg).rsplit("@", 1)[1], r.file
        assert not domain.endswith("example.test")


def test_receipts_are_ordered_by_file_name() -> None:
    times = [received_at(parse(r.file)) for r in rows()]
    assert times == sorted(times)


@pytest.mark.parametrize("name", row_ids())
def test_format_column_matches_the_structure(name: str) -> None:
    (row,) = [r for r in rows() if r.file == name]
    msg = parse(name)
    ctype = msg.get_content_type()
    if row.fmt == "plain":
        assert ctype == "text/plain"
    elif row.fmt == "html":
        assert ctype == "text/html"
    elif row.fmt == "alternative":
        assert ctype == "multipart/alternative"
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    elif row.fmt == "attachment":
        assert ctype == "multipart/mixed"
        assert [a.get_content_maintype() for a in msg.iter_attachments()] != []
    elif row.fmt == "report":
        assert ctype == "multipart/report"
        assert msg.get_param("report-type") == "delivery-status"
    else:
        pytest.fail(f"unknown format {row.fmt!r}")


def language_of(msg: EmailMessage) -> str:
    words = re.findall(r"[a-zà-ÿ]+", body_text(msg).lower())
    nl = sum(w in NL_WORDS for w in words)
    en = sum(w in EN_WORDS for w in words)
    assert nl != en
    return "nl" if nl > en else "en"


@pytest.mark.parametrize("name", row_ids())
def test_language_column_matches_the_text(name: str) -> None:
    (row,) = [r for r in rows() if r.file == name]
    assert language_of(parse(name)) == row.lang


# ------------------------------------------------------------------------------ by kind

def test_person_mail_carries_no_automatic_marks() -> None:
    for r in rows():
        if r.kind in NO_TICKET:
            continue
        msg = parse(r.file)
        assert msg["Auto-Submitted"] is None, r.file
        assert msg["List-Id"] is None and msg["Precedence"] is None, r.file
        assert str(msg["Return-Path"]).strip() == f"<{sender(msg)}>", r.file


def test_follow_up_names_an_earlier_mail_of_the_same_sender() -> None:
    by_id = {msg_id(parse(r.file)): r for r in rows()}
    for i, r in enumerate(rows()):
        if r.kind != "follow-up":
            continue
        msg = parse(r.file)
        (parent_id,) = ids_in(msg["In-Reply-To"])
        assert parent_id in ids_in(msg["References"])
        parent = by_id[parent_id]
        assert rows().index(parent) < i
        assert sender(parse(parent.file)) == sender(msg)
        assert parent.ticket == f"new #{ticket_of(r)}"


def test_thanks_comes_from_the_requester_of_the_ticket_it_quotes() -> None:
    for r in rows():
        if r.kind != "thanks":
            continue
        msg = parse(r.file)
        number = ticket_of(r)
        assert number is not None
        assert f"[#{number}]" in str(msg["Subject"])
        opening = parse(row_opening(number).file)
        assert sender(opening) == sender(msg)
        assert msg_id(opening) in ids_in(msg["References"])


def test_foreign_ticket_reference_comes_from_a_stranger() -> None:
    sample_ids = {msg_id(parse(r.file)) for r in rows()}
    for r in rows():
        if r.kind != "foreign-ticket-ref":
            continue
        msg = parse(r.file)
        m = re.search(r"\[#(\d+)\]", str(msg["Subject"]))
        assert m is not None
        quoted = int(m.group(1))
        assert ticket_of(r) != quoted and r.ticket.startswith("new ")
        owner = sender(parse(row_opening(quoted).file))
        assert sender(msg) != owner
        assert sender(msg).rsplit("@", 1)[1] != owner.rsplit("@", 1)[1]
        participants = {sender(parse(x.file)) for x in rows()
                        if ticket_of(x) == quoted and x.file != r.file}
        assert sender(msg) not in participants
        refs = ids_in(msg["In-Reply-To"]) + ids_in(msg["References"])
        assert not set(refs) & sample_ids


def test_bounce_is_a_dsn_about_a_message_we_sent() -> None:
    by_id = {msg_id(parse(r.file)): r for r in rows()}
    for r in rows():
        if r.kind != "bounce":
            continue
        msg = parse(r.file)
        assert str(msg["Return-Path"]).strip() == "<>"
        assert sender(msg).split("@")[0].upper() == "MAILER-DAEMON"
        parts = {p.get_content_type(): p for p in msg.iter_parts()}
        assert set(parts) == {"text/plain", "message/delivery-status", "text/rfc822-headers"}
        status_groups = parts["message/delivery-status"].get_payload()
        assert isinstance(status_groups, list) and len(status_groups) == 2
        recipient = status_groups[1]
        assert isinstance(recipient, EmailMessage)
        assert str(recipient["Action"]).strip() == "failed"
        assert re.fullmatch(r"5\.\d+\.\d+", str(recipient["Status"]).strip())
        final = str(recipient["Final-Recipient"]).split(";", 1)[1].strip().lower()

        returned = HeaderParser(policy=policy.default).parsestr(
            parts["text/rfc822-headers"].get_content())
        assert isinstance(returned, EmailMessage)
        assert sender(returned) == HELPDESK
        ours = str(returned["Message-ID"]).strip()
        assert ours.endswith("@example.test>") and ours not in by_id
        assert [a.addr_spec.lower() for a in returned["To"].addresses] == [final]
        (answered,) = ids_in(returned["In-Reply-To"])
        original = by_id[answered]
        assert sender(parse(original.file)) == final
        assert f"[#{ticket_of(original)}]" in str(returned["Subject"])


def test_auto_reply_answers_one_of_our_replies() -> None:
    for r in rows():
        if r.kind != "auto-reply":
            continue
        msg = parse(r.file)
        assert str(msg["Auto-Submitted"]).strip().lower() == "auto-replied"
        assert str(msg["Subject"]).startswith("Afwezigheidsmelding")
        (ours,) = ids_in(msg["In-Reply-To"])
        assert ours.endswith("@example.test>")
        m = re.search(r"\[#(\d+)\]", str(msg["Subject"]))
        assert m is not None
        assert sender(parse(row_opening(int(m.group(1))).file)) == sender(msg)


def test_newsletter_is_list_mail() -> None:
    for r in rows():
        if r.kind != "newsletter":
            continue
        msg = parse(r.file)
        assert msg["List-Id"] is not None and msg["List-Unsubscribe"] is not None
        assert str(msg["Precedence"]).strip().lower() == "bulk"


def test_quoted_history_and_signature_present() -> None:
    bodies = [body_text(parse(r.file)) for r in rows()]
    outlook = [b for b in bodies if "-----Oorspronkelijk bericht-----" in b]
    assert outlook
    assert any(re.search(r"^Op .+ schreef .+:$", b, re.MULTILINE) for b in outlook)
    assert any(re.search(r"^> ", b, re.MULTILINE) for b in outlook)


# ------------------------------------------------------------------------------ attachments

def check_png(data: bytes) -> None:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, idat = 8, [], b""
    width = height = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, kind
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert (depth, colour) == (8, 2)
        if kind == b"IDAT":
            idat += body
        chunks.append(kind)
        pos += 12 + length
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND"
    assert len(zlib.decompress(idat)) == height * (1 + 3 * width)


def check_pdf(data: bytes) -> None:
    assert data.startswith(b"%PDF-1.") and data.rstrip().endswith(b"%%EOF")
    m = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", data)
    assert m is not None
    xref = int(m.group(1))
    assert data[xref:xref + 4] == b"xref"
    table = data[xref:].split(b"trailer", 1)[0].split(b"\n")
    count = int(table[1].split()[1])
    for i, entry in enumerate(table[3:2 + count], start=1):
        offset = int(entry.split()[0])
        assert data[offset:].startswith(f"{i} 0 obj".encode())


def test_attachments_are_small_valid_files() -> None:
    seen = set()
    for r in rows():
        if r.fmt != "attachment":
            continue
        for att in parse(r.file).iter_attachments():
            data = att.get_content()
            assert isinstance(data, bytes) and 0 < len(data) < 10_000
            assert att.get_filename()
            if att.get_content_type() == "image/png":
                check_png(data)
            elif att.get_content_type() == "application/pdf":
                check_pdf(data)
            else:
                pytest.fail(f"unexpected attachment {att.get_content_type()} in {r.file}")
            seen.add(att.get_content_type())
    assert seen == {"image/png", "application/pdf"}


# ------------------------------------------------------------------------------ the clock

def test_receipt_times_cover_the_calendar_edges() -> None:
    nl_holidays = holidays.country_holidays("NL", years=2026)
    local = [received_at(parse(r.file)).astimezone(AMS) for r in rows()]
    weekdays_off = [t for t in local if t.weekday() < 5 and t.date() in nl_holidays]
    assert any(t.weekday() >= 5 for t in local)
    assert weekdays_off
    working = [t for t in local if t.weekday() < 5 and t.date() not in nl_holidays]
    assert any(t.time() >= time(17, 0) and t.time() != time(17, 0) for t in working)
    assert any(t.time() < time(8, 30) for t in working)
    assert any(t.time() == time(17, 0) for t in working)


def test_some_date_headers_differ_from_the_receipt() -> None:
    gaps = [parsedate_to_datetime(str(parse(r.file)["Date"])) - received_at(parse(r.file))
            for r in rows()]
    assert sum(abs(g) > timedelta(minutes=5) for g in gaps) >= 3
    assert any(g > timedelta(minutes=5) for g in gaps)
