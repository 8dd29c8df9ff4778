"""guess_language: Dutch or English by marker words, else the caller's default."""

from __future__ import annotations

import pytest

from mailtriage.ingest.language import guess_language, language_scores


@pytest.mark.parametrize("text, default, expected", [
    ("Beste helpdesk, de website doet het niet meer sinds vanochtend. Kunnen jullie kijken?",
     "en", "nl"),
    ("Hallo, ik heb een vraag over de factuur van maart.", "en", "nl"),
    ("Met vriendelijke groet, Jan", "en", "nl"),
    ("Hi, the website has been down since this morning. Could you please have a look?",
     "nl", "en"),
    ("Dear support, the checkout page shows an error when I try to pay.", "nl", "en"),
    ("Thanks and kind regards, Mary", "nl", "en"),
    ("", "nl", "nl"),
    ("", "en", "en"),
    ("500 Internal Server Error", "nl", "nl"),   # no marker words: default
    ("https://klant.nl/login 404", "en", "en"),
    ("website down", "nl", "nl"),                # one shared word only: default
])
def test_guess_language(text: str, default: str, expected: str) -> None:
    assert guess_language(text, default) == expected  # type: ignore[arg-type]


def test_mixed_text_needs_a_clear_margin() -> None:
    text = "the site is not working, de site werkt niet"  # the/not/working, de/werkt/niet
    nl, en = language_scores(text)
    assert nl == 3 and en == 3
    assert guess_language(text, "en") == "en"
    assert guess_language(text, "nl") == "nl"


def test_only_the_start_is_read() -> None:
    text = "de het een en van " * 10 + "x " * 5000 + "the and of to " * 1000
    assert guess_language(text, "en") == "nl"
