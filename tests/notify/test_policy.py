"""The automatic-reply policy, one row per rule (RFC 3834 and bad-input cases 33-41)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from mailtriage.config import NotifyConfig
from mailtriage.ingest.message import Address, OriginVerdict, Report
from mailtriage.notify.policy import decide_auto_reply
from tests.notify.mails import make_mail

PERSON = OriginVerdict("person")
CFG = NotifyConfig(own_addresses=("support@example.test",))


def decide(mail_kw: dict[str, Any] | None = None, origin: OriginVerdict = PERSON,
           cfg: NotifyConfig = CFG, followup: bool = False, sent: int = 0,
           own: tuple[str, ...] = ("helpdesk@example.test",),
           age: timedelta = timedelta(minutes=1), now: datetime | None = None):
    mail = make_mail(**(mail_kw or {}))
    return decide_auto_reply(mail, origin, cfg, is_followup=followup, replies_in_window=sent,
                             now=now or mail.received_at + age, own_addresses=own)


NO_REPLY_CASES = [
    ("switched off", {}, PERSON, replace(CFG, auto_reply=False), False, 0, "disabled"),
    ("no From", {"sender": None}, PERSON, CFG, False, 0, "no-sender"),
    ("From not an address", {"sender": Address("jan at klant")}, PERSON, CFG, False, 0,
     "no-sender"),
    ("From without domain", {"sender": Address("jan@")}, PERSON, CFG, False, 0, "no-sender"),
    ("CR/LF in display name", {"sender": Address("jan@klant.nl", "Jan\r\nBcc: x@evil.test")},
     PERSON, CFG, False, 0, "unsafe-address"),
    ("LF in address", {"sender": Address("jan@klant.nl\nBcc: x@evil.test")}, PERSON, CFG,
     False, 0, "unsafe-address"),
    ("NUL in display name", {"sender": Address("jan@klant.nl", "Jan\x00")}, PERSON, CFG,
     False, 0, "unsafe-address"),
    ("CR/LF in Reply-To", {"reply_to": (Address("x@klant.nl", "X\r\nCc: a@evil.test"),)},
     PERSON, CFG, False, 0, "unsafe-address"),
    ("parser found an encoded newline in the Subject",
     {"reply_blockers": ("the Subject holds an encoded line break",)}, PERSON, CFG, False, 0,
     "unsafe-mail"),
    ("origin own", {}, OriginVerdict("own", ("own-message-id",), ("In-Reply-To is ours",)),
     CFG, False, 0, "own-mail"),
    ("From is our SMTP address", {"sender": Address("Helpdesk@Example.test")}, PERSON, CFG,
     False, 0, "own-mail"),
    ("From is a configured own address", {"sender": Address("support@example.test")}, PERSON,
     CFG, False, 0, "own-mail"),
    ("origin bounce", {}, OriginVerdict("bounce", ("dsn",)), CFG, False, 0, "bounce"),
    ("delivery report", {"report": Report("dsn", ("<x@y>",))}, PERSON, CFG, False, 0, "bounce"),
    ("null Return-Path", {"return_path": "<>"}, PERSON, CFG, False, 0, "bounce"),
    ("empty Return-Path", {"return_path": ""}, PERSON, CFG, False, 0, "bounce"),
    ("multipart/report", {"headers": (("Content-Type",
                                        "multipart/report; report-type=delivery-status"),)},
     PERSON, CFG, False, 0, "bounce"),
    ("origin auto reply", {}, OriginVerdict("auto_reply", ("auto-submitted",)), CFG, False, 0,
     "auto-submitted"),
    ("Auto-Submitted: auto-replied", {"headers": (("Auto-Submitted", "auto-replied"),)},
     PERSON, CFG, False, 0, "auto-submitted"),
    ("Auto-Submitted: auto-generated", {"headers": (("auto-submitted", "Auto-Generated"),)},
     PERSON, CFG, False, 0, "auto-submitted"),
    ("X-Autoreply", {"headers": (("X-Autoreply", "yes"),)}, PERSON, CFG, False, 0,
     "auto-submitted"),
    ("X-Auto-Response-Suppress: OOF", {"headers": (("X-Auto-Response-Suppress", "DR, OOF"),)},
     PERSON, CFG, False, 0, "suppress-requested"),
    ("X-Auto-Response-Suppress: All", {"headers": (("X-Auto-Response-Suppress", "All"),)},
     PERSON, CFG, False, 0, "suppress-requested"),
    ("origin list", {}, OriginVerdict("list", ("list-id",)), CFG, False, 0, "mailing-list"),
    ("List-Id", {"headers": (("List-Id", "<devs.lists.example>"),)}, PERSON, CFG, False, 0,
     "mailing-list"),
    ("List-Unsubscribe", {"headers": (("List-Unsubscribe", "<mailto:u@x.test>"),)}, PERSON,
     CFG, False, 0, "mailing-list"),
    ("Precedence: bulk", {"headers": (("Precedence", "bulk"),)}, PERSON, CFG, False, 0,
     "mailing-list"),
    ("Precedence: junk", {"headers": (("Precedence", "Junk"),)}, PERSON, CFG, False, 0,
     "mailing-list"),
    ("noreply", {"sender": Address("noreply@shop.test")}, PERSON, CFG, False, 0,
     "system-sender"),
    ("no-reply", {"sender": Address("no-reply@shop.test")}, PERSON, CFG, False, 0,
     "system-sender"),
    ("do-not-reply", {"sender": Address("do-not-reply@shop.test")}, PERSON, CFG, False, 0,
     "system-sender"),
    ("MAILER-DAEMON", {"sender": Address("MAILER-DAEMON@mx.shop.test")}, PERSON, CFG, False, 0,
     "system-sender"),
    ("postmaster", {"sender": Address("postmaster@shop.test")}, PERSON, CFG, False, 0,
     "system-sender"),
    ("bounce", {"sender": Address("bounce@shop.test")}, PERSON, CFG, False, 0,
     "system-sender"),
    ("bounces+tag", {"sender": Address("bounces+1234-jan=klant.nl@shop.test")}, PERSON, CFG,
     False, 0, "system-sender"),
    ("list owner", {"sender": Address("owner-devs@lists.test")}, PERSON, CFG, False, 0,
     "system-sender"),
    ("list request", {"sender": Address("devs-request@lists.test")}, PERSON, CFG, False, 0,
     "system-sender"),
    ("follow-up", {}, PERSON, CFG, True, 0, "followup"),
    ("rate limit reached", {}, PERSON, CFG, False, 3, "rate-limit"),
    ("rate limit exceeded", {}, PERSON, CFG, False, 50, "rate-limit"),
]
# (too-old is driven by its own table below: it needs the age of the mail)


@pytest.mark.parametrize(("label", "mail_kw", "origin", "cfg", "followup", "sent", "rule"),
                         NO_REPLY_CASES, ids=[c[0] for c in NO_REPLY_CASES])
def test_no_reply_carries_its_reason(label: str, mail_kw: dict[str, Any],
                                     origin: OriginVerdict, cfg: NotifyConfig, followup: bool,
                                     sent: int, rule: str) -> None:
    decision = decide(mail_kw, origin, cfg, followup, sent)
    assert decision.send is False
    assert decision.recipient is None
    assert decision.rule == rule
    assert decision.reason.startswith("no automatic reply: ")
    assert len(decision.reason) > len("no automatic reply: ") + 10


SEND_CASES = [
    ("ordinary customer", {}, CFG, False, 0),
    ("Auto-Submitted: no", {"headers": (("Auto-Submitted", "no"),)}, CFG, False, 0),
    ("suppress only read receipts", {"headers": (("X-Auto-Response-Suppress", "DR, RN"),)},
     CFG, False, 0),
    ("Precedence: first-class", {"headers": (("Precedence", "first-class"),)}, CFG, False, 0),
    ("local part merely starts with noreply", {"sender": Address("noreplyjan@klant.nl")},
     CFG, False, 0),
    ("bouncer is a person", {"sender": Address("bouncer@club.test")}, CFG, False, 0),
    ("follow-ups allowed", {}, replace(CFG, reply_to_followups=True), True, 0),
    ("one below the rate limit", {}, CFG, False, 2),
    ("rate limit of 1, none sent", {}, replace(CFG, rate_limit_count=1), False, 0),
    ("IDN domain", {"sender": Address("jan@bücher.test")}, CFG, False, 0),
]


@pytest.mark.parametrize(("label", "mail_kw", "cfg", "followup", "sent"), SEND_CASES,
                         ids=[c[0] for c in SEND_CASES])
def test_reply_is_sent(label: str, mail_kw: dict[str, Any], cfg: NotifyConfig, followup: bool,
                       sent: int) -> None:
    decision = decide(mail_kw, PERSON, cfg, followup, sent)
    assert decision.send is True, decision.reason
    assert decision.rule == "send"
    assert decision.recipient is not None


@pytest.mark.parametrize(("limit", "sent", "send"),
                         [(1, 0, True), (1, 1, False), (3, 2, True), (3, 3, False),
                          (3, 4, False), (10, 9, True), (10, 10, False)])
def test_rate_limit_boundary(limit: int, sent: int, send: bool) -> None:
    decision = decide(cfg=replace(CFG, rate_limit_count=limit), sent=sent)
    assert decision.send is send
    if not send:
        assert f"already got {sent} automatic replies" in decision.reason
        assert f"limit {limit}" in decision.reason


@pytest.mark.parametrize(("limit", "age", "send", "words"), [
    # a cron run minutes later, and a run after a weekend's outage: answered
    (72, timedelta(minutes=1), True, ""),
    (72, timedelta(hours=64), True, ""),
    # exactly at the limit still answered; a second more is too old
    (72, timedelta(hours=72), True, ""),
    (72, timedelta(hours=72, seconds=1), False, "72 hours ago, more than 72 hours"),
    # a first run over a mailbox with months of old mail
    (72, timedelta(days=120), False, "120 days ago"),
    (1, timedelta(hours=5), False, "5 hours ago, more than 1 hour "),
    # 0: no limit
    (0, timedelta(days=3650), True, ""),
    # a mail dated by a server clock ahead of ours is not old
    (72, timedelta(hours=-2), True, ""),
])
def test_mail_too_old_for_an_automatic_reply(limit: int, age: timedelta, send: bool,
                                              words: str) -> None:
    decision = decide(cfg=replace(CFG, reply_max_age_hours=limit), age=age)
    assert decision.send is send, decision.reason
    if not send:
        assert decision.rule == "too-old"
        assert words in decision.reason
        assert "notify.reply_max_age_hours" in decision.reason


def test_rate_limit_reason_names_the_window() -> None:
    decision = decide(cfg=replace(CFG, rate_limit_window_minutes=60 * 24 * 7), sent=3)
    assert "in the last 7 days" in decision.reason


def test_answers_from_and_notes_reply_to_elsewhere() -> None:
    decision = decide({"reply_to": (Address("boss@other.test", "Boss"),)})
    assert decision.send is True
    assert decision.recipient == Address("jan@klant.nl", "Jan Jansen")
    assert any("Reply-To points at boss@other.test" in n and "jan@klant.nl" in n
               for n in decision.notes)


def test_reply_to_same_as_from_gives_no_note() -> None:
    decision = decide({"reply_to": (Address("JAN@KLANT.NL"),)})
    assert decision.send is True
    assert not any("Reply-To" in n for n in decision.notes)


def test_recipient_domain_is_normalised_and_name_cleaned() -> None:
    decision = decide({"sender": Address("Jan@Bücher.TEST", "Jan\tJansen")})
    assert decision.recipient == Address("Jan@xn--bcher-kva.test", "Jan Jansen")


def test_several_reasons_first_is_reason_rest_are_notes() -> None:
    decision = decide({"sender": Address("noreply@shop.test"),
                       "headers": (("List-Id", "<x>"),)}, followup=True, sent=9)
    assert decision.rule == "mailing-list"
    notes = " | ".join(decision.notes)
    assert "also: the sender noreply@shop.test is a system address" in notes
    assert "also: the mail follows up an existing ticket" in notes
    assert "also: noreply@shop.test already got 9" in notes


def test_envelope_sender_differing_from_from_is_noted() -> None:
    decision = decide({"return_path": "<bounces-77@mailer.shop.test>"})
    assert decision.send is True
    assert any("envelope sender bounces-77@mailer.shop.test differs" in n
               for n in decision.notes)


def test_loop_fifty_mails_from_one_sender_get_at_most_limit_replies() -> None:
    """Bad-input case 38: the caller counts queued replies; only the first ones go out."""
    queued = 0
    for _ in range(50):
        if decide(sent=queued).send:
            queued += 1
    assert queued == CFG.rate_limit_count
