"""Outgoing mail bytes: headers, threading, our token, and no header injection (cases 39-41)."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from mailtriage.errors import PermanentDeliveryError, UsageError
from mailtriage.ingest.message import Address
from mailtriage.notify.compose import (
    OutgoingMail,
    compose_message,
    new_message_id,
    parse_our_token,
    thread_headers,
)
from mailtriage.notify.subject import reply_subject
from tests.notify.mails import make_mail

US = Address("helpdesk@example.test", "CARE Helpdesk")
NOW = datetime(2025, 3, 14, 15, 31, tzinfo=UTC)


def outgoing(**kw: object) -> OutgoingMail:
    message_id, _ = new_message_id("example.test")
    values: dict[str, object] = {
        "sender": US, "recipient": Address("jan@klant.nl", "Jan Jansen"),
        "subject": "Re: Website geeft foutmelding [#1234]", "text": "Beste Jan,\n\nTekst.\n",
        "html": "<p>Beste Jan,</p>", "message_id": message_id, "date": NOW,
        "in_reply_to": "<abc123@klant.nl>", "references": ("<abc123@klant.nl>",),
        "language": "nl",
    }
    values.update(kw)
    return OutgoingMail(**values)  # type: ignore[arg-type]


def parse(data: bytes) -> EmailMessage:
    msg = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(msg, EmailMessage)
    return msg


def body(msg: EmailMessage, subtype: str) -> str:
    """The decoded part, line ends as a reader sees them (CRLF on the wire)."""
    part = msg.get_body((subtype,))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def header_names(data: bytes) -> list[str]:
    return [k.lower() for k in parse(data)]


def test_headers_present_once() -> None:
    mail = outgoing()
    data = compose_message(mail)
    msg = parse(data)
    names = header_names(data)
    for name in ("from", "to", "subject", "date", "message-id", "in-reply-to", "references",
                 "auto-submitted", "x-auto-response-suppress", "mime-version", "content-type"):
        assert names.count(name) == 1, name
    assert str(msg["From"]) == "CARE Helpdesk <helpdesk@example.test>"
    assert str(msg["To"]) == "Jan Jansen <jan@klant.nl>"
    assert msg["Subject"] == "Re: Website geeft foutmelding [#1234]"
    assert msg["Message-ID"] == mail.message_id
    assert msg["In-Reply-To"] == "<abc123@klant.nl>"
    assert msg["References"] == "<abc123@klant.nl>"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["Content-Language"] == "nl"
    assert msg["Date"].datetime == NOW
    assert "precedence" not in names
    assert msg.get_content_type() == "multipart/alternative"
    assert body(msg, "plain") == "Beste Jan,\n\nTekst.\n"
    assert body(msg, "html").strip() == "<p>Beste Jan,</p>"


def test_output_is_7bit_with_crlf_line_ends() -> None:
    data = compose_message(outgoing(text="Één \u2018test\u2019 — 🚑\n", subject="Re: Ærø [#1]"))
    data.decode("ascii")
    assert b"\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_alerts_are_auto_generated_with_our_envelope_sender() -> None:
    mail = outgoing(auto_submitted="auto-generated", in_reply_to=None, references=())
    msg = parse(compose_message(mail))
    assert msg["Auto-Submitted"] == "auto-generated"
    assert "In-Reply-To" not in msg and "References" not in msg
    assert mail.envelope_sender == "helpdesk@example.test"
    assert outgoing().envelope_sender == ""  # automatic replies use the null reverse path


def test_cve_2024_6923_encoded_newline_in_subject() -> None:
    raw = (b"From: Jan <jan@klant.nl>\r\nTo: helpdesk@example.test\r\n"
           b"Subject: =?UTF-8?Q?x=0ABcc:_a@evil?=\r\nMessage-ID: <m1@klant.nl>\r\n\r\nhoi\r\n")
    incoming = parse(raw)
    decoded_subject = str(incoming["Subject"])
    assert "\n" in decoded_subject  # the attack: a newline after decoding
    for subject in (reply_subject(decoded_subject, 55), decoded_subject):
        data = compose_message(outgoing(subject=subject))
        names = header_names(data)
        assert names.count("subject") == 1
        assert "bcc" not in names
        msg = parse(data)
        assert "Bcc" not in msg
        assert "\n" not in msg["Subject"]
        assert "Bcc: a@evil" in msg["Subject"]
        assert b"\r\nBcc:" not in data and b"\nBcc:" not in data


@pytest.mark.parametrize("name", ["Jan\r\nBcc: a@evil.test", "Jan\nCc: a@evil.test",
                                  "Jan\rX: y", "Jan\x00", "Jan\u2028Bcc: a@evil.test"])
def test_line_break_in_display_name_rejects_the_address(name: str) -> None:
    with pytest.raises(PermanentDeliveryError, match="header injection"):
        compose_message(outgoing(recipient=Address("jan@klant.nl", name)))


@pytest.mark.parametrize("addr", ["jan@klant.nl\r\nBcc: a@evil.test", "jan@klant.nl>, <a@evil",
                                  "jan", "jan@", "@klant.nl", "a b@klant.nl",
                                  '"jan"@klant.nl', "jan@klant..nl", "jän@klant.nl"])
def test_invalid_recipient_address_is_rejected(addr: str) -> None:
    with pytest.raises(PermanentDeliveryError, match="address rejected"):
        compose_message(outgoing(recipient=Address(addr)))


def test_other_control_characters_in_names_are_removed() -> None:
    msg = parse(compose_message(outgoing(recipient=Address("jan@klant.nl", "Jan\tJansen\x1b"))))
    assert str(msg["To"]) == "Jan Jansen <jan@klant.nl>"


def test_non_ascii_round_trips_through_the_stdlib_parser() -> None:
    subject = "Re: Storing bij Ærø — \u2018website\u2019 ligt eruit 🚑 [#1234]"
    text = "Beste Zoë,\n\nÉén regel met é, ß en 🚑.\n.Een regel die met een punt begint.\n"
    data = compose_message(outgoing(subject=subject, text=text,
                                    recipient=Address("zoe@bücher.test", "Zoë Ærø"),
                                    sender=Address("helpdesk@example.test", "Hélpdesk")))
    msg = parse(data)
    assert msg["Subject"] == subject
    assert msg["To"].addresses[0].display_name == "Zoë Ærø"
    assert msg["To"].addresses[0].addr_spec == "zoe@xn--bcher-kva.test"
    assert msg["From"].addresses[0].display_name == "Hélpdesk"
    assert body(msg, "plain") == text
    assert b"=?utf-8?" in data.split(b"\r\n\r\n", 1)[0]


def test_naive_date_and_bad_message_id_are_refused() -> None:
    with pytest.raises(UsageError):
        compose_message(outgoing(date=datetime(2025, 3, 14, 15, 31)))
    with pytest.raises(UsageError):
        compose_message(outgoing(message_id="<a\r\nBcc: x@evil>"))


# -- Message-ID and token -----------------------------------------------------------------------


def test_our_token_is_recognised() -> None:
    message_id, token = new_message_id("example.test")
    assert message_id == f"<mt.{token}@example.test>"
    assert len(token) >= 24
    assert parse_our_token(message_id) == token
    assert parse_our_token(message_id, domain="example.test") == token
    assert parse_our_token(message_id.strip("<>")) == token
    assert parse_our_token(message_id, domain="other.test") is None


def test_tokens_are_unique() -> None:
    tokens = {new_message_id("example.test")[1] for _ in range(1000)}
    assert len(tokens) == 1000


@pytest.mark.parametrize("foreign", [
    "<CAF=abc123+x@mail.gmail.com>", "<abc123@klant.nl>", "<mt.short@example.test>",
    "<mt.AAAAAAAAAAAAAAAAAAAAAAAA!@example.test>", "", "mt.", "<1234.HD-1001@example.test>",
])
def test_foreign_message_ids_are_not_ours(foreign: str) -> None:
    assert parse_our_token(foreign) is None


def test_bad_domain_for_message_id() -> None:
    with pytest.raises(UsageError):
        new_message_id("exa mple\r\n.test")


# -- threading -----------------------------------------------------------------------------------


def test_thread_headers_extend_the_chain() -> None:
    original = make_mail(message_id="<c@klant.nl>", in_reply_to=("<b@klant.nl>",),
                         references=("<a@klant.nl>", "<b@klant.nl>"))
    assert thread_headers(original) == ("<c@klant.nl>",
                                        ("<a@klant.nl>", "<b@klant.nl>", "<c@klant.nl>"))


def test_thread_headers_drop_malformed_ids_and_cap_length() -> None:
    refs = (*(f"<r{i}@klant.nl>" for i in range(40)), "<evil\r\nBcc: x@y>", "garbage")
    original = make_mail(message_id="c@klant.nl", references=refs)
    parent, references = thread_headers(original)
    assert parent == "<c@klant.nl>"
    assert len(references) == 20
    assert references[0] == "<r0@klant.nl>"  # the thread's root is kept
    assert references[-1] == "<c@klant.nl>"
    assert all("\r" not in r and "\n" not in r for r in references)


def test_thread_headers_without_message_id() -> None:
    assert thread_headers(make_mail(message_id=None)) == (None, ())


COMPARE_CASES = [
    {},
    {"subject": "Re: Storing bij afrekenen — € 12,50 mislukt, \u2018dringend\u2019 [#1234] " * 2},
    {"recipient": Address("jose@klant.es", "José Ñúñez")},
    {"text": "Regel één\n" + "x" * 300 + "\n=3D en = tekens\n.\n..\nSlot", "html": None},
    {"text": "Alleen tekst", "html": "<p>Café &amp; <b>terras</b></p>", "language": "en"},
    {"auto_submitted": "no"},
    {"auto_submitted": "auto-generated", "in_reply_to": None, "references": ()},
]


@pytest.mark.parametrize("kw", COMPARE_CASES)
def test_hand_written_bytes_read_back_like_the_stdlib_message(kw: dict[str, object]) -> None:
    """compose_message writes the bytes itself for speed; they must read back as the message
    the stdlib builds from the same values."""
    from mailtriage.notify.compose import build_message

    mail = outgoing(**kw)
    ours = parse(compose_message(mail))
    theirs = parse(build_message(mail).as_bytes(policy=policy.SMTP))
    assert sorted(k.lower() for k in ours) == sorted(k.lower() for k in theirs)
    for key in ("From", "To", "Date", "Message-ID", "In-Reply-To", "References",
                "Auto-Submitted", "Content-Language"):
        assert str(ours[key]) == str(theirs[key]), key
    assert " ".join(str(ours["Subject"]).split()) == " ".join(str(theirs["Subject"]).split())
    for kind in ("plain", "html"):
        a, b = ours.get_body((kind,)), theirs.get_body((kind,))
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            assert a.get_content() == b.get_content()


def test_a_name_that_looks_encoded_is_sent_as_one_encoded_word() -> None:
    """Decoded once (as mail clients do) the name is the literal text the customer had."""
    from email.header import decode_header, make_header

    data = compose_message(outgoing(recipient=Address("a@klant.nl", "Jan =?utf-8?q?x?= Jansen")))
    raw = BytesParser(policy=policy.compat32).parsebytes(data)["To"]
    assert str(make_header(decode_header(raw.split(" <")[0]))) == "Jan =?utf-8?q?x?= Jansen"


_BUILT = (b"From: CARE Helpdesk <helpdesk@example.test>\r\nTo: jan@klant.nl\r\n"
          b"Subject: Re: test\r\nDate: Fri, 14 Mar 2025 15:31:00 +0000\r\n"
          b"Message-ID: <a@example.test>\r\nMIME-Version: 1.0\r\n")


@pytest.mark.parametrize(("extra", "problem"), [
    (b"", None),
    (b"Content-Type: text/plain\r\n", None),
    (b"Bcc: a@evil.test\r\n", "unexpected: bcc"),
    (b"X-Extra: 1\r\n", "unexpected: x-extra"),
    (b"to: a@evil.test\r\n", "repeated: to"),
    (b"Subject: second\r\n", "repeated: subject"),
    (b"Subject:\r\n =?utf-8?q?Bcc=3A_x?=\r\n", "repeated: subject"),
    (b" folded: into the previous header\r\n", None),
])
def test_the_parse_back_check_refuses_headers_that_were_not_built(extra: bytes,
                                                                  problem: str | None) -> None:
    from mailtriage.notify.compose import _verify

    data = _BUILT + extra + b"\r\nbody\r\n"
    if problem is None:
        _verify(data)
    else:
        with pytest.raises(PermanentDeliveryError, match=problem):
            _verify(data)
