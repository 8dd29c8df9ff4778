"""Separates what a sender newly wrote from the quoted history and the signature below it.

Works line by line. Every pattern is anchored and only tried on lines of bounded length, so a
1 MB single-line body costs one pass and no regex backtracking. Recognised, in Dutch and English:

* attribution lines, also wrapped over up to three lines: ``On <date>, <name> wrote:``,
  ``Op <datum> schreef <naam>:``, ``<naam> schreef op <datum>:``, Apple Mail's
  ``Op <datum> om <tijd> heeft <naam> het volgende geschreven:``;
* separators: ``-----Original Message-----``, ``-----Oorspronkelijk bericht-----``;
* Outlook header blocks: ``From:``/``Van:`` followed by ``Sent:``/``Verzonden:``/``Date:``/
  ``To:``/``Aan:``/``Subject:``/``Onderwerp:``, with or without an underscore rule above;
* ``>`` quoted lines;
* signatures: the ``-- `` delimiter, mobile taglines (``Sent from my iPhone``, ``Verzonden
  vanaf mijn iPhone``), and a short closing block that starts with a sign-off such as
  ``Met vriendelijke groet`` or ``Kind regards``.

Top-posted replies lose everything from the first history marker on. Inline replies (answers
between ``>`` lines) keep every unquoted line. Forwarded messages are content, never history.
When nothing new would remain, the whole text (minus the signature) is kept instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MAX_MARK = 400  # longer lines are never markers
_ATTR_START = re.compile(r"^(?:on|op|am|le|el)\s", re.I)
_WRITER_VERBS = ("wrote", "writes", "schreef", "geschreven", "schrieb", r"a\s+écrit", "escribió")
"""The verbs of an attribution line; the ASCII ones are plain words (``_may_name_a_writer``)."""
_ATTR_END = re.compile(rf"\b(?:{'|'.join(_WRITER_VERBS)})\b[^:]{{0,200}}:\s*$", re.I)
_ATTR_SCHREEF_OP = re.compile(r"^\S.{0,200}\s(?:schreef|wrote)\s+(?:op|on)\s.{1,200}:\s*$", re.I)
_ASCII_VERBS = tuple(v for v in _WRITER_VERBS if v.isascii())
_SEPARATOR = re.compile(
    r"^[-_=*\s]{2,}\s*(?:original message|oorspronkelijk (?:e-?mail)?bericht|origineel bericht|"
    r"ursprüngliche nachricht|message d'origine|reply message)\s*[-_=*\s]{2,}$", re.I)
_FORWARD = re.compile(
    r"^[-_=*\s]*(?:forwarded message|doorgestuurd bericht|begin forwarded message|"
    r"begin doorgestuurd bericht|weitergeleitete nachricht)\b", re.I)
_RULE = re.compile(r"^[_\-=]{10,}\s*$")
_HDR_FROM = re.compile(r"^\*?(?:from|van|von|de)\s*:\*?\s*\S", re.I)
_HDR_OTHER = re.compile(
    r"^\*?(?:sent|verzonden|date|datum|gesendet|envoyé|to|aan|an|à|cc|subject|onderwerp|"
    r"betreff|objet)\s*:", re.I)
_SIG_DASHES = re.compile(r"^--\s?$")
_MOBILE = re.compile(
    r"^(?:sent from my|sent from outlook|sent with|get outlook for|verzonden (?:vanaf|met|van)|"
    r"verstuurd (?:vanaf|met|van)|outlook voor (?:ios|android)|download outlook)\b", re.I)
_SIGN_OFF = re.compile(
    r"^(?:met\s+)?(?:(?:vriendelijke|hartelijke|beste|fijne|zonnige|warme)\s+)?groet(?:en|jes)?"
    r"|^m\.?\s?v\.?\s?g\.?"
    r"|^(?:with\s+)?(?:kind|best|warm|many)(?:est)?\s+(?:regards|wishes|thanks)"
    r"|^(?:regards|cheers|thanks|thank\s+you|sincerely|yours\s+(?:sincerely|truly)|best"
    r"|bedankt|dank\s+(?:je|u)(?:\s+wel)?|alvast\s+bedankt|hoogachtend|groetjes)$", re.I)
_SIGN_OFF_TAIL = re.compile(r"[\s,.!]*$")
_PS = re.compile(r"^p\.?\s?s\.?[\s:]", re.I)
_BLANK_RUN = re.compile(r"\n{3,}")
_SIGNATURE_MAX_LINES = 15


@dataclass(frozen=True)
class QuoteSplit:
    """A text cut into the new part, the quoted history and the signature."""

    new_text: str
    quoted: str
    signature: str
    markers: tuple[str, ...] = ()
    kept_whole: bool = False


def _is_quoted(line: str) -> bool:
    return line.lstrip(" \t").startswith(">")


def _short(line: str) -> str:
    return line.strip() if len(line) <= _MAX_MARK else ""


def _may_name_a_writer(line: str) -> bool:
    """False when ``line`` holds none of the verbs ``_ATTR_END`` and ``_ATTR_SCHREEF_OP``
    look for: a cheap test first, as ``re`` tries those at every position of every line.
    ASCII lines only (an ASCII line cannot hold the other verbs, and other characters may
    match ASCII letters under ``re.IGNORECASE``): any other line goes to the expressions."""
    if not line.isascii():
        return True
    lowered = line.lower()
    return any(verb in lowered for verb in _ASCII_VERBS)


def _attribution_at(lines: list[str], i: int) -> int:
    """Number of lines (1-3) of an attribution starting at ``i``, or 0."""
    first = _short(lines[i])
    if not first:
        return 0
    writer = _may_name_a_writer(first)
    if writer and _ATTR_SCHREEF_OP.match(first):
        return 1
    if _ATTR_START.match(first):
        joined = first
        for n in range(1, 4):
            if _ATTR_END.search(joined):
                return n
            if i + n >= len(lines):
                break
            nxt = _short(lines[i + n])
            if not nxt:
                break
            joined = f"{joined} {nxt}"
        return 0
    if writer and _ATTR_END.search(first) and len(first) <= 300:
        # "Jan de Vries <jan@klant.nl> wrote:" counts only when a quote follows.
        for j in range(i + 1, min(i + 3, len(lines))):
            if lines[j].strip():
                return 1 if _is_quoted(lines[j]) else 0
    return 0


def _header_block_at(lines: list[str], i: int) -> bool:
    if not _HDR_FROM.match(_short(lines[i])):
        return False
    others = 0
    for j in range(i + 1, min(i + 7, len(lines))):
        line = _short(lines[j])
        if _HDR_OTHER.match(line):
            others += 1
        elif line and others == 0 and j > i + 1:
            return False
    return others >= 2


def _find_history(lines: list[str]) -> tuple[int, int, str]:
    """(index, marker length, kind) of the first history marker, or (-1, 0, "")."""
    for i, line in enumerate(lines):
        stripped = _short(line)
        if not stripped or _is_quoted(line):
            continue
        if _FORWARD.match(stripped):
            return -1, 0, ""  # what follows is forwarded content, not history
        if _SEPARATOR.match(stripped):
            return i, 1, "separator"
        if _RULE.match(stripped) and i + 1 < len(lines) and _header_block_at(lines, i + 1):
            return i, 1, "header block"
        if _header_block_at(lines, i):
            return i, 0, "header block"
        n = _attribution_at(lines, i)
        if n:
            return i, n, "attribution"
    return -1, 0, ""


def _is_inline(tail: list[str]) -> bool:
    """Whether unquoted answers sit between or after the quoted lines of ``tail``."""
    seen_quote = False
    for line in tail:
        if _is_quoted(line):
            seen_quote = True
        elif line.strip() and seen_quote:
            stripped = line.strip()
            return not (_SIG_DASHES.match(stripped) or _MOBILE.match(_short(line)))
        elif line.strip() and not seen_quote:
            return False  # unquoted history right after the attribution: not inline
    return False


def _signature_start(lines: list[str]) -> int:
    for i, line in enumerate(lines):
        if _SIG_DASHES.match(line.rstrip("\n")) or line in ("-- ", "--"):
            return i
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    for i in nonblank[-3:]:
        if _MOBILE.match(_short(lines[i])):
            return i
    for i in nonblank:
        stripped = _short(lines[i])
        if not stripped or len(stripped) > 60:
            continue
        core = _SIGN_OFF_TAIL.sub("", stripped)
        if not _SIGN_OFF.fullmatch(core):
            continue
        rest = [line for line in lines[i + 1:] if line.strip()]
        if len(rest) <= _SIGNATURE_MAX_LINES and not any(_PS.match(r.strip()) for r in rest):
            return i
    return -1


def _tidy(lines: list[str]) -> str:
    return _BLANK_RUN.sub("\n\n", "\n".join(line.rstrip() for line in lines)).strip()


def split_reply(text: str) -> QuoteSplit:
    """Cut ``text`` (lines separated by ``\\n``) into new text, quoted history and signature."""
    lines = text.split("\n")
    markers: list[str] = []
    quoted: list[str] = []
    index, length, kind = _find_history(lines)
    body = lines
    if index >= 0:
        tail = lines[index + length:]
        if kind == "attribution" and _is_inline(tail):
            markers.append("inline reply")
            quoted.extend(lines[index:index + length])
            body = lines[:index] + tail
        else:
            markers.append(kind)
            quoted.extend(lines[index:])
            body = lines[:index]
    kept: list[str] = []
    for line in body:
        if _is_quoted(line):
            quoted.append(line)
        else:
            kept.append(line)
    if len(kept) != len(body) and "quoted lines" not in markers:
        markers.append("quoted lines")
    sig_at = _signature_start(kept)
    signature: list[str] = []
    if sig_at >= 0:
        markers.append("signature")
        signature = kept[sig_at:]
        kept = kept[:sig_at]
    new_text = _tidy(kept)
    if new_text or not text.strip():
        return QuoteSplit(new_text, _tidy(quoted), _tidy(signature), tuple(markers))
    # Nothing new: keep everything but the signature rather than lose the content.
    whole = text.split("\n")
    cut = _signature_start(whole)
    return QuoteSplit(_tidy(whole[:cut] if cut > 0 else whole), _tidy(quoted),
                      _tidy(signature), tuple(markers), kept_whole=True)


def new_text_of(text: str) -> str:
    """The newly written part of ``text``: no quoted history, no signature."""
    return split_reply(text).new_text
