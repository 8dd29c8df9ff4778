"""Language choice and Dutch/English formatting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mailtriage.web.i18n import TEXTS, format_datetime, format_duration, pick_language, translator

AMS = ZoneInfo("Europe/Amsterdam")


@pytest.mark.parametrize(("chosen", "header", "default", "expected"), [
    ("nl", "en-GB,en;q=0.9", "en", "nl"),          # an explicit choice wins
    (None, "nl-NL,nl;q=0.9,en;q=0.8", "en", "nl"),
    (None, "en-US,en;q=0.9,nl;q=0.5", "nl", "en"),
    (None, "de-DE,de;q=0.9", "nl", "nl"),          # nothing usable: the default
    (None, "de;q=1, en;q=0.2, nl;q=0.7", "en", "nl"),  # highest q among supported
    (None, "nl;q=0", "en", "en"),                  # q=0 means "not acceptable"
    (None, "", "en", "en"),
    ("fr", None, "nl", "nl"),                      # an unknown choice is ignored
    (None, "nl;q=abc", "en", "en"),                # a broken q value counts as 0
])
def test_pick_language(chosen: str | None, header: str | None, default: str,
                       expected: str) -> None:
    assert pick_language(chosen, header, default) == expected


def test_every_text_has_both_languages() -> None:
    for key, (en, nl) in TEXTS.items():
        assert en and nl, key


def test_translator() -> None:
    assert translator("nl")("nav_queue") == "Wachtrij"
    assert translator("en")("nav_queue") == "Queue"
    assert translator("nl")("no_such_key") == "no_such_key"


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", "Tue 10 Mar 2026 14:05"),
    ("nl", "di 10 mrt 2026 14:05"),
])
def test_format_datetime_in_calendar_zone(lang: str, expected: str) -> None:
    # 13:05 UTC is 14:05 in Amsterdam (CET) on 10 March 2026
    moment = datetime(2026, 3, 10, 13, 5, tzinfo=UTC)
    assert format_datetime(moment, AMS, lang) == expected


def test_format_datetime_summer_time() -> None:
    # 10:00 UTC on 1 July is 12:00 CEST
    assert format_datetime(datetime(2026, 7, 1, 10, 0, tzinfo=UTC), AMS, "en").endswith("12:00")


@pytest.mark.parametrize(("delta", "lang", "expected"), [
    (timedelta(minutes=7, seconds=59), "en", "7m"),
    (timedelta(hours=3, minutes=5), "en", "3h 05m"),
    (timedelta(hours=3, minutes=5), "nl", "3u 05m"),
    (timedelta(days=2, hours=4, minutes=30), "en", "2d 4h"),
    (-timedelta(hours=1, minutes=30), "en", "1h 30m"),
])
def test_format_duration(delta: timedelta, lang: str, expected: str) -> None:
    assert format_duration(delta, lang) == expected
