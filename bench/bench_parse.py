"""Parse throughput of mailtriage.ingest.parse on a typical 5 KB reply and on the shared corpus.

Run: python bench/bench_parse.py [SECONDS]
"""

from __future__ import annotations

import contextlib
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from mailtriage.errors import UnparseableMail
from mailtriage.ingest.message import RawMail
from mailtriage.ingest.origin import decide_origin
from mailtriage.ingest.parse import parse_mail

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def typical_mail() -> bytes:
    new = ("Beste helpdesk,\n\nSinds vanochtend geeft de webshop een foutmelding bij het "
           "afrekenen. Klanten krijgen een witte pagina na het kiezen van iDEAL.\n" * 8)
    quoted = "".join(f"> Regel {i} van het vorige bericht over de storing.\n" for i in range(30))
    text = (f"{new}\nMet vriendelijke groet,\nJan de Vries\nKlant BV\n\n"
            f"Op ma 9 mrt 2026 om 14:00 schreef Helpdesk <helpdesk@ours.nl>:\n{quoted}")
    paragraphs = "".join(f"<p>{line}</p>" for line in text.splitlines())
    html = f"<html><body>{paragraphs}</body></html>"
    head = (
        "Received: from mx.klant.nl (mx.klant.nl [192.0.2.1]) by mx.ours.nl with ESMTPS id abc;"
        " Tue, 10 Mar 2026 09:30:05 +0100\n"
        "From: =?utf-8?q?Jan_de_Vri=C3=ABs?= <jan@klant.nl>\nTo: helpdesk@ours.nl\n"
        "Subject: =?utf-8?q?Re=3A_=5B=231001=5D_Webshop_afrekenen_kapot?=\n"
        "Date: Tue, 10 Mar 2026 09:30:00 +0100\nMessage-ID: <m1@klant.nl>\n"
        "In-Reply-To: <r1.secret@ours.nl>\nReferences: <r1.secret@ours.nl>\nMIME-Version: 1.0\n"
        "Content-Type: multipart/alternative; boundary=\"b1\"\n\n")
    body = (f"--b1\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
            f"{text}\n--b1\nContent-Type: text/html; charset=utf-8\n\n{html}\n--b1--\n")
    return (head + body).encode()


def run(data: bytes, seconds: float) -> tuple[int, float]:
    raw = RawMail("bench", "INBOX", 1, "1", data, len(data))
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        mail = parse_mail(raw, now=NOW)
        decide_origin(mail, own_addresses=frozenset(), is_own_message_id=lambda _: False)
        count += 1
    return count, time.perf_counter() - start


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    data = typical_mail()
    count, elapsed = run(data, seconds)
    print(f"typical mail: {len(data)} bytes, {count / elapsed:.0f} mails/s on one core "
          f"({elapsed / count * 1000:.2f} ms each, parse + origin)")
    corpus = Path(__file__).resolve().parents[1].parent / "shared" / "mail-corpus"
    files = sorted(corpus.rglob("*.eml"))
    if files:
        blobs = [p.read_bytes() for p in files]
        start = time.perf_counter()
        for blob in blobs:
            with contextlib.suppress(UnparseableMail):
                parse_mail(RawMail("bench", "INBOX", 1, "1", blob, len(blob)), now=NOW)
        elapsed = time.perf_counter() - start
        print(f"corpus: {len(blobs)} files, {sum(map(len, blobs)) / 1024:.0f} KB in "
              f"{elapsed * 1000:.0f} ms ({len(blobs) / elapsed:.0f} mails/s)")
    big = (b"From: a@b.nl\nSubject: lang\nContent-Type: text/plain\n\n" + b"x" * 1_000_000)
    start = time.perf_counter()
    parse_mail(RawMail("bench", "INBOX", 1, "1", big, len(big)), now=NOW)
    print(f"1 MB single line: {(time.perf_counter() - start) * 1000:.0f} ms")
    parts = b"".join(b"--XX\nContent-Type: text/plain\n\np%d\n" % i for i in range(10_000))
    many = b"From: a@b.nl\nContent-Type: multipart/mixed; boundary=XX\n\n" + parts + b"--XX--\n"
    start = time.perf_counter()
    try:
        parse_mail(RawMail("bench", "INBOX", 1, "1", many, len(many)), now=NOW)
    except UnparseableMail as exc:
        print(f"10,000 parts: quarantined ({exc.reason}) in "
              f"{(time.perf_counter() - start) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
