"""Decides whether a mail continues an existing ticket or opens a new one (pure; no lookups).

The pipeline looks up three candidates and passes them in:

* ``ours``: the ticket that one of OUR sent Message-IDs in In-Reply-To/References belongs to.
  Our Message-IDs carry a secret token, so referencing one proves the sender saw our mail:
  a follow-up, whoever sends it.
* ``theirs``: the ticket whose stored incoming Message-IDs are referenced. Anyone can copy a
  Message-ID, so this counts only when the sender already takes part in that ticket.
* ``by_subject``: the ticket whose number the subject names (``[#1234]``). Anyone can type a
  number, so this too counts only for a participant.

Everything else opens a new ticket, and the reason says why. Only the top-level headers of the
mail are ever read: a forwarded ``message/rfc822`` never makes a mail a follow-up.

This module is named for its job; it never shadows the stdlib ``threading`` module because
imports are absolute (``mailtriage.ingest.threading``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailtriage.ingest.message import ParsedMail

_TICKET_NUMBER = re.compile(r"\[\s*#\s*(\d{1,9})\s*\]")


@dataclass(frozen=True)
class ThreadLookup:
    """A candidate ticket and the lowercase addresses that take part in it."""

    ticket_id: int | None
    """None for a ticket not stored yet (opened by an earlier mail of the same batch)."""
    number: int
    participants: frozenset[str]


@dataclass(frozen=True)
class ThreadDecision:
    """The ticket a mail continues (None: a new ticket), and why."""

    ticket: ThreadLookup | None
    reason: str

    @property
    def ticket_ref(self) -> int | None:
        """The id of the continued ticket; None for a new ticket (or one not stored yet)."""
        return self.ticket.ticket_id if self.ticket else None


def subject_ticket_number(subject: str) -> int | None:
    """The ticket number a subject names as ``[#1234]`` (the first one), else None."""
    match = _TICKET_NUMBER.search(subject[:2000])
    return int(match.group(1)) if match else None


def decide_thread(mail: ParsedMail, *, ours: ThreadLookup | None, theirs: ThreadLookup | None,
                  by_subject: ThreadLookup | None,
                  subject_number: int | None = None) -> ThreadDecision:
    """Follow-up or new ticket for ``mail``, given the candidates the pipeline looked up."""
    sender = mail.sender.addr.lower() if mail.sender else None
    who = sender or "an unknown sender"
    if ours is not None:
        return ThreadDecision(ours, f"follow-up on #{ours.number}: it answers a message we "
                                    "sent for that ticket")
    if theirs is not None and sender and sender in theirs.participants:
        return ThreadDecision(theirs, f"follow-up on #{theirs.number}: it refers to an earlier "
                                      f"message of that ticket and {sender} takes part in it")
    if by_subject is not None and sender and sender in by_subject.participants:
        return ThreadDecision(by_subject, f"follow-up on #{by_subject.number}: the subject names "
                                          f"it and {sender} takes part in it")
    reasons: list[str] = []
    if theirs is not None:
        reasons.append(f"it refers to a message of #{theirs.number} but {who} does not take "
                       "part in it")
    number = by_subject.number if by_subject is not None else subject_number
    if by_subject is not None:
        reasons.append(f"the subject names #{number} but {who} does not take part in it")
    elif number is not None:
        reasons.append(f"the subject names #{number}, which does not exist")
    if not reasons:
        referenced = bool(mail.in_reply_to or mail.references)
        reasons.append("it refers to no message we know" if referenced
                       else "it is not a reply to any ticket")
    return ThreadDecision(None, "new ticket: " + "; ".join(reasons))
