"""parse_mail on synthetic bytes: the bad-input catalogue cases that concern parsing."""

from __future__ import annotations

import base64
import email
import email.message
import email.policy
import time
from datetime import UTC, datetime, timedelta

import pytest

from mailtriage.errors import UnparseableMail
from mailtriage.ingest.message import ParsedMail, RawMail
from mailtriage.ingest.parse import decode_header_text, parse_mail

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
INTERNALDATE = datetime(2026, 3, 10, 9, 15, tzinfo=UTC)


def raw(data: bytes, internaldate: datetime | None = INTERNALDATE) -> RawMail:
    return RawMail("helpdesk", "INBOX", 1, "1", data, len(data), internaldate)


def parse(data: bytes, internaldate: datetime | None = INTERNALDATE, **kw: int) -> ParsedMail:
    return parse_mail(raw(data, internaldate), now=NOW, **kw)  # type: ignore[arg-type]


def simple(headers: bytes = b"", body: bytes = b"Hallo, de site is stuk.\n",
           ctype: bytes = b"text/plain; charset=utf-8") -> bytes:
    return (b"From: Jan de Vries <jan@klant.nl>\nTo: helpdesk@ours.nl\nSubject: Storing\n"
            b"Date: Tue, 10 Mar 2026 10:00:00 +0100\nMessage-ID: <m1@klant.nl>\n" + headers +
            b"MIME-Version: 1.0\nContent-Type: " + ctype + b"\n\n" + body)


def mixed(*parts: bytes, boundary: bytes = b"BND", headers: bytes = b"") -> bytes:
    body = b"".join(b"--" + boundary + b"\n" + p + b"\n" for p in parts)
    body += b"--" + boundary + b"--\n"
    return simple(headers, body, b'multipart/mixed; boundary="' + boundary + b'"')


def has_note(mail: ParsedMail, fragment: str) -> bool:
    return any(fragment in n for n in mail.notes)


# --- the ordinary case ---------------------------------------------------------------------

def test_ordinary_mail() -> None:
    m = parse(simple())
    assert m.sender is not None and m.sender.addr == "jan@klant.nl"
    assert m.sender.name == "Jan de Vries"
    assert [a.addr for a in m.to] == ["helpdesk@ours.nl"]
    assert m.subject == "Storing"
    assert m.message_id == "<m1@klant.nl>"
    assert m.text == "Hallo, de site is stuk."
    assert m.new_text == "Hallo, de site is stuk."
    assert m.received_at == INTERNALDATE
    assert m.date_header == datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    assert m.language == "nl"
    assert m.reply_blockers == ()


# --- Encoding --------------------------------------------------------------------------------

def test_01_unknown_charset_label() -> None:
    part = (b"Content-Type: text/plain; charset=x-foo\nContent-Transfer-Encoding: 8bit\n\n"
            b"Caf\xe9 open\n")
    m = parse(mixed(part))
    assert "Café open" in m.text
    assert has_note(m, "unknown charset 'x-foo' in part 2")


def test_02_mislabelled_utf8_that_is_cp1252() -> None:
    m = parse(simple(body="Het menu op de website is één keer € kwijt.\n".encode("cp1252")))
    assert "één keer € kwijt" in m.text
    assert has_note(m, "not valid utf-8; decoded as windows-1252")


def test_02b_ascii_label_on_utf8_text() -> None:
    m = parse(simple(body="Prijs: 10 € voor één jaar\n".encode(),
                     ctype=b"text/plain; charset=us-ascii"))
    assert "10 € voor één jaar" in m.text


def test_03_charset_per_part() -> None:
    koi8_name = base64.b64encode("отчёт.txt".encode("koi8-r")).decode()
    parts = (
        b"Content-Type: text/plain; charset=gb2312\nContent-Transfer-Encoding: 8bit\n\n"
        + "网站无法访问".encode("gb2312"),
        b'Content-Type: text/plain; name="=?koi8-r?b?' + koi8_name.encode() + b'?="\n'
        b"Content-Disposition: attachment\n\nbijlage",
    )
    m = parse(mixed(*parts))
    assert "网站无法访问" in m.text
    assert m.attachments[0].filename == "отчёт.txt"


def test_03b_utf8_html_part_next_to_latin1_text() -> None:
    alt = (b"--ALT\nContent-Type: text/plain; charset=iso-8859-1\n\nCr\xe8me\n"
           b"--ALT\nContent-Type: text/html; charset=utf-8\n\n"
           b"<p>Cr\xc3\xa8me br\xc3\xbbl\xc3\xa9e</p>\n"
           b"--ALT--\n")
    m = parse(simple(body=alt, ctype=b'multipart/alternative; boundary="ALT"'))
    assert "Crème" in m.text
    assert m.html is not None and "Crème brûlée" in m.html


@pytest.mark.parametrize("subject, expected, note", [
    (b"=?utf-8?b?!!!not base64?=", "=?utf-8?b?!!!not base64?=", "broken encoded word"),
    (b"=?utf-8?b?QQ?= ok", "A ok", None),  # missing padding is repaired
    (b"=?utf-8?b?QUJDR?=", "=?utf-8?b?QUJDR?=", "broken encoded word"),  # impossible length
    (b"=?x-nope?q?Caf=E9?=", "Café", "unknown charset"),
    (b"=?utf-8?q?Website_stuk", "=?utf-8?q?Website_stuk", "unterminated encoded word"),
])
def test_04_broken_rfc2047_in_subject(subject: bytes, expected: str, note: str | None) -> None:
    m = parse(simple().replace(b"Subject: Storing", b"Subject: " + subject))
    assert m.subject == expected
    if note:
        assert has_note(m, note)


def test_04b_broken_rfc2047_in_from_keeps_the_address() -> None:
    m = parse(simple().replace(b"From: Jan de Vries <jan@klant.nl>",
                               b"From: =?utf-8?b?!!bad?= <jan@klant.nl>"))
    assert m.sender is not None and m.sender.addr == "jan@klant.nl"
    assert "bad" in m.sender.name


def test_05_encoded_word_splitting_a_multibyte_character() -> None:
    # "é" is C3 A9; the first word ends after C3, the second starts with A9.
    subject = b"=?utf-8?q?Caf=C3?= =?utf-8?q?=A9_dicht?="
    m = parse(simple().replace(b"Subject: Storing", b"Subject: " + subject))
    assert m.subject == "Café dicht"


def test_05b_adjacent_words_with_different_charsets() -> None:
    subject = b"=?iso-8859-1?q?Caf=E9?= =?koi8-r?b?" + base64.b64encode(
        " и чай".encode("koi8-r")) + b"?="
    m = parse(simple().replace(b"Subject: Storing", b"Subject: " + subject))
    assert m.subject == "Café и чай"


def test_06_rfc2231_filenames() -> None:
    parts = (
        b"Content-Type: application/pdf\nContent-Disposition: attachment; "
        b"filename*=UTF-8''%D7%A9%D7%9C%D7%95%D7%9D.pdf\n\n%PDF",
        b"Content-Type: application/octet-stream\nContent-Disposition: attachment;\n"
        b" filename*0*=UTF-8''factuur%20maart%20;\n filename*1*=%E2%82%AC%20200.pdf\n\nxx",
        b"Content-Type: text/plain\nContent-Disposition: attachment;\n"
        b' filename*0="lange naam ";\n filename*1="in delen.txt"\n\nyy',
    )
    m = parse(mixed(*parts))
    assert [a.filename for a in m.attachments] == [
        "שלום.pdf", "factuur maart € 200.pdf", "lange naam in delen.txt"]


def test_07_raw_8bit_bytes_in_headers() -> None:
    data = simple().replace(b"Subject: Storing", b"Subject: Storing caf\xe9 \xc3\xa9\xc3\xa9n")
    data = data.replace(b"From: Jan de Vries", b"From: Ren\xc3\xa9 Smit")
    m = parse(data)
    assert m.sender is not None and m.sender.name == "René Smit"
    assert m.subject.startswith("Storing caf")  # not valid utf-8 as a whole: cp1252 fallback
    assert has_note(m, "raw 8-bit bytes in Subject")


def test_08_nul_bytes_removed_everywhere() -> None:
    data = simple(body=b"Hal\x00lo daar\n").replace(b"Subject: Storing", b"Subject: Sto\x00ring")
    data = data.replace(b"Jan de Vries", b"Jan\x00 de Vries")
    m = parse(data)
    assert "\x00" not in m.subject + m.text + m.new_text
    assert m.subject == "Storing"
    assert "Hallo daar" in m.text
    assert all("\x00" not in v for _, v in m.headers)
    assert m.sender is not None and "\x00" not in m.sender.name


def test_09_invalid_utf8_in_utf8_part() -> None:
    m = parse(simple(body="Één ding: ".encode() + b"\xff\xfe kapot\n"))
    assert "Één ding" in m.text
    assert "\ufffd" in m.text
    assert has_note(m, "invalid utf-8")


def test_10_bad_base64_and_quoted_printable() -> None:
    b64 = base64.b64encode(b"De server ligt plat sinds vanochtend").rstrip(b"=")
    parts = (
        b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        + b64 + b"!!",
        b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
        b"Vriendelijke gro=EBt =ZZ en =\nmeer",
    )
    m = parse(mixed(*parts))
    assert "De server ligt plat sinds vanochtend" in m.text
    assert "=ZZ" in m.text and "en meer" in m.text


def test_11_unknown_transfer_encoding_read_as_8bit() -> None:
    part = (b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bits\n\n"
            + "Graag één reactie".encode())
    m = parse(mixed(part))
    assert "Graag één reactie" in m.text
    assert has_note(m, "unknown Content-Transfer-Encoding '8bits'")


def test_12_line_ends_give_the_same_result() -> None:
    lf = mixed(b"Content-Type: text/plain; charset=utf-8\n\nRegel een\nRegel twee\n",
               b"Content-Type: application/pdf\nContent-Disposition: attachment; "
               b"filename=a.pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK")
    crlf = lf.replace(b"\n", b"\r\n")
    cr = lf.replace(b"\n", b"\r")
    mixed_ends = b"".join(line + (b"\r\n" if i % 2 else b"\n")
                          for i, line in enumerate(lf.split(b"\n")))
    results = [parse(d) for d in (lf, crlf, cr, mixed_ends)]
    assert "Regel een\nRegel twee" in results[0].text
    assert results[0].attachments[0].payload == b"%PDF-1.4\n"
    for other in results[1:]:
        assert other == results[0]


def test_13_utf8_headers_and_non_ascii_local_part() -> None:
    data = simple().replace(b"From: Jan de Vries <jan@klant.nl>",
                            "From: Jürgen Müller <jürgen@bäckerei.de>".encode())
    data = data.replace(b"Subject: Storing", "Subject: Storing bij Bäckerei".encode())
    m = parse(data)
    assert m.sender is not None and m.sender.addr == "jürgen@bäckerei.de"
    assert m.sender.name == "Jürgen Müller"
    assert m.subject == "Storing bij Bäckerei"


def test_14_backslashes_unchanged() -> None:
    body = b"Het pad C:\\Users\\jan\\new en \\u00e9 en \\n blijven staan\n"
    m = parse(simple(body=body))
    assert "C:\\Users\\jan\\new en \\u00e9 en \\n blijven staan" in m.text


# --- Structure -------------------------------------------------------------------------------

def test_15_multipart_without_boundary() -> None:
    m = parse(simple(body=b"Gewoon tekst zonder delen\n", ctype=b"multipart/mixed"))
    assert "Gewoon tekst zonder delen" in m.text
    assert has_note(m, "without a usable boundary")


def test_16_no_closing_boundary() -> None:
    data = simple(body=b"--B\nContent-Type: text/plain\n\nEerste deel\n--B\n"
                       b"Content-Type: text/plain\n\nTweede deel afgekapt",
                  ctype=b'multipart/mixed; boundary="B"')
    m = parse(data)
    assert "Eerste deel" in m.text and "Tweede deel afgekapt" in m.text


def test_17_boundary_that_is_a_prefix_of_another() -> None:
    inner = (b"Content-Type: multipart/alternative; boundary=\"AB-inner\"\n\n"
             b"--AB-inner\nContent-Type: text/plain\n\nbinnen tekst\n"
             b"--AB-inner\nContent-Type: text/html\n\n<p>binnen html</p>\n--AB-inner--")
    data = mixed(inner, b"Content-Type: application/zip\nContent-Disposition: attachment; "
                        b"filename=x.zip\n\nPK", boundary=b"AB")
    m = parse(data)
    assert "binnen tekst" in m.text and "binnen html" not in m.text
    assert [a.filename for a in m.attachments] == ["x.zip"]


def test_18_nesting_deeper_than_the_limit_is_quarantined() -> None:
    data = b"From: a@b.nl\nSubject: diep\nContent-Type: text/plain\n\nbodem\n"
    for i in range(1000):
        data = b"From: x%d@b.nl\nContent-Type: message/rfc822\n\n" % i + data
    start = time.perf_counter()
    with pytest.raises(UnparseableMail) as exc:
        parse(data)
    assert exc.value.reason == "depth-limit"
    assert "depth > limit" in str(exc.value)
    assert time.perf_counter() - start < 2.0


def test_18b_nesting_within_a_lower_limit() -> None:
    data = b"From: a@b.nl\nSubject: diep\nContent-Type: text/plain\n\nbodem\n"
    for i in range(6):
        data = b"From: x%d@b.nl\nContent-Type: message/rfc822\n\n" % i + data
    assert parse(data).attachments  # five levels: parsed
    with pytest.raises(UnparseableMail):
        parse(data, max_depth=3)


def test_19_ten_thousand_parts_quarantined_fast() -> None:
    parts = b"".join(b"--XX\nContent-Type: text/plain\n\np%d\n" % i for i in range(10_000))
    data = simple(body=parts + b"--XX--\n", ctype=b"multipart/mixed; boundary=XX")
    start = time.perf_counter()
    with pytest.raises(UnparseableMail) as exc:
        parse(data)
    elapsed = time.perf_counter() - start
    assert exc.value.reason == "part-limit"
    assert elapsed < 0.5


def test_19b_part_limit_is_exact_enough() -> None:
    parts = b"".join(b"--XX\nContent-Type: text/plain\n\np%d\n" % i for i in range(20))
    data = simple(body=parts + b"--XX--\n", ctype=b"multipart/mixed; boundary=XX")
    assert "p19" in parse(data, max_parts=30).text
    with pytest.raises(UnparseableMail):
        parse(data, max_parts=10)


def test_20_no_from() -> None:
    m = parse(simple().replace(b"From: Jan de Vries <jan@klant.nl>\n", b""))
    assert m.sender is None
    assert has_note(m, "no From header")
    assert "no From address" in m.reply_blockers


@pytest.mark.parametrize("from_lines, sender, blocker", [
    (b"From: Jan <jan@klant.nl>\nFrom: Piet <piet@klant.nl>", "jan@klant.nl",
     "several From headers"),
    (b"From: jan@klant.nl, piet@klant.nl", "jan@klant.nl", "several From addresses"),
    (b"From: undisclosed-recipients:;", None, "no usable From address"),
])
def test_21_several_from_or_empty_group(from_lines: bytes, sender: str | None,
                                        blocker: str) -> None:
    m = parse(simple().replace(b"From: Jan de Vries <jan@klant.nl>", from_lines))
    assert (m.sender.addr if m.sender else None) == sender
    assert blocker in m.reply_blockers


def test_22_no_date_uses_internaldate() -> None:
    m = parse(simple().replace(b"Date: Tue, 10 Mar 2026 10:00:00 +0100\n", b""))
    assert m.date_header is None
    assert m.received_at == INTERNALDATE
    assert has_note(m, "no Date header")


@pytest.mark.parametrize("date, note", [
    (b"Fri, 01 Jan 2999 10:00:00 +0000", "absurd Date header"),
    (b"Thu, 01 Jan 1970 00:00:00 +0000", "absurd Date header"),
    (b"gisteren rond de middag", "unparseable Date header"),
    (b"Tue, 10 Mar 2026 10:00:00 +9999", "Date header"),
])
def test_23_bad_dates_never_become_the_receipt_time(date: bytes, note: str) -> None:
    m = parse(simple().replace(b"Tue, 10 Mar 2026 10:00:00 +0100", date))
    assert m.received_at == INTERNALDATE
    assert has_note(m, note)


def test_23b_receipt_time_from_top_received_header() -> None:
    data = (b"Received: from mx.ours.nl by imap.ours.nl; Tue, 10 Mar 2026 09:30:05 +0100\n"
            b"Received: from mail.klant.nl by mx.ours.nl; Tue, 10 Mar 2026 09:30:01 +0100\n"
            + simple().replace(b"10:00:00 +0100", b"10:00:00 +2359"))
    m = parse(data, internaldate=None)
    assert m.received_at == datetime(2026, 3, 10, 8, 30, 5, tzinfo=UTC)


def test_23c_no_internaldate_no_received_uses_now() -> None:
    m = parse(simple(), internaldate=None)
    assert m.received_at == NOW
    assert has_note(m, "receipt time is the time of reading")


def test_23d_future_received_date_is_not_trusted() -> None:
    far = (NOW + timedelta(days=400)).strftime("%a, %d %b %Y %H:%M:%S +0000").encode()
    m = parse(b"Received: from x by y; " + far + b"\n" + simple(), internaldate=None)
    assert m.received_at == NOW


def test_24_no_message_id() -> None:
    m = parse(simple().replace(b"Message-ID: <m1@klant.nl>\n", b""))
    assert m.message_id is None


@pytest.mark.parametrize("data", [
    b"",
    b"From: jan@klant.nl\nSubject: alleen kop\n",
    b"From: jan@klant.nl\nSubject: leeg\n\n",
])
def test_25_header_only_empty_and_zero_byte(data: bytes) -> None:
    m = parse(data)
    assert m.text.strip() == ""
    assert has_note(m, "empty message") or has_note(m, "no body text")


def test_26_continuation_line_before_first_header() -> None:
    data = b" voortzetting zonder kop\n" + simple()
    m = parse(data)
    assert has_note(m, "FirstHeaderLineIsContinuationDefect")
    assert m.sender is not None and m.sender.addr == "jan@klant.nl"
    assert m.subject == "Storing"


def test_27_one_megabyte_single_line_parses_fast() -> None:
    body = b"x" * 1_000_000 + b"\n"
    start = time.perf_counter()
    m = parse(simple(body=body))
    assert time.perf_counter() - start < 1.0
    assert len(m.text.strip()) == 1_000_000


def test_27b_ten_thousand_headers_and_a_one_megabyte_header() -> None:
    many = b"".join(b"X-Filler-%d: waarde\n" % i for i in range(10_000))
    start = time.perf_counter()
    m = parse(simple(headers=many))
    assert m.sender is not None and m.sender.addr == "jan@klant.nl"
    big = b"X-Big: " + b"a" * 1_000_000 + b"\n"
    m2 = parse(simple(headers=big))
    assert m2.subject == "Storing"
    assert time.perf_counter() - start < 5.0


@pytest.mark.parametrize("ctype", [
    b"text/plain; charset=",
    b"text/plain; charset=\"utf-8",
    b"text/plain; charset=utf-8; charset=latin-1",
    b"garbage",
    b";;;",
])
def test_29_garbage_content_type_is_text(ctype: bytes) -> None:
    m = parse(simple(body=b"Inhoud blijft leesbaar\n", ctype=ctype))
    assert "Inhoud blijft leesbaar" in m.text


@pytest.mark.parametrize("name", [b"headers", b"attachments", b"body", b"defects", b"mail",
                                  b"message", b"text_plain", b"Parse", b"Headers_json"])
def test_30_header_named_like_parser_attributes(name: bytes) -> None:
    m = parse(simple(headers=name + b": kwaadaardig\n"))
    assert m.subject == "Storing"
    assert "de site is stuk" in m.text


def test_31_cyrillic_encoded_attachment_name() -> None:
    word = base64.b64encode("Счёт-фактура.pdf".encode()).decode()
    part = (b'Content-Type: application/pdf; name="=?UTF-8?B?' + word.encode() + b'?="\n'
            b"Content-Disposition: attachment; filename=\"=?UTF-8?B?" + word.encode() + b"?=\"\n"
            b"Content-Transfer-Encoding: base64\n\nJVBERg==")
    m = parse(mixed(b"Content-Type: text/plain\n\nzie bijlage", part))
    assert m.attachments[0].filename == "Счёт-фактура.pdf"
    assert m.attachments[0].payload == b"%PDF"


# --- Hostile / automatic -------------------------------------------------------------------

def test_39_encoded_newline_in_subject() -> None:
    data = simple().replace(b"Subject: Storing", b"Subject: =?UTF-8?Q?x=0ABcc:_a@evil.example?=")
    m = parse(data)
    assert "\n" not in m.subject and "\r" not in m.subject
    assert m.subject == "x Bcc: a@evil.example"
    assert "encoded CR/LF in the Subject" in m.reply_blockers


def test_40_crlf_in_display_name_and_reply_to() -> None:
    data = simple(headers=b"Reply-To: =?utf-8?q?Boef=0D=0ABcc=3A?= <boef@evil.example>\n")
    data = data.replace(b"From: Jan de Vries <jan@klant.nl>",
                        b"From: =?utf-8?q?Jan=0D=0AX-Evil=3A_1?= <jan@klant.nl>")
    m = parse(data)
    assert m.sender is not None and m.sender.addr == "jan@klant.nl"
    assert "\n" not in m.sender.name and "\r" not in m.sender.name
    assert any("CR/LF" in b for b in m.reply_blockers)


def test_41_reply_to_differs_from_from() -> None:
    m = parse(simple(headers=b"Reply-To: derde@elders.example\n"))
    assert [a.addr for a in m.reply_to] == ["derde@elders.example"]
    assert has_note(m, "replies go to From only")


@pytest.mark.parametrize("name, expected", [
    (b"../../etc/cron.d/x", "../../etc/cron.d/x"),
    (b"/abs/path.txt", "/abs/path.txt"),
    (b"..\\\\..\\\\x.bat", "..\\..\\x.bat"),
    (b"=?utf-8?q?a=00.txt?=", "a.txt"),
    (b"CON", "CON"),
    (b"=?utf-8?q?factuur=E2=80=AEfdp.exe?=", "factuur\\u202efdp.exe"),
])
def test_44_hostile_attachment_names_are_metadata_only(name: bytes, expected: str) -> None:
    part = (b'Content-Type: application/octet-stream\nContent-Disposition: attachment; filename="'
            + name + b'"\n\ndata')
    m = parse(mixed(b"Content-Type: text/plain\n\nzie bijlage", part))
    assert m.attachments[0].filename == expected
    assert m.attachments[0].payload == b"data"


def test_44b_very_long_name_is_shortened_keeping_the_extension() -> None:
    part = (b'Content-Type: application/pdf\nContent-Disposition: attachment; filename="'
            + b"a" * 300 + b'.pdf"\n\ndata')
    name = parse(mixed(part)).attachments[0].filename
    assert len(name) <= 255 and name.endswith(".pdf")


def test_45_content_id_is_never_a_filename() -> None:
    part = (b"Content-Type: image/png\nContent-ID: <../../x>\n"
            b"Content-Transfer-Encoding: base64\n\niVBORw==")
    m = parse(mixed(b"Content-Type: text/plain\n\nzie plaatje", part))
    att = m.attachments[0]
    assert att.filename == "part-3.png"
    assert att.content_id == "../../x"


def test_50_display_name_address_is_not_the_sender() -> None:
    m = parse(simple().replace(b"From: Jan de Vries <jan@klant.nl>",
                               b'From: "ceo@corp.example" <x@evil.example>'))
    assert m.sender is not None and m.sender.addr == "x@evil.example"
    assert has_note(m, "looks like another address")


def test_50b_comment_trick_never_yields_the_hidden_address() -> None:
    m = parse(simple().replace(b"From: Jan de Vries <jan@klant.nl>",
                               b"From: a@good.example(<b@evil.example>"))
    assert m.sender is None or m.sender.addr == "a@good.example"
    assert m.reply_blockers


def test_50c_mailsploit_nul_word() -> None:
    word = base64.b64encode(b"potus@whitehouse.gov").decode()
    from_line = (f"From: =?utf-8?b?{word}?==?utf-8?Q?=00?==?utf-8?b?{word}?="
                 "<x@evil.example>").encode()
    m = parse(simple().replace(b"From: Jan de Vries <jan@klant.nl>", from_line))
    assert m.sender is not None and m.sender.addr == "x@evil.example"
    assert "\x00" not in m.sender.name
    assert m.reply_blockers


def test_51_tnef_winmail_dat_kept_as_attachment() -> None:
    part = (b"Content-Type: application/ms-tnef; name=winmail.dat\n"
            b"Content-Transfer-Encoding: base64\n\n" + base64.b64encode(b"\x78\x9f\x3e\x22tnef"))
    m = parse(mixed(b"Content-Type: text/plain\n\nzie bijlage", part))
    assert m.attachments[0].filename == "winmail.dat"
    assert m.attachments[0].payload == b"\x78\x9f\x3e\x22tnef"


def test_52_smime_and_pgp_encrypted() -> None:
    smime = simple(body=b"MIAGCSqGSIb3DQEHA6CAMIACAQAxggE=\n",
                   ctype=b'application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"')
    m = parse(smime)
    assert m.encrypted and has_note(m, "S/MIME encrypted")
    assert m.attachments[0].filename == "smime.p7m"
    pgp = simple(body=b"--E\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n"
                      b"--E\nContent-Type: application/octet-stream\n\n"
                      b"-----BEGIN PGP MESSAGE-----\n"
                      b"hQEMA\n-----END PGP MESSAGE-----\n--E--\n",
                 ctype=b'multipart/encrypted; protocol="application/pgp-encrypted"; boundary="E"')
    m2 = parse(pgp)
    assert m2.encrypted and has_note(m2, "multipart/encrypted")
    assert "BEGIN PGP" not in m2.text


def test_53_signature_part_is_never_the_body() -> None:
    data = simple(body=b"--S\nContent-Type: text/plain; charset=utf-8\n\nOndertekende vraag\n"
                       b"--S\nContent-Type: application/pkcs7-signature; name=smime.p7s\n"
                       b"Content-Transfer-Encoding: base64\n\nMIIGsignature\n--S--\n",
                  ctype=b'multipart/signed; protocol="application/pkcs7-signature"; boundary="S"')
    m = parse(data)
    assert m.text.strip() == "Ondertekende vraag"
    assert [a.filename for a in m.attachments] == ["smime.p7s"]


def test_54_calendar_invite_is_an_attachment_not_the_body() -> None:
    cal = (b"Content-Type: text/calendar; method=REQUEST; charset=utf-8\n\n"
           b"BEGIN:VCALENDAR\nMETHOD:REQUEST\nEND:VCALENDAR")
    m = parse(mixed(b"Content-Type: text/plain\n\nUitnodiging overleg", cal))
    assert "VCALENDAR" not in m.text
    assert m.attachments[0].content_type == "text/calendar"


def test_55_forwarded_message_headers_are_never_trusted() -> None:
    inner = (b"Content-Type: message/rfc822\n\nFrom: Baas <baas@ours.nl>\n"
             b"Message-ID: <inner@ours.nl>\nIn-Reply-To: <ticket-1001@ours.nl>\n"
             b"Subject: [#1001] binnen\n\nbinnenste tekst\n")
    m = parse(mixed(b"Content-Type: text/plain\n\nZie doorgestuurd bericht", inner))
    assert m.sender is not None and m.sender.addr == "jan@klant.nl"
    assert m.in_reply_to == () and m.references == ()
    assert m.message_id == "<m1@klant.nl>"
    assert m.subject == "Storing"
    assert m.attachments[0].content_type == "message/rfc822"
    assert b"binnenste tekst" in m.attachments[0].payload
    assert "binnenste tekst" not in m.text


# --- Body selection, quoting, headers, reports ---------------------------------------------

def test_html_only_becomes_text_without_script() -> None:
    html = b"<html><head><style>p{color:red}</style></head><body><p>Site is traag</p>" \
           b"<script>alert('x')</script></body></html>"
    m = parse(simple(body=html, ctype=b"text/html; charset=utf-8"))
    assert m.text == "Site is traag"
    assert m.html is not None and "<script>" in m.html


def test_new_text_drops_quoted_history() -> None:
    body = (b"Het werkt nog steeds niet.\n\nOp 9 mrt 2026 om 14:00 schreef Helpdesk "
            b"<helpdesk@ours.nl>:\n> Kunt u het opnieuw proberen?\n")
    m = parse(simple(body=body))
    assert m.new_text == "Het werkt nog steeds niet."
    assert "opnieuw proberen" in m.text


def test_references_and_in_reply_to() -> None:
    m = parse(simple(headers=b"In-Reply-To: <a@ours.nl>\nReferences: <r1@x.nl>\n <a@ours.nl> "
                             b"junk <r2@y.nl>\n"))
    assert m.in_reply_to == ("<a@ours.nl>",)
    assert m.references == ("<r1@x.nl>", "<a@ours.nl>", "<r2@y.nl>")


def test_kept_headers() -> None:
    m = parse(simple(headers=b"Auto-Submitted: auto-replied\nX-Mailtriage-Ticket: 1001\n"
                             b"X-Unrelated: nee\nReturn-Path: <>\n"))
    assert m.header("auto-submitted") == "auto-replied"
    assert m.header("X-Mailtriage-Ticket") == "1001"
    assert m.header("X-Unrelated") is None
    assert m.header("Content-Type") == "text/plain; charset=utf-8"
    assert m.return_path == ""


def test_dsn_report_with_original_message_id() -> None:
    body = (b"--R\nContent-Type: text/plain\n\nDelivery failed.\n"
            b"--R\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.klant.nl\n\n"
            b"Final-Recipient: rfc822; weg@klant.nl\nAction: failed\nStatus: 5.1.1\n"
            b"--R\nContent-Type: text/rfc822-headers\n\nFrom: helpdesk@ours.nl\n"
            b"Message-ID: <reply-1001.secret@ours.nl>\nSubject: [#1001] Ontvangen\n--R--\n")
    data = simple(body=body, ctype=b'multipart/report; report-type=delivery-status; boundary="R"')
    data = data.replace(b"From: Jan de Vries <jan@klant.nl>",
                        b"From: Mail Delivery System <MAILER-DAEMON@mx.klant.nl>")
    m = parse(data)
    assert m.report is not None
    assert m.report.kind == "dsn"
    assert m.report.original_message_ids == ("<reply-1001.secret@ours.nl>",)
    assert m.report.recipients == ("weg@klant.nl",)
    assert m.report.status == "5.1.1"
    assert m.text.strip() == "Delivery failed."


def test_non_standard_bounce_finds_message_id_in_body() -> None:
    body = (b"This is the mail system at host mx.klant.nl.\n\nI'm sorry to have to inform you "
            b"that your message could not be delivered.\n\n--- original message ---\n"
            b"Message-ID: <reply-1002.secret@ours.nl>\nSubject: [#1002]\n")
    data = simple(body=body).replace(b"From: Jan de Vries <jan@klant.nl>",
                                     b"From: MAILER-DAEMON@mx.klant.nl")
    m = parse(data)
    assert m.report is not None and m.report.kind == "other"
    assert m.report.original_message_ids == ("<reply-1002.secret@ours.nl>",)


def test_person_mail_has_no_report() -> None:
    assert parse(simple(body=b"Message-ID: <x@y.nl> staat in mijn log\n")).report is None


@pytest.mark.parametrize("value, expected", [
    ("=?utf-8?q?Hallo_wereld?=", "Hallo wereld"),
    ("Re: =?iso-8859-1?q?Caf=E9?= open", "Re: Café open"),
    ("=?utf-8?b?w6k=?= =?utf-8?b?w6k=?=", "éé"),
    ("plain  text", "plain  text"),
    ("=?utf-8?q?a?=\n =?utf-8?q?b?=", "ab"),
])
def test_decode_header_text(value: str, expected: str) -> None:
    assert decode_header_text(value)[0] == expected


# -- the cheap scans made before the tree is built ------------------------------------------------

@pytest.mark.parametrize("data, expected", [
    (b"Subject: plain\r\n\r\nno parts\r\n", 0),
    (b'Content-Type: multipart/mixed; boundary="AbC"\r\n\r\n--AbC\r\nx\r\n--AbC\r\ny\r\n'
     b"--AbC--\r\n", 3),
    # The parameter name in any case; the boundary itself keeps its case.
    (b"Content-Type: multipart/mixed; BOUNDARY=AbC\r\n\r\n--AbC\r\nx\r\n--abc\r\n--AbC--\r\n",
     2),
    (b"Content-Type: multipart/mixed; Boundary = \"q q\"\r\n\r\n--q q\r\n--q q--\r\n", 2),
    # Nested: both boundaries count.
    (b"Content-Type: multipart/mixed; boundary=out\r\n\r\n--out\r\nContent-Type: multipart/"
     b"alternative; boundary=in\r\n\r\n--in\r\na\r\n--in--\r\n--out--\r\n", 4),
])
def test_delimiter_lines_are_counted_before_parsing(data: bytes, expected: int) -> None:
    from mailtriage.ingest.parse import _count_delimiter_lines

    assert _count_delimiter_lines(data) == expected


@pytest.mark.parametrize("value, text, noted", [
    ("plain ascii", "plain ascii", False),
    ("caf\u00e9 already text", "caf\u00e9 already text", False),
    ("caf\udcc3\udca9", "caf\u00e9", False),  # raw UTF-8 octets
    ("caf\udce9", "caf\u00e9", True),  # a raw Latin-1 octet: decoded as windows-1252, noted
])
def test_raw_octets_in_header_strings_are_decoded(value: str, text: str, noted: bool) -> None:
    from mailtriage.ingest.parse import _raw_str_to_text

    decoded, notes = _raw_str_to_text(value, "Subject header")
    assert decoded == text
    assert bool(notes) is noted


def test_address_headers_read_again_give_the_same_notes_and_blockers() -> None:
    # Address header values are read once per process (a helpdesk sees the same ones again
    # and again); the second mail with the same broken From must be judged as the first.
    from mailtriage.ingest import parse as parse_module

    def mail(from_: bytes, to: bytes) -> bytes:
        return b"From: " + from_ + b"\nTo: " + to + b"\nSubject: Storing\n\nDe site is stuk.\n"

    broken = mail(b"Jan <jan@klant.nl", b"helpdesk@ours.nl")
    first, second = parse(broken), parse(broken)
    assert first == second
    assert has_note(first, "defect in From header: unclosed-delimiter")
    assert first.reply_blockers and first.reply_blockers == second.reply_blockers
    long_to = b", ".join(b"klant%d@bureau.nl" % n for n in range(100))
    assert len(long_to) > parse_module._CACHED_ADDRESS_VALUE
    parse_module._read_addresses_cached.cache_clear()
    many = parse(mail(b"Piet <piet@klant.nl>", long_to))
    assert len(many.to) == 100 and many.sender is not None
    # the From header is kept; the long To is read every time
    assert parse_module._read_addresses_cached.cache_info().currsize == 1


# --- long base64 runs are set aside while the tree is built -----------------------------------

def _b64_lines(seed: int, lines: int = 1000, width: int = 76) -> bytes:
    blob = bytes((seed * 31 + n * 7) % 256 for n in range(lines * width * 3 // 4))
    text = base64.b64encode(blob)
    return b"\n".join(text[i:i + width] for i in range(0, len(text), width))


_ATTACHMENT = (b"Content-Type: application/pdf; name=\"offerte.pdf\"\n"
               b"Content-Transfer-Encoding: base64\n"
               b"Content-Disposition: attachment; filename=\"offerte.pdf\"\n\n")
_TEXT = b"Content-Type: text/plain; charset=utf-8\n\nDe site is stuk, zie bijlage.\n"
_ARMOR = (b"Content-Type: text/plain; charset=utf-8\n\nOndertekend:\n"
          b"-----BEGIN PGP SIGNATURE-----\n" + _b64_lines(9, 90, 64) +
          b"\n-----END PGP SIGNATURE-----\n")

SET_ASIDE_CASES = {
    "one attachment": mixed(_TEXT, _ATTACHMENT + _b64_lines(1)),
    "runs in a text part": mixed(_ARMOR, _ATTACHMENT + _b64_lines(2)),
    "twelve attachments": mixed(_TEXT, *[_ATTACHMENT + _b64_lines(n) for n in range(12)]),
    "preamble and epilogue": simple(
        body=b"preamble\n" + _b64_lines(3) + b"\n--BND\n" + _TEXT + b"\n--BND\n" + _ATTACHMENT
        + _b64_lines(4) + b"\n--BND--\nepilogue\n" + _b64_lines(5) + b"\n",
        ctype=b'multipart/mixed; boundary="BND"'),
    "run right after the header block": (
        b"From: jan@klant.nl\nSubject: kapot\n" + _b64_lines(6) + b"\n\nnog iets\n"),
    "single part base64": simple(body=_b64_lines(7, 1200),
                                 ctype=b"application/octet-stream").replace(
        b"MIME-Version", b"Content-Transfer-Encoding: base64\nMIME-Version"),
    "forwarded mail with an attachment": mixed(
        _TEXT, b"Content-Type: message/rfc822\n\n" + mixed(_TEXT, _ATTACHMENT + _b64_lines(8),
                                                           boundary=b"INNER")),
    "crlf line ends": mixed(_TEXT, _ATTACHMENT + _b64_lines(10)).replace(b"\n", b"\r\n"),
    "boundary made of base64 letters": mixed(_TEXT, _ATTACHMENT + _b64_lines(11),
                                             boundary=b"QUJDREVGR0g" * 4),
    "no final line end": mixed(_TEXT, _ATTACHMENT + _b64_lines(12)).rstrip(b"\n-BND")
    + b"\n" + _b64_lines(13),
}


@pytest.mark.parametrize("data", SET_ASIDE_CASES.values(), ids=SET_ASIDE_CASES.keys())
def test_setting_long_base64_runs_aside_changes_nothing(data: bytes,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from mailtriage.ingest import parse as parse_module

    put_back: list[int] = []
    real = parse_module._put_back

    def counted(msg: object, runs: list[str]) -> None:
        put_back.append(len(runs))
        real(msg, runs)  # type: ignore[arg-type]

    monkeypatch.setattr(parse_module, "_put_back", counted)
    fast = parse(data)
    assert put_back and put_back[0] >= 1  # the runs were set aside
    text = parse_module.normalise_line_ends(data)
    assert _tree(parse_module._build_message(text, 50)) == _tree(
        email.message_from_bytes(text, policy=email.policy.compat32))
    monkeypatch.setattr(parse_module, "_SET_ASIDE_FROM", 1 << 40)
    assert parse(data) == fast
    assert len(put_back) == 2


def _tree(msg: email.message.Message) -> list[object]:
    """Every part's headers, raw payload, preamble, epilogue and defects."""
    return [(part.items(), vars(part).get("_payload") if not part.is_multipart() else None,
             part.preamble, part.epilogue, [type(d).__name__ for d in part.defects])
            for part in msg.walk()]


def test_a_mail_that_holds_the_placeholder_is_parsed_whole(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from mailtriage.ingest import parse as parse_module

    def never(msg: object, runs: list[str]) -> None:
        raise AssertionError("nothing may be set aside")

    monkeypatch.setattr(parse_module, "_put_back", never)
    data = mixed(b"Content-Type: text/plain\n\nkijk: \x7fmailtriage-run-0\x7f\n",
                 _ATTACHMENT + _b64_lines(1, 1200))
    assert len(data) > parse_module._SET_ASIDE_FROM
    mail = parse(data)
    assert "mailtriage-run-0" in mail.text
    assert [a.payload for a in mail.attachments] == [base64.b64decode(_b64_lines(1, 1200))]
