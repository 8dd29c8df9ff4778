"""Checks an address before we write it into a header or an SMTP envelope.

Every address we send to was written by someone else, so it is checked here, once: no control
characters anywhere (a CR or LF in a display name is an injection attempt, not a typo), a plain
ASCII ``local@domain`` addr-spec (an internationalised domain is converted to its IDNA form; a
non-ASCII local part would need SMTPUTF8 and is refused).
"""

from __future__ import annotations

import re

_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDR_RE = re.compile(rf"^({_LOCAL})@({_LABEL}(?:\.{_LABEL})*)$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")
_BREAK_RE = re.compile(r"[\r\n\x00\u0085\u2028\u2029]")

MAX_ADDRESS_LENGTH = 254


def has_line_break(text: str) -> bool:
    """True when ``text`` holds CR, LF, NUL or a Unicode line separator."""
    return bool(_BREAK_RE.search(text))


def strip_controls(text: str) -> str:
    """``text`` with every control character turned into a space and runs of spaces collapsed."""
    return " ".join(_CONTROL_RE.sub(" ", text).split())


def normalize_address(addr: str) -> str | None:
    """The addr-spec as we would send to it (domain lowercased, IDNA), or None when unusable."""
    if not addr or has_line_break(addr) or _CONTROL_RE.search(addr):
        return None
    addr = addr.strip()
    if addr.count("@") != 1:
        return None
    local, domain = addr.split("@")
    try:
        domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    result = f"{local}@{domain}"
    if len(result) > MAX_ADDRESS_LENGTH or len(local) > 64:
        return None
    if not _ADDR_RE.match(result):
        return None
    return result


def address_problem(addr: str, name: str = "") -> str | None:
    """Why this address cannot be written into our mail, or None when it can."""
    if has_line_break(name):
        return "the display name holds a line break or NUL (header injection attempt)"
    if has_line_break(addr):
        return "the address holds a line break or NUL (header injection attempt)"
    if normalize_address(addr) is None:
        return f"'{strip_controls(addr)[:100]}' is not a valid plain address"
    return None
