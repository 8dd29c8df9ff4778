"""Every shared corpus mail parses (or is quarantined); automatic mail is never "person".

The corpus lives next to the repository (``../shared/mail-corpus``) or where ``MAILTRIAGE_CORPUS``
points. Outside CI a missing corpus skips these tests; under ``CI=true`` it fails them.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailtriage.errors import UnparseableMail
from mailtriage.ingest.message import ParsedMail, RawMail
from mailtriage.ingest.origin import decide_origin
from mailtriage.ingest.parse import normalise_line_ends, parse_mail
from tests.servers.required import unavailable

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
EXPECTED_FILES = 261


def corpus_dir() -> Path:
    env = os.environ.get("MAILTRIAGE_CORPUS")
    return Path(env) if env else Path(__file__).parents[2].parent / "shared" / "mail-corpus"


def corpus_files() -> list[Path]:
    root = corpus_dir()
    if not root.is_dir():
        unavailable(f"mail corpus not found at {root}; set MAILTRIAGE_CORPUS to run these tests")
    return sorted(root.rglob("*.eml"))


def parse_file(path: Path) -> ParsedMail | UnparseableMail:
    data = path.read_bytes()
    try:
        return parse_mail(RawMail("corpus", "INBOX", 0, path.name, data, len(data)), now=NOW)
    except UnparseableMail as exc:
        return exc


def origin_of(mail: ParsedMail) -> str:
    return decide_origin(mail, own_addresses=frozenset({"helpdesk@example.test"}),
                         is_own_message_id=lambda _: False).origin


# Sisimai files that are not automatic mail in our sense, with the reason.
PERSON_MAIL = {
    "is-not-bounce-01.eml": "upstream's maildir/not: an ordinary personal mail",
    "is-not-bounce-02.eml": "upstream's maildir/not: a person forwarding a message as attachment",
    # Hotmail/JMRP complaint reports: no multipart/report, no Feedback-Type, no automatic
    # header and an ordinary sender address. They are abuse reports, but nothing in them tells
    # them apart from a person forwarding a mail with a one-line subject; we accept a ticket.
    "arf-22.eml": "Hotmail complaint without any machine-readable report marker",
    "arf-23.eml": "Hotmail complaint without any machine-readable report marker",
    "arf-24.eml": "Hotmail complaint without any machine-readable report marker",
}
# rb-issue-368-bug.eml comes from upstream's maildir/not too, but it is a mailbox-full bounce
# (Return-Path <>, Auto-Submitted: auto-replied, From postmaster): RFC 3834 forbids answering
# it, so it must not be "person" here, and it is not.


def test_corpus_is_complete() -> None:
    files = corpus_files()
    assert len(files) == EXPECTED_FILES


def test_every_file_parses_or_is_quarantined() -> None:
    outcomes: Counter[str] = Counter()
    for path in corpus_files():
        result = parse_file(path)
        if isinstance(result, UnparseableMail):
            outcomes[f"quarantined: {result.reason}"] += 1
            continue
        outcomes["parsed"] += 1
        assert "\x00" not in result.text + result.subject + result.new_text, path.name
        assert result.received_at.tzinfo is not None, path.name
    assert sum(outcomes.values()) == EXPECTED_FILES
    print("\ncorpus outcomes:", dict(outcomes))


def test_automatic_sisimai_mail_is_never_person() -> None:
    origins: Counter[str] = Counter()
    wrong = []
    for path in corpus_files():
        if "sisimai" not in str(path.parent):
            continue
        result = parse_file(path)
        assert not isinstance(result, UnparseableMail), path.name
        origin = origin_of(result)
        origins[origin] += 1
        if path.name in PERSON_MAIL:
            assert origin == "person", (path.name, PERSON_MAIL[path.name])
        elif origin == "person":
            wrong.append(path.name)
    assert wrong == []
    assert sum(origins.values()) == 176
    print("\nsisimai origins:", dict(origins))


@pytest.mark.parametrize("prefix", ["rfc3464-", "lhost-", "rhost-", "rfc3834-", "arf-", "cr-",
                                    "crlf-", "make-test-"])
def test_each_kind_is_automatic(prefix: str) -> None:
    root = corpus_dir()
    files = [p for p in corpus_files() if p.name.startswith(prefix) and p.name not in PERSON_MAIL]
    assert files, root
    for path in files:
        result = parse_file(path)
        assert isinstance(result, ParsedMail)
        expected = {"auto_reply"} if prefix == "rfc3834-" else {"bounce", "auto_reply", "list"}
        assert origin_of(result) in expected, path.name


def test_bounces_link_to_the_original_message() -> None:
    linked = 0
    dsn = 0
    for path in corpus_files():
        if not path.name.startswith("rfc3464-"):
            continue
        result = parse_file(path)
        assert isinstance(result, ParsedMail)
        assert result.report is not None, path.name
        dsn += 1
        linked += bool(result.report.original_message_ids)
    # Most DSNs carry the original's headers; a few (sisimai's anonymised or truncated ones)
    # do not. At least four in five must link.
    assert linked * 5 >= dsn * 4, (linked, dsn)


def test_line_end_variants_parse_alike() -> None:
    root = corpus_dir()
    files = corpus_files()
    names = {p.name for p in files}
    pairs = [n[len("crlf-"):] for n in names if n.startswith("crlf-")]
    assert pairs
    for base in pairs:
        lf = parse_file(next(root.rglob(base)))
        for variant in (f"crlf-{base}", f"cr-{base}"):
            if variant not in names:
                continue
            variant_path = next(root.rglob(variant))
            other = parse_file(variant_path)
            assert isinstance(lf, ParsedMail) and isinstance(other, ParsedMail)
            same_bytes = (normalise_line_ends(variant_path.read_bytes())
                          == next(root.rglob(base)).read_bytes())
            if same_bytes:  # upstream's copies sometimes differ in more than line ends
                assert other == lf, variant
            assert other.subject == lf.subject, variant
            assert other.sender == lf.sender, variant
            assert other.report == lf.report, variant
            assert origin_of(other) == origin_of(lf), variant
