"""Every bundled rule fires on its examples and stays quiet on its counter-examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtriage.classify.rules import STRENGTHS, load_rules, parse_rules
from mailtriage.classify.text import model_text
from mailtriage.errors import ConfigError

RULES = load_rules(None)

# (rule, language, subject, body, fires)
CASES = [
    ("nl-werkt-niet-meer", "nl", "", "Het contactformulier werkt niet meer sinds gisteren.", True),
    ("nl-werkt-niet-meer", "nl", "", "De webshop doet het niet meer.", True),
    ("nl-werkt-niet-meer", "nl", "", "Het formulier werkt prima, dank je.", False),
    ("nl-ligt-eruit", "nl", "Site ligt eruit", "", True),
    ("nl-ligt-eruit", "nl", "", "Onze website is onbereikbaar.", True),
    ("nl-ligt-eruit", "nl", "", "Ik leg even uit wat we willen.", False),
    ("nl-foutmelding", "nl", "", "We krijgen een foutmelding bij het opslaan.", True),
    ("nl-foutmelding", "nl", "", "Er zit een fout in de offerte die we stuurden.", False),
    ("nl-storing", "nl", "Storing", "Er is een storing op het intranet.", True),
    ("nl-storing", "nl", "", "Wij willen graag een nieuwe pagina.", False),
    ("nl-lukt-niet-meer", "nl", "", "Het lukt niet meer om in te loggen.", True),
    ("nl-lukt-niet-meer", "nl", "", "Klanten kunnen niet meer betalen.", True),
    ("nl-lukt-niet-meer", "nl", "", "Ik kan morgen niet, donderdag wel.", False),
    ("nl-kapot", "nl", "", "De zoekfunctie is kapot.", True),
    ("nl-kapot", "nl", "", "Ik stuur een stuk tekst voor de homepage.", False),
    ("http-5xx", "en", "", "Every page shows error 500.", True),
    ("http-5xx", "nl", "", "We krijgen een 503 Service Unavailable.", True),
    ("http-5xx", "en", "", "We have 500 products in the shop.", False),
    ("en-down", "en", "Site down", "Our website is down since this morning.", True),
    ("en-down", "en", "", "Please scroll down to the footer and change the address.", False),
    ("en-not-working", "en", "", "The contact form stopped working yesterday.", True),
    ("en-not-working", "en", "", "Everything is working fine, thanks.", False),
    ("en-error-message", "en", "", "I get an error message when I save a page.", True),
    ("en-error-message", "en", "", "Could you add a page about our terrors exhibition?", False),
    ("nl-graag", "nl", "", "Graag een extra veld in het formulier.", True),
    ("nl-graag", "nl", "", "Graag zo snel mogelijk, de site ligt eruit.", False),
    ("nl-wijzigen", "nl", "", "Kunnen jullie de openingstijden wijzigen?", True),
    ("nl-wijzigen", "nl", "", "Ik heb de pagina zelf aangepast en nu is hij weg.", False),
    ("nl-toevoegen", "nl", "", "Wij willen een vacature toevoegen.", True),
    ("nl-toevoegen", "nl", "", "De site werkt niet meer.", False),
    ("nl-nieuwe", "nl", "", "Er komt een nieuwe medewerker bij.", True),
    ("nl-nieuwe", "nl", "", "Sinds de nieuwste update is het traag.", False),
    ("nl-offerte", "nl", "Offerte", "Graag een offerte voor een koppeling.", True),
    ("nl-offerte", "nl", "", "Wat kost een extra mailbox?", True),
    ("nl-offerte", "nl", "", "De factuur klopt niet.", False),
    ("nl-kunnen-jullie", "nl", "", "Kunnen jullie een banner plaatsen?", True),
    ("nl-kunnen-jullie", "nl", "", "Kunnen jullie er even naar kijken? Het werkt niet.", False),
    ("en-request", "en", "", "Could you please add a vacancies page?", True),
    ("en-request", "en", "", "We would like a new logo on the site.", True),
    ("en-request", "en", "", "Could you look into this error?", False),
    ("en-new", "en", "", "We need a new mailbox for our colleague.", True),
    ("en-new", "en", "", "Since the newest update it is slow.", False),
    ("en-quote", "en", "", "Could you send us a quote for a second language?", True),
    ("en-quote", "en", "", "The page quotes our old price.", False),
    ("third-party", "nl", "", "Er is een storing bij Mollie, zie hun statuspagina.", True),
    ("third-party", "en", "", "There is an outage at KPN in our region.", True),
    ("third-party", "en", "", "Our checkout fails for every customer.", False),
    ("own-action", "nl", "", "Ik heb per ongeluk de pagina verwijderd.", True),
    ("own-action", "en", "", "I accidentally deleted the prices page.", True),
    ("own-action", "en", "", "The prices page has disappeared.", False),
    ("nl-wens", "nl", "Wens: reageren op nieuws", "Zou dat kunnen?", True),
    ("nl-wens", "nl", "", "Het liefst zouden we ook reacties kunnen verbergen.", True),
    ("nl-wens", "nl", "", "We kregen de vraag of medewerkers kunnen reageren.", True),
    ("nl-wens", "nl", "Website plat", "Niemand kan meer inloggen sinds vanochtend.", False),
    ("own-action", "nl", "", "Ik heb de pagina gisteren zelf per abuis verwijderd.", True),
    ("own-action", "nl", "", "We hebben het menu zelf aangepast en nu is het weg.", True),
    ("own-action", "en", "", "I deleted the banner myself and now the page is empty.", True),
    ("own-action", "nl", "", "Ik heb het zelf met drie verschillende accounts geprobeerd.",
     False),
    ("own-action", "en", "", "I tried it myself with three different accounts.", False),
    ("thank-you", "nl", "Bedankt", "Bedankt voor de snelle hulp, het werkt weer.", True),
    ("thank-you", "en", "", "Thanks for the quick fix!", True),
    ("thank-you", "nl", "", "Alvast bedankt voor jullie hulp, de site is nog steeds traag.", False),
    ("thank-you", "en", "", "Thanks in advance for your help, it is still not fixed.", False),
    ("question", "nl", "", "Hoe kan ik zelf een PDF plaatsen?", True),
    ("question", "en", "", "How do I crop an image in the CMS?", True),
    ("question", "en", "", "The image is cropped wrongly.", False),
    ("high-everyone", "nl", "", "Niemand kan de site openen.", True),
    ("high-everyone", "en", "", "The site is unreachable for all customers.", True),
    ("high-everyone", "en", "", "Only my laptop has the issue.", False),
    ("high-site-down", "nl", "", "De webshop ligt plat.", True),
    ("high-site-down", "en", "", "The site went down at ten.", True),
    ("high-site-down", "en", "", "The site is a bit slow.", False),
    ("high-payments", "nl", "", "Alle iDEAL betalingen mislukken sinds vanochtend.", True),
    ("high-payments", "en", "", "Payments are failing at checkout.", True),
    ("high-payments", "en", "", "We want to add a payment method.", False),
    ("high-no-login", "nl", "", "Niemand kan meer inloggen op het intranet.", True),
    ("high-no-login", "en", "", "Nobody can log in to the portal.", True),
    ("high-no-login", "en", "", "One colleague forgot her password.", False),
    ("medium-slow", "nl", "", "De site is erg traag vandaag.", True),
    ("medium-slow", "en", "", "Saving a page takes ages.", True),
    ("medium-slow", "en", "", "The site is down.", False),
    ("medium-some-users", "nl", "", "Sommige gebruikers kunnen niet inloggen.", True),
    ("medium-some-users", "en", "", "Several users report the same error.", True),
    ("medium-some-users", "en", "", "Nobody can log in.", False),
    ("low-cosmetic", "nl", "", "Er staat een typfout in de footer.", True),
    ("low-cosmetic", "en", "", "The menu is slightly misaligned on mobile.", True),
    ("low-cosmetic", "en", "", "The checkout fails for everyone.", False),
    ("low-workaround", "nl", "", "Geen haast, we hebben een omweg.", True),
    ("low-workaround", "en", "", "Not urgent, in the meantime we use the old form.", True),
    ("low-workaround", "en", "", "Urgent: the shop is down.", False),
]


@pytest.mark.parametrize(("rule", "language", "subject", "body", "fires"), CASES)
def test_rule_fires_only_on_its_examples(rule: str, language: str, subject: str, body: str,
                                         fires: bool) -> None:
    fired = {v.rule for v in RULES.votes(model_text(subject, body), language)}
    assert (rule in fired) is fires, sorted(fired)


def test_every_rule_has_a_positive_and_a_negative_case() -> None:
    names = {r.name for r in RULES.rules}
    pos = {c[0] for c in CASES if c[4]}
    neg = {c[0] for c in CASES if not c[4]}
    assert names == pos == neg


def test_language_bound_rules_ignore_the_other_language() -> None:
    text = model_text("", "Het formulier werkt niet meer.")
    assert "nl-werkt-niet-meer" in {v.rule for v in RULES.votes(text, "nl")}
    assert "nl-werkt-niet-meer" not in {v.rule for v in RULES.votes(text, "en")}


def test_vote_carries_the_strength_and_description() -> None:
    rule = RULES.by_name("nl-offerte")
    vote = RULES.votes(model_text("", "Graag een offerte"), "nl")
    assert rule.weight == STRENGTHS["strong"]
    assert next(v for v in vote if v.rule == "nl-offerte").description == rule.description


GOOD = """
[[rule]]
name = "x"
description = "why"
patterns = ['abc']
type = "incident"
"""


@pytest.mark.parametrize(("text", "key"), [
    ("[[rule]]\nname = 'x'\ndescription = 'd'\npatterns = ['(']\ntype = 'incident'\n",
     "rule.x.patterns"),
    ("[[rule]]\nname = 'x'\ndescription = 'd'\npatterns = ['a']\ntype = 'bug'\n", "rule.x.type"),
    ("[[rule]]\nname = 'x'\ndescription = 'd'\npatterns = ['a']\npriority = 'urgent'\n",
     "rule.x.priority"),
    ("[[rule]]\nname = 'x'\ndescription = 'd'\npatterns = ['a']\n", "rule.x.type"),
    ("[[rule]]\nname = 'x'\ndescription = 'd'\npatterns = []\ntype = 'change'\n",
     "rule.x.patterns"),
    ("[[rule]]\nname = 'x'\npatterns = ['a']\ntype = 'change'\n", "rule.x.description"),
    ("[[rule]]\nname = 'x'\ndescription = 'd'\npatterns = ['a']\ntype = 'change'\n"
     "strength = 'huge'\n", "rule.x.strength"),
    ("[[rule]]\nname = 'x'\ndescription = 'd'\npatterns = ['a']\ntype = 'change'\n"
     "language = 'de'\n", "rule.x.language"),
    ("[[rule]]\nname = 'x'\ndescription = 'd'\npatterns = ['a']\ntype = 'change'\nwhen = 1\n",
     "rule.x.when"),
    (GOOD + GOOD, "rule.x.name"),
    ("[[rule]]\nname = 'Bad Name'\n", "rule[0].name"),
    ("rule = 3", "rule"),
    ("[[rule]\n", "rule"),
])
def test_broken_rules_file_names_the_rule_and_key(text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_rules(text, source="test.toml")
    assert info.value.key == key
    assert "test.toml" in str(info.value)


def test_rules_file_override_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(GOOD.replace("'abc'", "'werkt niet'"), encoding="utf-8")
    rules = load_rules(path)
    assert [r.name for r in rules.rules] == ["x"]
    assert [v.rule for v in rules.votes("het werkt niet", "nl")] == ["x"]
    with pytest.raises(ConfigError) as info:
        load_rules(tmp_path / "nope.toml")
    assert info.value.key == "classify.rules_file"
