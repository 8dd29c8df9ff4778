"""Reply subjects: one "Re:", one ticket tag, no control characters."""

from __future__ import annotations

import pytest

from mailtriage.notify.subject import reply_subject, ticket_subject


@pytest.mark.parametrize(("original", "expected"), [
    ("Website down", "Re: Website down [#1234]"),
    ("Re: Website down", "Re: Website down [#1234]"),
    ("RE: re: Antw: AW: Website down", "Re: Website down [#1234]"),
    ("Re[2]: Website down", "Re: Website down [#1234]"),
    ("Re: Website down [#1234]", "Re: Website down [#1234]"),
    ("Re: [#1234] Website down", "Re: Website down [#1234]"),
    ("Re: Website down [#1234] [#1234]", "Re: Website down [#1234]"),
    ("Website [#999] down", "Re: Website [#999] down [#1234]"),
    ("Website [#12345] down", "Re: Website [#12345] down [#1234]"),
    ("Website [#01234] down", "Re: Website [#01234] down [#1234]"),
    ("Website [# 1234 ] down [#999]", "Re: Website down [#999] [#1234]"),
    ("Fwd: Website down", "Re: Fwd: Website down [#1234]"),
    ("x\r\nBcc: a@evil.test", "Re: x Bcc: a@evil.test [#1234]"),
    ("tab\there\x00nul", "Re: tab here nul [#1234]"),
    ("", "Re: Uw bericht [#1234]"),
    ("Re:", "Re: Uw bericht [#1234]"),
    ("Storing bij Ærø 🚑", "Re: Storing bij Ærø 🚑 [#1234]"),
])
def test_reply_subject(original: str, expected: str) -> None:
    assert reply_subject(original, 1234, "nl") == expected


def test_empty_subject_in_english() -> None:
    assert reply_subject("", 7, "en") == "Re: Your message [#7]"


def test_long_subject_is_cut_at_a_word() -> None:
    result = reply_subject("woord " * 100, 5)
    assert result.startswith("Re: woord woord")
    assert result.endswith("… [#5]")
    assert len(result) <= 4 + 180 + 1 + 5


def test_ticket_subject() -> None:
    assert ticket_subject("Update [#12] ", 12) == "Update [#12]"
