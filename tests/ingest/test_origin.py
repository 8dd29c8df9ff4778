"""decide_origin: every rule fires on its example and stays quiet on its counter-example."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from mailtriage.ingest.message import Address, Attachment, ParsedMail, Report
from mailtriage.ingest.origin import RULES, OriginContext, decide_origin, evaluate

OWN = frozenset({"helpdesk@ours.nl"})


def is_own(message_id: str) -> bool:
    return message_id.endswith(".secret@ours.nl>")


def mail(headers: tuple[tuple[str, str], ...] = (), sender: str | None = "jan@klant.nl",
         subject: str = "Website stuk", **kw: object) -> ParsedMail:
    base = ParsedMail(
        message_id="<m1@klant.nl>", in_reply_to=(), references=(),
        sender=Address(sender, "Jan") if sender else None, reply_to=(), to=(), cc=(),
        subject=subject, date_header=None, received_at=datetime(2026, 3, 10, tzinfo=UTC),
        text="De site is stuk.", html=None, new_text="De site is stuk.", language="nl",
        headers=headers)
    return replace(base, **kw)  # type: ignore[arg-type]


def origin(m: ParsedMail) -> tuple[str, tuple[str, ...]]:
    v = decide_origin(m, own_addresses=OWN, is_own_message_id=is_own)
    return v.origin, v.rules


RFC822 = Attachment("part-3.eml", "message/rfc822", b"From: x\n\n")

# (rule name, expected origin, example mail, counter-example mail)
TABLE = [
    ("own-address", "own", mail(sender="HelpDesk@ours.nl"), mail(sender="helpdesk@ours.nl.evil")),
    ("own-message-id", "own", mail(message_id="<r1.secret@ours.nl>"),
     mail(message_id="<r1@ours.nl>")),
    ("own-marker", "own", mail((("X-Mailtriage-Ticket", "1001"),)),
     mail((("X-Mailer", "mailtriage"),))),
    ("delivery-report", "bounce", mail(report=Report("dsn")), mail(report=Report("arf"))),
    ("feedback-report", "bounce", mail(report=Report("arf")),
     mail((("Feedback-Type-X", "abuse"),))),
    ("daemon-sender", "bounce", mail(sender="MAILER-DAEMON@mx.klant.nl"),
     mail(sender="daemon.fan@klant.nl")),
    ("daemon-sender", "bounce", mail((("From", "Mail Delivery Subsystem <MAILER-DAEMON>"),),
                                     sender=None), mail(sender="postmasterclass@klant.nl")),
    ("failed-recipients", "bounce", mail((("X-Failed-Recipients", "a@b.nl"),)),
     mail((("X-Recipients", "a@b.nl"),))),
    ("other-report", "bounce", mail(report=Report("other")), mail()),
    ("auto-submitted", "auto_reply", mail((("Auto-Submitted", "auto-replied"),)),
     mail((("Auto-Submitted", "no"),))),
    ("auto-submitted", "auto_reply", mail((("Auto-Submitted", "auto-generated; owner=x"),)),
     mail((("Auto-Submitted", "No ; comment"),))),
    ("autoreply-header", "auto_reply", mail((("X-Autoreply", "yes"),)),
     mail((("X-Autoreply", "no"),))),
    ("autoreply-header", "auto_reply", mail((("X-Autorespond", "Out of office"),)),
     mail((("X-Autorespond-Hint", "x"),))),
    ("auto-response-suppress", "auto_reply",
     mail((("X-Auto-Response-Suppress", "OOF, AutoReply"),)),
     mail((("X-Auto-Response-Suppress", "DR, RN, NRN"),))),
    ("auto-response-suppress", "auto_reply", mail((("X-Auto-Response-Suppress", "All"),)),
     mail((("X-Auto-Response-Suppress", "Allowed"),))),
    ("precedence-auto-reply", "auto_reply", mail((("Precedence", "auto_reply"),)),
     mail((("Precedence", "first-class"),))),
    ("exchange-generated", "auto_reply",
     mail((("X-MS-Exchange-Generated-Message-Source", "Mailbox Rules Agent"),)), mail()),
    ("list-id", "list", mail((("List-Id", "<klanten.lists.klant.nl>"),)),
     mail((("List-Archive", "<https://x>"),))),
    ("precedence-list", "list", mail((("Precedence", "list"),)),
     mail((("Precedence", "listless"),))),
    ("noreply-with-original", "bounce", mail(sender="no-reply@x.dion.ne.jp", attachments=(RFC822,)),
     mail(sender="no-reply@klant.nl")),
    ("null-return-path", "bounce", mail(return_path=""), mail(return_path="jan@klant.nl")),
    ("bounce-subject", "bounce", mail(subject="Undeliverable: Storing"),
     mail(subject="Re: undeliverable mails in our shop")),
    ("oof-subject", "auto_reply", mail(subject="Automatisch antwoord: Storing"),
     mail(subject="Re: automatisch antwoord werkt niet")),
    ("oof-subject", "auto_reply", mail(subject="Out of Office: Outage"),
     mail(subject="Outage while I was out of office")),
    ("oof-subject", "auto_reply", mail(subject="Afwezig tot 5 mei"),
     mail(subject="Melding afwezig in rooster")),
    ("precedence-bulk", "list", mail((("Precedence", "bulk"),)), mail((("Precedence", "normal"),))),
    ("precedence-bulk", "list", mail((("Precedence", "junk"),)), mail()),
    ("list-unsubscribe", "list", mail((("List-Unsubscribe", "<mailto:u@x.nl>"),)), mail()),
]


@pytest.mark.parametrize("rule, expected, example, counter", TABLE,
                         ids=[f"{t[0]}-{i}" for i, t in enumerate(TABLE)])
def test_rule_fires_on_example_only(rule: str, expected: str, example: ParsedMail,
                                    counter: ParsedMail) -> None:
    got, rules = origin(example)
    assert rule in rules
    assert got == expected
    _, counter_rules = origin(counter)
    assert rule not in counter_rules


def test_every_rule_is_covered_by_the_table() -> None:
    assert {r.name for r in RULES} == {t[0] for t in TABLE}


def test_plain_person() -> None:
    v = decide_origin(mail(), own_addresses=OWN, is_own_message_id=is_own)
    assert v.origin == "person" and v.rules == () and v.reasons == ()


def test_order_own_beats_everything() -> None:
    m = mail((("Auto-Submitted", "auto-replied"), ("List-Id", "<x>")), sender="helpdesk@ours.nl")
    got, rules = origin(m)
    assert got == "own"
    assert rules == ("own-address", "auto-submitted", "list-id")


def test_order_auto_reply_beats_list_and_weak_bounce() -> None:
    m = mail((("Auto-Submitted", "auto-replied"), ("Precedence", "bulk")), return_path="",
             subject="Out of office")
    got, rules = origin(m)
    assert got == "auto_reply"
    assert rules[0] == "auto-submitted"


def test_bulk_with_oof_subject_is_an_auto_reply() -> None:
    got, _ = origin(mail((("Precedence", "bulk"),), subject="Out of office until Monday"))
    assert got == "auto_reply"


def test_reasons_follow_the_rules() -> None:
    v = evaluate(mail((("X-Autoreply", "yes"),)), OriginContext(OWN, is_own))
    assert v.rules == ("autoreply-header",)
    assert v.reasons == ("X-Autoreply: yes",)
