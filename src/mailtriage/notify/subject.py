"""Builds the subject of our mail: "Re: <original> [#NUMBER]", once each, no control characters.

Reply prefixes the customer's mail client added ("Re:", "RE:", "Antw:", "AW:", "SV:", "Re[2]:")
collapse into one "Re:" (forward prefixes are the customer's text and stay); every "[#NUMBER]"
tag of this ticket is removed before one is appended.
Tags of other tickets are kept as the customer's text (a mail never joins another ticket by its
subject). Over-long subjects are cut at a word boundary.
"""

from __future__ import annotations

import re

from mailtriage.notify.address import strip_controls
from mailtriage.notify.wording import Language, check_language

MAX_SUBJECT_TEXT = 180

_PREFIX_RE = re.compile(
    r"^\s*(?:(?:re|aw|antw|antwoord|sv|vs)\s*(?:\[\d+\]|\(\d+\))?\s*[:\uff1a]\s*)+",
    re.IGNORECASE,
)
_TAG_RE = re.compile(r"\s*\[#\s*(\d+)\s*\]\s*")
_EMPTY: dict[Language, str] = {"nl": "Uw bericht", "en": "Your message"}


def ticket_tag(number: int) -> str:
    return f"[#{number}]"


def clean_subject_text(original: str, ticket_number: int | None = None) -> str:
    """The customer's subject without controls, reply prefixes or this ticket's tag."""
    text = strip_controls(original)
    if ticket_number is not None:
        number = str(ticket_number)
        text = _TAG_RE.sub(lambda m: " " if m.group(1) == number else m.group(0), text)
        text = " ".join(text.split())
    previous = None
    while previous != text:
        previous = text
        text = _PREFIX_RE.sub("", text).strip()
    if len(text) > MAX_SUBJECT_TEXT:
        cut = text[:MAX_SUBJECT_TEXT].rsplit(" ", 1)[0] or text[:MAX_SUBJECT_TEXT]
        text = cut.rstrip() + "…"
    return text


def reply_subject(original: str, ticket_number: int, language: str = "nl") -> str:
    """'Re: <original> [#NUMBER]'; with no original subject 'Re: Uw bericht [#NUMBER]'."""
    lang = check_language(language)
    text = clean_subject_text(original, ticket_number) or _EMPTY[lang]
    return f"Re: {text} {ticket_tag(ticket_number)}"


def ticket_subject(text: str, ticket_number: int) -> str:
    """'<text> [#NUMBER]' for mail we start ourselves (updates, alerts)."""
    return f"{clean_subject_text(text, ticket_number)} {ticket_tag(ticket_number)}".strip()
