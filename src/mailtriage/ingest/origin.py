"""Decides where a parsed mail comes from: a person, an auto-reply, a bounce, a list, or ourselves.

Small named rules, each with a ``check(mail, context)`` that returns a reason or None. All rules
are evaluated; the origin is that of the first rule in ``RULES`` order that fired, and the
verdict lists every rule that fired with its reason (the deciding one first).

The order is: own mail (loop protection beats everything), strong bounce signs, RFC 3834 and
vendor auto-reply headers, list headers, then the weaker signs (a null Return-Path, a bounce or
out-of-office subject, ``Precedence: bulk``/``junk``, ``List-Unsubscribe``).

Decisions the standards leave open:

* ``Precedence: bulk`` or ``junk`` alone means mass mail (newsletters, notifications): origin
  ``list``, so no ticket and no reply. With an auto-reply header or an out-of-office subject the
  auto-reply rules win, because those come first.
* ARF abuse reports (``multipart/report; report-type=feedback-report``) are automatic reports
  about mail we sent: origin ``bounce``, so they are linked to the original and never answered.
* A null Return-Path (``<>``) without any other sign counts as a bounce; RFC 3834 auto-replies
  also use it, but they carry their own headers that are checked first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from mailtriage.ingest.message import Origin, OriginVerdict, ParsedMail
from mailtriage.ingest.parse import is_bounce_sender


@dataclass(frozen=True)
class OriginContext:
    """What the caller knows: our own addresses and a lookup for our own Message-IDs."""

    own_addresses: frozenset[str]
    is_own_message_id: Callable[[str], bool]


@dataclass(frozen=True)
class OriginRule:
    """One named rule: when ``check`` returns a reason, the mail has ``origin``."""

    name: str
    origin: Origin
    description: str
    check: Callable[[ParsedMail, OriginContext], str | None]


def _value(mail: ParsedMail, name: str) -> str:
    return (mail.header(name) or "").strip()


# ---------------------------------------------------------------------------------------------
# own


def _own_address(mail: ParsedMail, ctx: OriginContext) -> str | None:
    if mail.sender and mail.sender.addr.lower() in ctx.own_addresses:
        return f"From {mail.sender.addr} is one of our own addresses"
    return None


def _own_message_id(mail: ParsedMail, ctx: OriginContext) -> str | None:
    if mail.message_id and ctx.is_own_message_id(mail.message_id):
        return f"Message-ID {mail.message_id} is one we generated"
    return None


def _own_marker(mail: ParsedMail, ctx: OriginContext) -> str | None:
    for name, _ in mail.headers:
        if name.lower().startswith("x-mailtriage-"):
            return f"carries our own {name} header"
    return None


# ---------------------------------------------------------------------------------------------
# bounce


def _delivery_report(mail: ParsedMail, ctx: OriginContext) -> str | None:
    if mail.report is not None and mail.report.kind == "dsn":
        return "multipart/report delivery status notification (RFC 3464)"
    return None


def _feedback_report(mail: ParsedMail, ctx: OriginContext) -> str | None:
    if mail.report is not None and mail.report.kind == "arf":
        return "abuse feedback report (ARF, report-type=feedback-report)"
    if _value(mail, "Feedback-Type"):
        return "Feedback-Type header (ARF)"
    return None


def _daemon_sender(mail: ParsedMail, ctx: OriginContext) -> str | None:
    raw_from = _value(mail, "From")
    if is_bounce_sender(mail.sender, raw_from):
        who = mail.sender.addr if mail.sender else raw_from[:80]
        return f"sender is a mail system ({who})"
    return None


def _failed_recipients(mail: ParsedMail, ctx: OriginContext) -> str | None:
    if _value(mail, "X-Failed-Recipients"):
        return "X-Failed-Recipients header"
    return None


def _other_report(mail: ParsedMail, ctx: OriginContext) -> str | None:
    if mail.report is not None and mail.report.kind == "other":
        return "non-standard bounce (delivery failure subject with a null Return-Path)"
    return None


_BOUNCE_SUBJECT = re.compile(
    r"^(?:undeliver(?:able|ed)\b|delivery status notification|mail delivery (?:failed|failure)"
    r"|returned mail\b|failure notice|non[- ]?delivery|delivery failure|message not delivered"
    r"|niet (?:afgeleverd|bezorgd)|onbestelbaar|unzustellbar|undelivered mail)", re.I)


_NOREPLY = re.compile(r"^(?:no-?reply|do-?not-?reply|donotreply)\b", re.I)


def _noreply_with_original(mail: ParsedMail, ctx: OriginContext) -> str | None:
    if not mail.sender or not _NOREPLY.match(mail.sender.addr):
        return None
    if any(a.content_type in ("message/rfc822", "text/rfc822-headers") for a in mail.attachments):
        return "a no-reply sender returning an original message (non-standard bounce)"
    return None


def _null_return_path(mail: ParsedMail, ctx: OriginContext) -> str | None:
    if mail.return_path == "":
        return "null Return-Path <> (sent by a mail system)"
    return None


def _bounce_subject(mail: ParsedMail, ctx: OriginContext) -> str | None:
    if _BOUNCE_SUBJECT.match(mail.subject):
        return f"delivery failure subject {mail.subject[:80]!r}"
    return None


# ---------------------------------------------------------------------------------------------
# auto_reply


def _auto_submitted(mail: ParsedMail, ctx: OriginContext) -> str | None:
    value = _value(mail, "Auto-Submitted")
    if value and value.split(";", 1)[0].strip().lower() != "no":
        return f"Auto-Submitted: {value[:60]} (RFC 3834)"
    return None


def _autoreply_headers(mail: ParsedMail, ctx: OriginContext) -> str | None:
    for name in ("X-Autoreply", "X-Autorespond", "X-Autogenerated", "X-AutoResponse"):
        value = _value(mail, name)
        if mail.header(name) is not None and value.lower() not in ("no", "false", "0"):
            return f"{name}: {value[:60]}"
    return None


def _auto_response_suppress(mail: ParsedMail, ctx: OriginContext) -> str | None:
    value = _value(mail, "X-Auto-Response-Suppress")
    tokens = {t.strip().lower() for t in re.split(r"[,\s]+", value) if t.strip()}
    if tokens & {"oof", "autoreply", "all"}:
        return f"X-Auto-Response-Suppress: {value[:60]}"
    return None


def _precedence_auto_reply(mail: ParsedMail, ctx: OriginContext) -> str | None:
    if _value(mail, "Precedence").lower() == "auto_reply":
        return "Precedence: auto_reply"
    return None


def _exchange_generated(mail: ParsedMail, ctx: OriginContext) -> str | None:
    if _value(mail, "X-MS-Exchange-Generated-Message-Source") or _value(
            mail, "X-MS-Exchange-Inbox-Rules-Loop"):
        return "generated by an Exchange rule or out-of-office assistant"
    return None


_OOF_SUBJECT = re.compile(
    r"^(?:automatisch antwoord|automatisch bericht|autom\. antwoord|automatic reply|auto[- ]?reply"
    r"|autoreply|auto[- ]?respon(?:se|der|s)|out of (?:the )?office|afwezig|afwezigheid"
    r"|niet aanwezig|vakantie|op vakantie|away from (?:the )?office|on vacation|vacation reply"
    r"|abwesenheitsnotiz|réponse automatique|away until)\b", re.I)


def _oof_subject(mail: ParsedMail, ctx: OriginContext) -> str | None:
    if _OOF_SUBJECT.match(mail.subject.lstrip()):
        return f"out-of-office subject {mail.subject[:80]!r}"
    return None


# ---------------------------------------------------------------------------------------------
# list


def _list_id(mail: ParsedMail, ctx: OriginContext) -> str | None:
    value = _value(mail, "List-Id")
    if value:
        return f"List-Id: {value[:80]}"
    if _value(mail, "Mailing-List") or _value(mail, "List-Post"):
        return "mailing-list header (Mailing-List / List-Post)"
    return None


def _precedence_list(mail: ParsedMail, ctx: OriginContext) -> str | None:
    if _value(mail, "Precedence").lower() == "list":
        return "Precedence: list"
    return None


def _precedence_bulk(mail: ParsedMail, ctx: OriginContext) -> str | None:
    value = _value(mail, "Precedence").lower()
    if value in ("bulk", "junk"):
        return f"Precedence: {value} (mass mail)"
    return None


def _list_unsubscribe(mail: ParsedMail, ctx: OriginContext) -> str | None:
    if _value(mail, "List-Unsubscribe"):
        return "List-Unsubscribe header (newsletter or list)"
    return None


RULES: tuple[OriginRule, ...] = (
    OriginRule("own-address", "own", "From is one of our own addresses", _own_address),
    OriginRule("own-message-id", "own", "the Message-ID is one we generated", _own_message_id),
    OriginRule("own-marker", "own", "an X-Mailtriage-* header we put on outgoing mail",
               _own_marker),
    OriginRule("delivery-report", "bounce", "multipart/report delivery status (RFC 3464)",
               _delivery_report),
    OriginRule("feedback-report", "bounce", "ARF abuse feedback report", _feedback_report),
    OriginRule("daemon-sender", "bounce", "From MAILER-DAEMON, postmaster or a mail system",
               _daemon_sender),
    OriginRule("failed-recipients", "bounce", "X-Failed-Recipients header", _failed_recipients),
    OriginRule("other-report", "bounce", "non-standard bounce found by the parser",
               _other_report),
    OriginRule("auto-submitted", "auto_reply", "Auto-Submitted other than 'no' (RFC 3834)",
               _auto_submitted),
    OriginRule("autoreply-header", "auto_reply", "X-Autoreply / X-Autorespond and similar",
               _autoreply_headers),
    OriginRule("auto-response-suppress", "auto_reply",
               "X-Auto-Response-Suppress with OOF, AutoReply or All", _auto_response_suppress),
    OriginRule("precedence-auto-reply", "auto_reply", "Precedence: auto_reply",
               _precedence_auto_reply),
    OriginRule("exchange-generated", "auto_reply", "Exchange rule or out-of-office assistant",
               _exchange_generated),
    OriginRule("list-id", "list", "List-Id or another mailing-list header", _list_id),
    OriginRule("precedence-list", "list", "Precedence: list", _precedence_list),
    OriginRule("noreply-with-original", "bounce",
               "a no-reply sender returning an original message", _noreply_with_original),
    OriginRule("null-return-path", "bounce", "null Return-Path <>", _null_return_path),
    OriginRule("bounce-subject", "bounce", "a delivery-failure subject", _bounce_subject),
    OriginRule("oof-subject", "auto_reply", "an out-of-office subject (weaker sign)",
               _oof_subject),
    OriginRule("precedence-bulk", "list", "Precedence: bulk or junk (mass mail)",
               _precedence_bulk),
    OriginRule("list-unsubscribe", "list", "List-Unsubscribe (weaker sign)", _list_unsubscribe),
)


def evaluate(mail: ParsedMail, context: OriginContext,
             rules: tuple[OriginRule, ...] = RULES) -> OriginVerdict:
    """Run ``rules`` in order; the first that fires decides, all that fire are listed."""
    fired: list[tuple[OriginRule, str]] = []
    for rule in rules:
        reason = rule.check(mail, context)
        if reason is not None:
            fired.append((rule, reason))
    if not fired:
        return OriginVerdict("person")
    return OriginVerdict(fired[0][0].origin, tuple(r.name for r, _ in fired),
                         tuple(reason for _, reason in fired))


def decide_origin(mail: ParsedMail, *, own_addresses: frozenset[str],
                  is_own_message_id: Callable[[str], bool]) -> OriginVerdict:
    """The origin of ``mail``; ``own_addresses`` are lowercase addresses of this helpdesk."""
    context = OriginContext(frozenset(a.lower() for a in own_addresses), is_own_message_id)
    return evaluate(mail, context)
