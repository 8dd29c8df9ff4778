"""split_reply: new text, quoted history and signature in real-looking Dutch and English mail."""

from __future__ import annotations

import time

import pytest

from mailtriage.ingest.quoting import split_reply

CASES = [
    (
        "gmail-nl-top-posting",
        "Hoi,\n\nDe site is weer stuk.\n\nOp di 14 mei 2024 om 10:12 schreef Helpdesk "
        "<helpdesk@ours.nl>:\n\n> Beste Jan,\n> is het opgelost?\n",
        "Hoi,\n\nDe site is weer stuk.",
        "is het opgelost?",
    ),
    (
        "gmail-en-wrapped-attribution",
        "It still fails on the checkout page.\n\nOn Tue, May 14, 2024 at 10:12 AM Helpdesk "
        "<helpdesk@ours.nl>\nwrote:\n\n> Could you try again?\n",
        "It still fails on the checkout page.",
        "Could you try again?",
    ),
    (
        "outlook-nl-header-block",
        "Graag vandaag nog.\n\nMet vriendelijke groet,\nPiet Jansen\nJansen BV\n\n"
        "Van: Helpdesk <helpdesk@ours.nl>\nVerzonden: dinsdag 14 mei 2024 10:12\n"
        "Aan: Piet Jansen <piet@jansen.nl>\nOnderwerp: RE: [#1001] Storing\n\n"
        "Beste Piet,\nWe kijken ernaar.\n",
        "Graag vandaag nog.",
        "We kijken ernaar.",
    ),
    (
        "outlook-en-underscore-rule",
        "Please escalate.\n\n________________________________\nFrom: Helpdesk "
        "<helpdesk@ours.nl>\nSent: Tuesday, May 14, 2024 10:12 AM\nTo: Ann <ann@corp.example>\n"
        "Subject: RE: Outage\n\nWe are looking into it.\n",
        "Please escalate.",
        "We are looking into it.",
    ),
    (
        "outlook-nl-oorspronkelijk-bericht",
        "Zie hieronder, nog steeds een probleem.\n\n-----Oorspronkelijk bericht-----\n"
        "Van: Helpdesk\nVerzonden: maandag 13 mei 2024 09:00\nAan: Karin\n"
        "Onderwerp: Storing\n\nIs het probleem opgelost?\n",
        "Zie hieronder, nog steeds een probleem.",
        "Is het probleem opgelost?",
    ),
    (
        "outlook-en-original-message",
        "Thanks, that fixed it.\n\n-----Original Message-----\nFrom: Helpdesk\n"
        "Sent: Monday, May 13, 2024 9:00 AM\nTo: Bob\nSubject: Outage\n\nPlease restart.\n",
        "Thanks, that fixed it.",
        "Please restart.",
    ),
    (
        "apple-mail-nl",
        "Dit is nog niet goed.\n\nVerzonden vanaf mijn iPhone\n\n> Op 14 mei 2024 om 10:12 "
        "heeft Helpdesk <helpdesk@ours.nl> het volgende geschreven:\n>\n> Werkt het nu?\n",
        "Dit is nog niet goed.",
        "Werkt het nu?",
    ),
    (
        "apple-mail-en",
        "Still broken.\n\n> On 14 May 2024, at 10:12, Helpdesk <helpdesk@ours.nl> wrote:\n>\n"
        "> Does it work now?\n",
        "Still broken.",
        "Does it work now?",
    ),
    (
        "inline-reply-en",
        "On Tue, May 14, 2024 at 10:12 AM Helpdesk <helpdesk@ours.nl> wrote:\n"
        "> Which page fails?\n\nThe login page.\n\n> Since when?\n\nSince this morning.\n\n"
        "--\nJan\n",
        "The login page.\n\nSince this morning.",
        "Since when?",
    ),
    (
        "inline-reply-nl",
        "Op 14 mei 2024 schreef Helpdesk <helpdesk@ours.nl>:\n> Welke browser?\n"
        "Chrome en Firefox.\n> Hoeveel gebruikers?\nAlle dertig.\n",
        "Chrome en Firefox.\nAlle dertig.",
        "Hoeveel gebruikers?",
    ),
    (
        "dash-dash-signature",
        "De mailserver weigert bijlagen.\n-- \nKees de Boer | 06-12345678\nwww.deboer.nl\n",
        "De mailserver weigert bijlagen.",
        "",
    ),
    (
        "kind-regards-signature-en",
        "The invoices page shows an error 500.\n\nKind regards,\n\nMary Smith\nAcme Ltd\n"
        "+44 20 1234 5678\n",
        "The invoices page shows an error 500.",
        "",
    ),
    (
        "sign-off-mid-text-is-content",
        "Bedankt!\nMaar er is nog iets: het formulier op de contactpagina stuurt niets door.\n"
        + "\n".join(f"Stap {i}: klik op de knop." for i in range(20)) + "\n",
        "Bedankt!\nMaar er is nog iets",
        "",
    ),
    (
        "forwarded-message-is-content",
        "Zie onderstaande klacht van onze klant.\n\n---------- Forwarded message ---------\n"
        "From: Klant <k@x.nl>\nDate: ma 13 mei 2024\nSubject: Website\nTo: Jan <jan@y.nl>\n\n"
        "De website is onbereikbaar!\n",
        "Zie onderstaande klacht van onze klant.\n\n---------- Forwarded message",
        "",
    ),
    (
        "ps-after-signature-kept",
        "Kunnen jullie de DNS aanpassen?\n\nGroet,\nJan\n\nPS: het gaat om klant.nl\n",
        "Kunnen jullie de DNS aanpassen?\n\nGroet,\nJan\n\nPS: het gaat om klant.nl",
        "",
    ),
]


@pytest.mark.parametrize("name, text, new_start, quoted_part", CASES, ids=[c[0] for c in CASES])
def test_split_reply(name: str, text: str, new_start: str, quoted_part: str) -> None:
    split = split_reply(text)
    if name.startswith(("sign-off-mid", "forwarded")):
        assert split.new_text.startswith(new_start)
        assert "De website is onbereikbaar!" in split.new_text or "Stap 19" in split.new_text
    else:
        assert split.new_text == new_start
    if quoted_part:
        assert quoted_part in split.quoted
        assert quoted_part not in split.new_text


def test_signature_block_goes_to_signature() -> None:
    split = split_reply("Graag snel.\n\nMet vriendelijke groet,\nJan\nKlant BV\n")
    assert split.new_text == "Graag snel."
    assert split.signature.startswith("Met vriendelijke groet")


def test_everything_quoted_keeps_the_whole_text() -> None:
    text = "Op 14 mei 2024 schreef Helpdesk <helpdesk@ours.nl>:\n> Is het opgelost?\n"
    split = split_reply(text)
    assert split.kept_whole
    assert "Is het opgelost?" in split.new_text


def test_plain_text_without_history_is_unchanged() -> None:
    text = "Onze webshop geeft sinds 9:00 een foutmelding bij het afrekenen."
    assert split_reply(text).new_text == text
    assert split_reply("").new_text == ""


@pytest.mark.parametrize("text", [
    "x" * 1_000_000,
    ("On " + "a" * 1_000_000),
    ("> " * 500_000),
    ("Van: " + "b" * 1_000_000),
    ("-" * 1_000_000),
])
def test_one_megabyte_single_line_is_fast(text: str) -> None:
    start = time.perf_counter()
    split_reply(text)
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize("line, passes", [
    ("Jan de Vries <jan@klant.nl> wrote:", True),
    ("JAN DE VRIES WROTE:", True),
    ("Jan writes:", True),
    ("Helpdesk schreef op 14 mei 2024 10:12:", True),
    ("Op 14 mei 2024 om 10:12 heeft Jan het volgende geschreven:", True),
    ("Am 14.05.2024 schrieb Jan:", True),
    ("Le 14 mai 2024, Jean a écrit :", True),
    ("El 14 may 2024, Juan escribió:", True),
    ("Jan \u017fchreef op 14 mei:", True),  # the long s matches s under IGNORECASE
    ("We wrote a new page: see below:", True),
    ("De site is weer stuk, kunnen jullie kijken?", False),
    ("Met vriendelijke groet, Jan", False),
])
def test_the_quick_test_never_hides_an_attribution(line: str, passes: bool) -> None:
    # ``_may_name_a_writer`` only spares the expressions lines they cannot match.
    from mailtriage.ingest.quoting import _ATTR_END, _ATTR_SCHREEF_OP, _may_name_a_writer

    assert _may_name_a_writer(line) is passes
    if _ATTR_END.search(line) or _ATTR_SCHREEF_OP.match(line):
        assert passes


def test_the_ascii_verbs_are_plain_words() -> None:
    # The quick test looks for them as text: an ASCII verb written as an expression
    # (r"a\s+repondu") would need the expression itself.
    import re

    from mailtriage.ingest.quoting import _ASCII_VERBS, _ATTR_SCHREEF_OP

    assert _ASCII_VERBS and all(re.escape(v) == v for v in _ASCII_VERBS)
    assert {"schreef", "wrote"} <= set(_ASCII_VERBS)  # the verbs of _ATTR_SCHREEF_OP
    assert "(?:schreef|wrote)" in _ATTR_SCHREEF_OP.pattern
