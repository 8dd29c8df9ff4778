"""The literal shortcut in front of each rule pattern never changes whether a rule fires."""

from __future__ import annotations

import re

import pytest

from mailtriage.classify.rules import _needles, load_rules, parse_rules

TEXTS = [
    "de webshop ligt eruit sinds vanochtend, klanten krijgen een foutmelding bij afrekenen",
    "error 503 on checkout since the last deploy; payments fail for every customer",
    "graag zo snel mogelijk een offerte voor een nieuwe pagina met vacatures",
    "could you please add a careers page? there is no rush, next month is fine",
    "bedankt voor de snelle hulp, alles werkt weer",
    "alvast bedankt! het contactformulier werkt niet meer",
    "hoe kan ik zelf een gebruiker aanmaken in het cms?",
    "the site went completely down at 9:00 and is still down",
    "",
    # characters re.IGNORECASE equates with ASCII letters although str.lower() does not
    "error 5\u017f03 on check\u017fout",
    "the \u017fite i\u017f down",
    "we get an error me\u017f\u017fage",
    "werkt \u0131n\u0131eens niet meer",
    "ERROR 500 ON CHECKOUT",
]


def _plain(rule: object, text: str) -> bool:
    patterns = rule.patterns  # type: ignore[attr-defined]
    unless = rule.unless  # type: ignore[attr-defined]
    return any(p.search(text) for p in patterns) and not any(u.search(text) for u in unless)


@pytest.mark.parametrize("text", TEXTS)
def test_bundled_rules_fire_exactly_as_their_expressions(text: str) -> None:
    for rule in load_rules().rules:
        assert rule.fires(text) == _plain(rule, text), rule.name


@pytest.mark.parametrize(("pattern", "expected"), [
    (r"\bgraag\b", ({"graag"},)),
    (r"\b(error|fout)\s*5\d\d\b", ({"error", "fout"}, {"5"})),
    (r"\bnew\s+(page|form)\b", ({"page", "form"}, {"new"})),
    (r"\b(is|are)?\s*down\b", ({"down"},)),
    (r"[a-z]+\d", ()),
    (r"\bkun\s+je\b", ({"kun"}, {"je"})),
])
def test_needles_are_words_every_match_contains(pattern: str, expected: tuple[set[str], ...]
                                                ) -> None:
    assert [set(g) for g in _needles(pattern, re.IGNORECASE)] == list(expected)


def test_a_rule_with_an_uppercase_literal_still_fires_on_any_case() -> None:
    rules = parse_rules('[[rule]]\nname = "seo"\ndescription = "d"\nlanguage = "any"\n'
                        'patterns = ["\\\\bSEO\\\\b"]\ntype = "change"\n')
    assert rules.rules[0].fires("graag betere seo")
    assert rules.rules[0].fires("graag betere SEO")
    assert not rules.rules[0].fires("graag betere seoul")
