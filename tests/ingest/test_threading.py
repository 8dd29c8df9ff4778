"""decide_thread: follow-up only on proof; a subject number or a copied Message-ID is none."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from mailtriage.ingest.message import Address, ParsedMail
from mailtriage.ingest.threading import ThreadLookup, decide_thread, subject_ticket_number

TICKET = ThreadLookup(ticket_id=7, number=1234, participants=frozenset({"jan@klant.nl"}))
OTHER = ThreadLookup(ticket_id=9, number=1500, participants=frozenset({"piet@elders.nl"}))


def mail(sender: str | None = "Jan@Klant.nl", subject: str = "Re: [#1234] Storing",
         refs: tuple[str, ...] = ("<x@klant.nl>",)) -> ParsedMail:
    return ParsedMail(
        message_id="<m2@klant.nl>", in_reply_to=refs[:1], references=refs,
        sender=Address(sender) if sender else None, reply_to=(), to=(), cc=(), subject=subject,
        date_header=None, received_at=datetime(2026, 3, 10, tzinfo=UTC), text="", html=None,
        new_text="", language="nl")


@pytest.mark.parametrize("subject, number", [
    ("Re: [#1234] Storing", 1234),
    ("[ # 77 ] spaties", 77),
    ("FW: [#12][#13]", 12),
    ("#1234 zonder haken", None),
    ("[1234]", None),
    ("[#] leeg", None),
    ("[#12345678901] te lang", None),
    ("", None),
])
def test_subject_ticket_number(subject: str, number: int | None) -> None:
    assert subject_ticket_number(subject) == number


def test_our_message_id_referenced_is_a_follow_up_for_anyone() -> None:
    d = decide_thread(mail(sender="nieuw@elders.nl"), ours=TICKET, theirs=None, by_subject=None)
    assert d.ticket == TICKET and d.ticket_ref == 7
    assert "answers a message we sent" in d.reason


def test_their_message_id_and_participant() -> None:
    d = decide_thread(mail(subject="Re: Storing"), ours=None, theirs=TICKET, by_subject=None)
    assert d.ticket_ref == 7
    assert "jan@klant.nl takes part" in d.reason


def test_forged_in_reply_to_from_a_stranger_opens_a_new_ticket() -> None:
    d = decide_thread(mail(sender="boef@evil.example", subject="Re: Storing"), ours=None,
                      theirs=TICKET, by_subject=None)
    assert d.ticket is None
    assert d.reason == ("new ticket: it refers to a message of #1234 but boef@evil.example "
                        "does not take part in it")


def test_subject_number_and_participant() -> None:
    d = decide_thread(mail(refs=()), ours=None, theirs=None, by_subject=TICKET,
                      subject_number=1234)
    assert d.ticket_ref == 7
    assert "the subject names it" in d.reason


def test_stranger_quoting_a_ticket_number_opens_a_new_ticket() -> None:
    d = decide_thread(mail(sender="x@y.nl", refs=()), ours=None, theirs=None, by_subject=TICKET,
                      subject_number=1234)
    assert d.ticket is None
    assert d.reason == "new ticket: the subject names #1234 but x@y.nl does not take part in it"


def test_unknown_sender_never_follows_up_on_their_ids() -> None:
    d = decide_thread(mail(sender=None), ours=None, theirs=TICKET, by_subject=TICKET,
                      subject_number=1234)
    assert d.ticket is None
    assert "an unknown sender does not take part" in d.reason


def test_nonexistent_subject_number() -> None:
    d = decide_thread(mail(refs=()), ours=None, theirs=None, by_subject=None, subject_number=999)
    assert d.ticket is None
    assert d.reason == "new ticket: the subject names #999, which does not exist"


def test_order_ours_before_theirs_before_subject() -> None:
    d = decide_thread(mail(sender="piet@elders.nl"), ours=TICKET, theirs=OTHER, by_subject=OTHER,
                      subject_number=1500)
    assert d.ticket == TICKET
    d2 = decide_thread(mail(sender="piet@elders.nl"), ours=None, theirs=OTHER, by_subject=TICKET,
                       subject_number=1234)
    assert d2.ticket == OTHER


def test_plain_new_mail_and_unknown_references() -> None:
    assert decide_thread(mail(subject="Storing", refs=()), ours=None, theirs=None,
                         by_subject=None).reason == "new ticket: it is not a reply to any ticket"
    assert decide_thread(mail(subject="Re: Storing"), ours=None, theirs=None,
                         by_subject=None).reason == "new ticket: it refers to no message we know"


def test_sender_case_does_not_matter() -> None:
    m = replace(mail(), sender=Address("JAN@KLANT.NL"))
    assert decide_thread(m, ours=None, theirs=TICKET, by_subject=None).ticket_ref == 7
