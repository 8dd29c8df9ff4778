"""Templates: every kind in both languages, honest wording, correct dates, escaped HTML."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mailtriage.errors import UsageError
from mailtriage.notify.context import (
    AckContext,
    AlertContext,
    AlertItem,
    UpdateContext,
    standard_change_terms,
)
from mailtriage.notify.render import MAX_LISTED_ALERTS, render_ack, render_alert, render_update

AMS = ZoneInfo("Europe/Amsterdam")
# Spec worked example: received Fri 14 Mar 2025 16:30, high -> Mon 17 Mar 10:00 / 12:00.
RECEIVED = datetime(2025, 3, 14, 16, 30, tzinfo=AMS)
HOSTILE = 'Re: <script>alert("x")</script> & <img src=x onerror=alert(1)>'


def incident(language: str = "nl", guaranteed: bool = True, **kw: object) -> AckContext:
    base = AckContext(
        ticket_number=1234, subject="Website geeft foutmelding", language=language,  # type: ignore[arg-type]
        kind="incident", helpdesk_name="CARE Helpdesk", issued_at=RECEIVED, priority="high",
        response_due=datetime(2025, 3, 17, 10, 0, tzinfo=AMS),
        resolution_due=datetime(2025, 3, 17, 12, 0, tzinfo=AMS), guaranteed=guaranteed,
        requester_name="Jan Jansen")
    return replace(base, **kw)  # type: ignore[arg-type]


def change(language: str = "nl", **kw: object) -> AckContext:
    base = AckContext(ticket_number=77, subject="Extra knop op de homepage",
                      language=language, kind="change", helpdesk_name="CARE Helpdesk",  # type: ignore[arg-type]
                      issued_at=datetime(2026, 5, 13, 11, 0, tzinfo=AMS))
    return replace(base, **kw)  # type: ignore[arg-type]


def flat(text: str) -> str:
    return " ".join(text.split())


# -- incidents ---------------------------------------------------------------------------------


def test_incident_under_sla_dutch() -> None:
    mail = render_ack(incident("nl"))
    text = flat(mail.text)
    assert mail.subject == "Re: Website geeft foutmelding [#1234]"
    assert "Beste Jan Jansen," in text
    assert "ticketnummer #1234" in text
    assert "incident met prioriteit hoog (verstoring met grote gevolgen)" in text
    assert "een medewerker reageert uiterlijk maandag 17 maart om 10:00" in text
    assert "Deze reactietermijn garanderen we volgens uw SLA" in text
    assert "we streven ernaar het incident uiterlijk maandag 17 maart om 12:00 op te lossen" in text
    assert "lossen we 85% van de incidenten met deze prioriteit binnen deze termijn op" in text
    assert "streeftijd, geen garantie voor elke melding" in text
    html = flat(mail.html)
    assert '<html lang="nl">' in html
    assert "uiterlijk maandag 17 maart om 10:00" in html
    assert "uiterlijk maandag 17 maart om 12:00" in html


def test_incident_under_sla_english() -> None:
    mail = render_ack(incident("en"))
    text = flat(mail.text)
    assert "Dear Jan Jansen," in text
    assert "incident with high priority" in text
    assert "will respond by Monday 17 March at 10:00" in text
    assert "This response time is guaranteed under your SLA" in text
    assert "we aim to resolve the incident by Monday 17 March at 12:00" in text
    assert "we resolve 85% of incidents of this priority" in text
    assert "a target, not a guarantee" in text
    assert '<html lang="en">' in mail.html


@pytest.mark.parametrize("language", ["nl", "en"])
def test_incident_without_sla_is_an_aim_not_a_guarantee(language: str) -> None:
    mail = render_ack(incident(language, guaranteed=False, priority="medium"))
    text = flat(mail.text)
    if language == "nl":
        assert "Voor uw melding geldt geen SLA" in text
        assert "zonder garantie" in text
        assert "we streven ernaar uiterlijk maandag 17 maart om 10:00 te reageren" in text
        assert "prioriteit middel" in text
        assert "garanderen" not in text
    else:
        assert "There is no SLA for your report" in text
        assert "without a guarantee" in text
        assert "we aim to respond by Monday 17 March at 10:00" in text
        assert "medium priority" in text
        assert "guaranteed" not in text
    assert "85%" not in text


def test_resolution_percent_comes_from_the_context() -> None:
    text = flat(render_ack(incident("nl", resolution_percent=90.0)).text)
    assert "lossen we 90% van de incidenten" in text


def test_deadline_in_another_zone_is_shown_in_the_calendar_zone() -> None:
    utc = ZoneInfo("UTC")
    ctx = incident("nl", response_due=datetime(2025, 3, 17, 9, 0, tzinfo=utc))
    assert "uiterlijk maandag 17 maart om 10:00" in flat(render_ack(ctx).text)


def test_incident_without_deadlines_is_refused() -> None:
    with pytest.raises(UsageError):
        incident("nl", response_due=None)


# -- other, change, review -------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "phrase"), [
    ("nl", "op basis van best effort"), ("en", "on a best-effort basis")])
def test_other_is_best_effort(language: str, phrase: str) -> None:
    ctx = incident(language, kind="other", priority=None, response_due=None,
                   resolution_due=None)
    text = flat(render_ack(ctx).text)
    assert phrase in text
    assert "uiterlijk" not in text and "by Monday" not in text


@pytest.mark.parametrize(("workload", "nl_lines", "en_lines"), [
    ("low",
     ["- 0 tot 4 uur werk: 1 tot 2 weken", "- 4 tot 8 uur werk: 2 tot 3 weken",
      "- meer dan 8 uur werk: een deadline in overleg met u"],
     ["- 0 to 4 hours of work: 1 to 2 weeks", "- 4 to 8 hours of work: 2 to 3 weeks",
      "- more than 8 hours of work: a deadline agreed with you"]),
    ("high",
     ["- 0 tot 4 uur werk: 2 tot 3 weken", "- 4 tot 8 uur werk: 4 tot 5 weken",
      "- meer dan 8 uur werk: een deadline in overleg met u"],
     ["- 0 to 4 hours of work: 2 to 3 weeks", "- 4 to 8 hours of work: 4 to 5 weeks",
      "- more than 8 hours of work: a deadline agreed with you"]),
])
def test_change_terms_at_current_workload(workload: str, nl_lines: list[str],
                                          en_lines: list[str]) -> None:
    terms = standard_change_terms(workload)  # type: ignore[arg-type]
    nl = render_ack(change("nl", workload=workload, change_terms=terms))
    en = render_ack(change("en", workload=workload, change_terms=terms))
    for line in nl_lines:
        assert line in nl.text.splitlines()
    for line in en_lines:
        assert line in en.text.splitlines()
    word = {"low": "laag", "high": "hoog"}[workload]
    assert f"Bij de huidige drukte ({word}) zijn onze streeftermijnen" in flat(nl.text)
    assert "geen garanties" in flat(nl.text)
    assert "these are not guarantees" in flat(en.text)
    assert "maandag tot en met donderdag" in flat(nl.text)


def test_change_with_estimate_gives_a_concrete_window() -> None:
    # Spec example: 0-4 h, workload low, accepted Wed 13 May 2026 -> Thu 21 May - Thu 28 May.
    ctx = change("nl", workload="low", estimate_hours=3,
                 change_window=(date(2026, 5, 21), date(2026, 5, 28)),
                 change_terms=standard_change_terms("low"))
    text = flat(render_ack(ctx).text)
    assert ("Op basis van de inschatting van 3 uur werk en de huidige drukte (laag) is onze "
            "streeftermijn: oplevering tussen donderdag 21 mei en donderdag 28 mei.") in text
    assert "1 tot 2 weken" not in text
    en = flat(render_ack(replace(ctx, language="en")).text)
    assert "delivery between Thursday 21 May and Thursday 28 May" in en


def test_change_over_eight_hours_is_agreed_with_the_customer() -> None:
    text = flat(render_ack(change("nl", estimate_hours=12, over_limit=True)).text)
    assert "geschat op 12 uur, dus meer dan 8 uur werk" in text
    assert "spreken we de deadline in overleg met u af" in text
    en = flat(render_ack(change("en", estimate_hours=12, over_limit=True)).text)
    assert "we agree the deadline with you" in en


def test_change_with_agreed_deadline() -> None:
    text = flat(render_ack(change("nl", agreed_deadline=date(2026, 6, 4))).text)
    assert "Als deadline hebben we met u donderdag 4 juni afgesproken." in text


@pytest.mark.parametrize(("language", "phrase"), [
    ("nl", "nemen we mee in een volgende release"), ("en", "included in a next release")])
def test_generic_code_change_goes_into_a_next_release(language: str, phrase: str) -> None:
    ctx = change(language, generic_code=True, change_terms=standard_change_terms("low"))
    text = flat(render_ack(ctx).text)
    assert phrase in text
    assert "weken" not in text and "weeks" not in text


@pytest.mark.parametrize("language", ["nl", "en"])
def test_needs_review_promises_no_time(language: str) -> None:
    ctx = incident(language, kind="review", priority=None, response_due=None,
                   resolution_due=None)
    mail = render_ack(ctx)
    text = flat(mail.text)
    if language == "nl":
        assert "kunnen we nog geen termijn noemen" in text
        assert "uiterlijk" not in text
        assert "garander" not in text
    else:
        assert "we cannot give a time" in text
        assert " by " not in text
        assert "guarantee" not in text
    assert "#1234" in text


# -- update and alerts --------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["nl", "en"])
def test_update_after_correction_states_old_and_new(language: str) -> None:
    new = incident(language, priority="high")
    mail = render_update(UpdateContext(new, previous_kind="incident",
                                       previous_priority="medium"))
    text = flat(mail.text)
    assert mail.subject == "Re: Website geeft foutmelding [#1234]"
    if language == "nl":
        assert "Eerder: incident, prioriteit middel." in text
        assert "Nu: incident, prioriteit hoog." in text
        assert "uiterlijk maandag 17 maart om 10:00" in text
    else:
        assert "Before: incident, medium priority." in text
        assert "Now: incident, high priority." in text
        assert "by Monday 17 March at 10:00" in text


def test_update_from_review_to_change() -> None:
    new = change("nl", workload="high", change_terms=standard_change_terms("high"))
    text = flat(render_update(UpdateContext(new, previous_kind="review")).text)
    assert "Eerder: nog te beoordelen." in text
    assert "Nu: wijzigingsverzoek." in text
    assert "4 tot 5 weken" in text


def test_single_alert() -> None:
    item = AlertItem("new_high", 1234, "Webshop plat", priority="high",
                     due=datetime(2025, 3, 17, 10, 0, tzinfo=AMS), requester="jan@klant.nl")
    mail = render_alert(AlertContext("nl", "CARE Helpdesk", RECEIVED, (item,),
                                     ticket_url="https://helpdesk.test/tickets/{number}"))
    assert mail.subject == "Nieuw incident met hoge prioriteit: Webshop plat [#1234]"
    text = flat(mail.text)
    assert "Termijn: uiterlijk maandag 17 maart om 10:00" in text
    assert "Van: jan@klant.nl" in text
    assert "https://helpdesk.test/tickets/1234" in text
    assert 'href="https://helpdesk.test/tickets/1234"' in mail.html


def test_batched_alert_lists_missed_deadlines_first() -> None:
    items = (
        AlertItem("resolution_at_risk", 3, "Traag", priority="medium",
                  due=datetime(2025, 3, 17, 15, 0, tzinfo=AMS)),
        AlertItem("response_breached", 2, "Formulier stuk", priority="high",
                  due=datetime(2025, 3, 17, 9, 0, tzinfo=AMS)),
        AlertItem("new_high", 4, "Site plat", priority="high"),
    )
    mail = render_alert(AlertContext("en", "CARE Helpdesk", RECEIVED, items))
    assert mail.subject == "CARE Helpdesk: 3 tickets need attention"
    lines = [ln for ln in mail.text.splitlines() if ln.startswith("- #")]
    assert [ln.split()[1] for ln in lines] == ["#2", "#4", "#3"]
    assert "Response deadline missed" in lines[0]
    assert "Deadline: by Monday 17 March at 09:00" in mail.text


@pytest.mark.parametrize(("language", "count", "more_words"), [
    ("nl", MAX_LISTED_ALERTS, None),
    ("nl", MAX_LISTED_ALERTS + 1, "… en nog 1 andere."),
    ("en", 4200, "… and 4100 more."),
])
def test_a_long_alert_lists_the_most_urgent_and_counts_the_rest(
        language: str, count: int, more_words: str | None) -> None:
    # a first run over an old mailbox: thousands of old tickets past their deadlines
    items = tuple(AlertItem("response_at_risk" if n % 2 else "resolution_breached", n,
                            f"Oud ticket {n}", priority="low",
                            due=datetime(2025, 3, 17, 9, 0, tzinfo=AMS) + timedelta(minutes=n))
                  for n in range(1, count + 1))
    mail = render_alert(AlertContext(language, "CARE", RECEIVED, items))  # type: ignore[arg-type]
    assert f": {count} " in mail.subject  # the subject counts every event
    assert f"{count} tickets" in mail.text.splitlines()[0]
    listed = [ln.split()[1] for ln in mail.text.splitlines() if ln.startswith("- #")]
    assert len(listed) == min(count, MAX_LISTED_ALERTS)
    assert mail.html.count("<li>") == len(listed)
    # the most urgent first: the missed resolution deadlines, earliest first
    assert listed[:3] == ["#2", "#4", "#6"]
    if more_words is None:
        assert "…" not in mail.text and "…" not in mail.html
    else:
        assert more_words in mail.text and more_words in mail.html


# -- escaping, overrides ---------------------------------------------------------------------


def test_html_escapes_hostile_subject_and_name() -> None:
    ctx = incident("nl", subject=HOSTILE, requester_name="<b>Jan</b>")
    mail = render_ack(ctx)
    assert "<script>" not in mail.html
    assert "<img" not in mail.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;img" in mail.html
    assert "&lt;b&gt;Jan&lt;/b&gt;" in mail.html
    # The text part shows the words as they are (plain text cannot execute anything).
    assert '<script>alert("x")</script>' in mail.text


def test_html_escapes_hostile_text_in_alerts() -> None:
    item = AlertItem("response_breached", 9, "<svg onload=alert(1)>", requester="<x@y>")
    mail = render_alert(AlertContext("nl", "CARE", RECEIVED, (item,)))
    assert "<svg" not in mail.html
    assert "&lt;svg onload=alert(1)&gt;" in mail.html


def test_template_dir_overrides_file_by_file(tmp_path: Path) -> None:
    (tmp_path / "nl").mkdir()
    (tmp_path / "nl" / "ack.txt.jinja").write_text(
        "Eigen tekst voor #{{ c.ticket_number }}: {{ words.deadline(c.response_due) }}\n",
        encoding="utf-8")
    mail = render_ack(incident("nl"), template_dir=tmp_path)
    assert mail.text == "Eigen tekst voor #1234: uiterlijk maandag 17 maart om 10:00\n"
    # the HTML part was not overridden and comes from the package
    assert "een medewerker reageert uiterlijk maandag 17 maart om 10:00" in flat(mail.html)
    # English is untouched by the Dutch override
    assert "Dear Jan Jansen" in render_ack(incident("en"), template_dir=tmp_path).text


def test_text_lines_are_wrapped() -> None:
    for ctx in (incident("nl"), incident("en"), change("nl", generic_code=True)):
        assert max(len(line) for line in render_ack(ctx).text.splitlines()) <= 76
