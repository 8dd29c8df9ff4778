"""Guesses whether a mail is Dutch or English by counting frequent function words.

Only the first few thousand characters are looked at, so the cost does not grow with the mail.
A guess needs a clear margin; otherwise the caller's default language is returned.
"""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["nl", "en"]

_WORD = re.compile(r"[a-zà-ÿ']+")
_SAMPLE_CHARS = 4000

# Frequent words of each language that are rare in the other. Words both share ("is", "in",
# "over", "was", "had", "even", "website") are left out on purpose.
NL_WORDS = frozenset({
    "de", "het", "een", "en", "van", "ik", "je", "jij", "u", "uw", "dat", "die", "niet", "op",
    "te", "zijn", "er", "maar", "om", "met", "voor", "ook", "als", "bij", "nog", "wel", "naar",
    "kan", "heb", "hebben", "heeft", "wordt", "worden", "werd", "dit", "deze", "wat", "zou",
    "kunnen", "moet", "graag", "dank", "bedankt", "alvast", "groet", "groeten", "vriendelijke",
    "mijn", "onze", "ons", "hij", "zij", "ze", "gaat", "gaan", "geen", "nu", "al", "omdat",
    "waar", "wanneer", "hoe", "welke", "sinds", "meer", "dan", "toch", "vandaag", "morgen",
    "gisteren", "zien", "wij", "probleem", "werkt", "doet", "fout", "melding", "klant", "vraag",
    "aub", "svp", "hierbij", "bijgevoegd", "beste", "hallo", "goedemorgen", "goedemiddag", "mvg",
})
EN_WORDS = frozenset({
    "the", "and", "of", "to", "a", "you", "your", "it", "that", "this", "not", "on", "with",
    "for", "are", "be", "have", "has", "as", "at", "by", "from", "but", "or", "can", "could",
    "would", "should", "will", "do", "does", "did", "please", "thanks", "thank", "regards",
    "kind", "best", "dear", "hi", "hello", "my", "our", "i", "they", "he", "she", "there",
    "their", "what", "when", "how", "which", "since", "more", "than", "still", "today",
    "tomorrow", "yesterday", "see", "working", "works", "issue", "error", "problem", "customer",
    "question", "attached", "regarding", "any", "been", "were", "an", "all", "just", "get", "got",
})


def language_scores(text: str) -> tuple[int, int]:
    """How many Dutch and how many English marker words the start of ``text`` holds."""
    words = _WORD.findall(text[:_SAMPLE_CHARS].lower())
    nl = sum(1 for w in words if w in NL_WORDS)
    en = sum(1 for w in words if w in EN_WORDS)
    return nl, en


def guess_language(text: str, default: Language = "nl") -> Language:
    """``nl`` or ``en`` when the marker words say so clearly, else ``default``.

    Clearly means at least two marker words and a quarter more than the other language.
    """
    nl, en = language_scores(text)
    if nl >= 2 and nl * 4 > en * 5:
        return "nl"
    if en >= 2 and en * 4 > nl * 5:
        return "en"
    return default
