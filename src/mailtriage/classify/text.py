"""Turns a mail's subject and new text into the one string that rules and the model read.

The subject is given twice (it is short and says the most), the body is cut at ``MAX_BODY``
characters (the first lines say what the mail is about; long signatures and logs only slow the
model down). ``guess_language`` is a cheap Dutch/English guess for callers that pass no language.
"""

from __future__ import annotations

import re

MAX_BODY = 2000

_WS = re.compile(r"[ \t\r\f\v]+")
_WORD = re.compile(r"[a-zà-ÿ']+")

_NL = frozenset({"de", "het", "een", "en", "van", "is", "niet", "ik", "we", "wij", "jullie", "u",
    "je", "dat", "op", "voor", "met", "zijn", "er", "ook", "nog", "maar", "bij", "naar", "wordt",
    "kunnen", "graag", "meer", "hebben", "heb", "hoi", "beste", "groet", "groeten",
    "vriendelijke", "bedankt", "alvast", "mijn", "onze", "deze", "wat"})
_EN = frozenset({"the", "a", "an", "and", "of", "is", "not", "i", "we", "you", "your", "that",
    "on", "for", "with", "are", "there", "also", "still", "but", "at", "to", "be", "can",
    "please", "more", "have", "has", "hi", "dear", "regards", "thanks", "thank", "my", "our",
    "this", "what", "it"})


def model_text(subject: str, body: str) -> str:
    """Subject twice plus the start of the body, whitespace collapsed, lower-cased."""
    subject = _WS.sub(" ", subject or "").strip()
    body = _WS.sub(" ", (body or "")[:MAX_BODY]).strip()
    return f"{subject}\n{subject}\n{body}".lower()


def guess_language(text: str) -> str:
    """"nl" or "en" by counting common words; ties (and empty text) go to "nl"."""
    nl = en = 0
    for word in _WORD.findall(text[:2000].lower()):
        if word in _NL:
            nl += 1
        if word in _EN:
            en += 1
    return "en" if en > nl else "nl"
