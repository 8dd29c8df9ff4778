"""The staff UI's words in English and Dutch, and the choice of language for a request."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Final

LANGUAGES: Final = ("en", "nl")

# key: (English, Dutch)
TEXTS: Final[Mapping[str, tuple[str, str]]] = {
    "app_name": ("Helpdesk triage", "Helpdesk-triage"),
    "nav_queue": ("Queue", "Wachtrij"),
    "nav_report": ("SLA report", "SLA-rapport"),
    "nav_model": ("Model", "Model"),
    "nav_api": ("API", "API"),
    "logout": ("Log out", "Afmelden"),
    "signed_in_as": ("Signed in as", "Aangemeld als"),
    "language": ("Language", "Taal"),
    "login_title": ("Sign in", "Aanmelden"),
    "username": ("User name", "Gebruikersnaam"),
    "password": ("Password", "Wachtwoord"),
    "login_button": ("Sign in", "Aanmelden"),
    "login_failed": ("User name or password is wrong.", "Gebruikersnaam of wachtwoord is onjuist."),
    "login_throttled": ("Too many failed attempts. Try again in a few minutes.",
                        "Te veel mislukte pogingen. Probeer het over enkele minuten opnieuw."),
    "logged_out": ("You are signed out.", "U bent afgemeld."),
    "queue_title": ("Queue", "Wachtrij"),
    "filter": ("Filter", "Filteren"),
    "reset": ("Reset", "Wissen"),
    "all": ("All", "Alle"),
    "active": ("Active", "Actief"),
    "type": ("Type", "Soort"),
    "priority": ("Priority", "Prioriteit"),
    "status": ("Status", "Status"),
    "customer": ("Customer", "Klant"),
    "requester": ("Requester", "Aanvrager"),
    "subject": ("Subject", "Onderwerp"),
    "received": ("Received", "Ontvangen"),
    "confidence": ("Confidence", "Zekerheid"),
    "response": ("Response", "Reactie"),
    "resolution": ("Resolution", "Oplossing"),
    "response_due": ("Response due", "Reactie uiterlijk"),
    "resolution_due": ("Resolution due", "Oplossing uiterlijk"),
    "needs_review": ("Needs review", "Te beoordelen"),
    "no_tickets": ("No tickets match these filters.", "Geen tickets voor deze filters."),
    "tickets_shown": ("tickets shown", "tickets getoond"),
    "at_risk": ("at risk", "in gevaar"),
    "breached": ("breached", "verlopen"),
    "met": ("met", "gehaald"),
    "missed": ("missed", "gemist"),
    "paused": ("paused", "gepauzeerd"),
    "no_clock": ("no deadline", "geen termijn"),
    "left": ("left", "over"),
    "overdue": ("overdue", "te laat"),
    "type_incident": ("Incident", "Incident"),
    "type_change": ("Change", "Wijziging"),
    "type_other": ("Other", "Overig"),
    "priority_high": ("High", "Hoog"),
    "priority_medium": ("Medium", "Middel"),
    "priority_low": ("Low", "Laag"),
    "priority_none": ("None", "Geen"),
    "status_new": ("New", "Nieuw"),
    "status_open": ("Open", "Open"),
    "status_waiting": ("Waiting on customer", "Wacht op klant"),
    "status_resolved": ("Resolved", "Opgelost"),
    "status_closed": ("Closed", "Gesloten"),
    "sla_guaranteed": ("SLA (guaranteed)", "SLA (gegarandeerd)"),
    "sla_aim": ("Aim, no guarantee", "Streeftijd, geen garantie"),
    "sla_none": ("No SLA", "Geen SLA"),
    "ticket": ("Ticket", "Ticket"),
    "messages": ("Messages", "Berichten"),
    "from": ("From", "Van"),
    "incoming": ("incoming", "inkomend"),
    "outgoing": ("outgoing", "uitgaand"),
    "attachments": ("Attachments", "Bijlagen"),
    "download": ("Download", "Downloaden"),
    "images_blocked": ("Images in this mail are not loaded.",
                       "Afbeeldingen in deze mail worden niet geladen."),
    "html_sanitized": ("Formatted mail, shown without scripts or remote content.",
                       "Opgemaakte mail, getoond zonder scripts of externe inhoud."),
    "no_text": ("(no text)", "(geen tekst)"),
    "classification": ("Classification", "Classificatie"),
    "reasons": ("Reasons", "Redenen"),
    "decided_by": ("Decided by", "Bepaald door"),
    "history": ("Classification history", "Classificatiegeschiedenis"),
    "source": ("Source", "Bron"),
    "model_version": ("Model version", "Modelversie"),
    "deadlines": ("Deadlines", "Termijnen"),
    "sla_level": ("Service level", "Serviceniveau"),
    "flagged": ("Recomputed after the deadline had passed.",
                "Herberekend nadat de termijn al verstreken was."),
    "change_window": ("Change window", "Wijzigingsvenster"),
    "correct": ("Correct", "Corrigeren"),
    "correction": ("Correction", "Correctie"),
    "corrections": ("Corrections", "Correcties"),
    "no_corrections": ("No corrections yet.", "Nog geen correcties."),
    "note": ("Note", "Notitie"),
    "note_hint": ("Why? (kept in the audit trail)", "Waarom? (bewaard in het logboek)"),
    "save_correction": ("Save correction", "Correctie opslaan"),
    "quick_actions": ("Quick actions", "Snelle acties"),
    "mark_waiting": ("Waiting on customer", "Wacht op klant"),
    "mark_resolved": ("Mark resolved", "Markeer als opgelost"),
    "mark_open": ("Reopen", "Heropenen"),
    "keep": ("(unchanged)", "(ongewijzigd)"),
    "who": ("Who", "Wie"),
    "when": ("When", "Wanneer"),
    "before": ("Before", "Voor"),
    "after": ("After", "Na"),
    "correction_saved": ("Correction saved.", "Correctie opgeslagen."),
    "nothing_changed": ("Nothing to change: choose a new value or write a note.",
                        "Niets te wijzigen: kies een nieuwe waarde of schrijf een notitie."),
    "new_deadlines": ("New deadlines", "Nieuwe termijnen"),
    "corrections_unavailable": ("Corrections cannot be saved: the correction service is not "
                                "installed.",
                                "Correcties kunnen niet worden opgeslagen: de correctieservice "
                                "ontbreekt."),
    "events": ("Events", "Gebeurtenissen"),
    "replies": ("Replies", "Antwoorden"),
    "report_title": ("SLA compliance", "SLA-naleving"),
    "month": ("Month", "Maand"),
    "show": ("Show", "Tonen"),
    "kind": ("Kind", "Soort"),
    "count_n": ("n", "n"),
    "percent": ("Met %", "Gehaald %"),
    "target": ("Target", "Norm"),
    "passed": ("Passed", "Gehaald"),
    "yes": ("yes", "ja"),
    "no": ("no", "nee"),
    "report_unavailable": ("The compliance report is not available in this installation.",
                           "Het nalevingsrapport is in deze installatie niet beschikbaar."),
    "report_empty": ("No deadlines fell in this month.", "In deze maand vielen geen termijnen."),
    "report_small_n": ("With fewer than 7 tickets one miss fails the month.",
                       "Bij minder dan 7 tickets laat één misser de maand falen."),
    "model_title": ("Classification model", "Classificatiemodel"),
    "model_none": ("No trained model was found.", "Er is geen getraind model gevonden."),
    "trained_at": ("Trained at", "Getraind op"),
    "scores": ("Scores", "Scores"),
    "examples": ("Training examples", "Trainingsvoorbeelden"),
    "corrections_since": ("Corrections since the last training",
                          "Correcties sinds de laatste training"),
    "retrain": ("Retrain now", "Nu opnieuw trainen"),
    "retrain_started": ("Training started in the background.",
                        "Training is op de achtergrond gestart."),
    "retrain_running": ("Training is running.", "Training loopt."),
    "retrain_done": ("Last training finished", "Laatste training voltooid"),
    "retrain_failed": ("Last training failed", "Laatste training mislukt"),
    "retrain_cli": ("Retraining from the web UI is not available here; run this on the server:",
                    "Opnieuw trainen via de webinterface kan hier niet; voer op de server uit:"),
    "api_title": ("JSON API", "JSON-API"),
    "api_intro": ("Send an API token as 'Authorization: Bearer <token>'. Create one with "
                  "'mailtriage user add NAME --api-token'.",
                  "Stuur een API-token mee als 'Authorization: Bearer <token>'. Maak er een aan "
                  "met 'mailtriage user add NAAM --api-token'."),
    "api_schema": ("OpenAPI schema", "OpenAPI-schema"),
    "parameters": ("Parameters", "Parameters"),
    "request_body": ("Request body", "Verzoek"),
    "responses": ("Responses", "Antwoorden"),
    "not_found": ("Not found.", "Niet gevonden."),
    "forbidden": ("This request was refused (missing or stale form token). Reload the page and "
                  "try again.",
                  "Dit verzoek is geweigerd (formuliertoken ontbreekt of is verlopen). Laad de "
                  "pagina opnieuw en probeer het nog eens."),
    "error": ("Something went wrong.", "Er ging iets mis."),
    "back": ("Back", "Terug"),
    "running": ("running", "loopt"),
    "office_time_left": ("office time left", "kantoortijd over"),
    "answered": ("answered", "beantwoord"),
    "resolved": ("resolved", "opgelost"),
    "first_response": ("First response", "Eerste reactie"),
    "resolved_at": ("Resolved", "Opgelost"),
    "reply_title": ("Reply to the customer", "Antwoord aan de klant"),
    "reply_to": ("To", "Aan"),
    "reply_text": ("Message", "Bericht"),
    "reply_then": ("Then the ticket is", "Daarna is het ticket"),
    "reply_keep": ("as it is", "ongewijzigd"),
    "reply_send": ("Send reply", "Antwoord versturen"),
    "reply_hint": ("Sent through the outbox in the customer's thread, with the ticket number in "
                   "the subject. The first reply stops the response clock; waiting on the "
                   "customer pauses the resolution clock.",
                   "Verstuurd via de uitgaande wachtrij in de draad van de klant, met het "
                   "ticketnummer in het onderwerp. Het eerste antwoord stopt de reactieklok; "
                   "wachten op de klant pauzeert de oplosklok."),
    "reply_empty": ("The reply is empty.", "Het antwoord is leeg."),
    "reply_too_long": ("The reply is too long.", "Het antwoord is te lang."),
    "reply_bad_status": ("After a reply the ticket can be open, waiting or resolved.",
                         "Na een antwoord kan het ticket open, wachtend of opgelost zijn."),
    "reply_queued": ("Reply queued for", "Antwoord klaargezet voor"),
    "reply_no_requester": ("This ticket has no requester address to reply to.",
                           "Dit ticket heeft geen adres om op te antwoorden."),
    "first_response_recorded": ("First response recorded: the response clock has stopped.",
                                "Eerste reactie vastgelegd: de reactieklok is gestopt."),
    "staff_reply": ("staff reply", "antwoord helpdesk"),
    "outbox_pending": ("waiting to be sent", "wacht op verzending"),
    "outbox_sending": ("being sent", "wordt verzonden"),
    "outbox_sent": ("sent", "verzonden"),
    "outbox_failed": ("sending failed", "verzenden mislukt"),
    "outbox_uncertain": ("uncertain whether sent", "onzeker of verzonden"),
    "attempts": ("attempts", "pogingen"),
    "send_again": ("Send again", "Opnieuw versturen"),
    "uncertain_hint": ("The server may have received it: check the sent mail before sending "
                       "again.",
                       "De server heeft het mogelijk ontvangen: controleer de verzonden mail "
                       "voordat u opnieuw verstuurt."),
    "requeued": ("The reply is queued to be sent again.",
                 "Het antwoord staat klaar om opnieuw te worden verstuurd."),
    "requeue_refused": ("Only a failed or uncertain mail can be sent again.",
                        "Alleen een mislukte of onzekere mail kan opnieuw worden verstuurd."),
    "lifecycle": ("Lifecycle", "Levenscyclus"),
    "step_open": ("Take on (open)", "In behandeling nemen"),
    "mark_closed": ("Close", "Sluiten"),
    "estimate": ("Change estimate", "Inschatting wijziging"),
    "change_hours": ("Estimate in hours", "Schatting in uren"),
    "change_generic": ("Work on the generic code (next release)",
                       "Werk aan de generieke code (volgende release)"),
    "estimate_hint": ("For change requests: sets the delivery window.",
                      "Voor wijzigingsverzoeken: bepaalt het leveringsvenster."),
    "window_next_release": ("with the next release", "bij de volgende release"),
    "window_agreed": ("agreed", "afgesproken"),
    "window_none": ("Give an estimate to set the delivery window.",
                    "Geef een schatting om het leveringsvenster te bepalen."),
    "workload": ("workload", "werkdruk"),
    "workload_low": ("low", "laag"),
    "workload_high": ("high", "hoog"),
    "pending": ("Not yet due", "Nog niet verlopen"),
    "report_targets": ("Targets: response", "Normen: reactie"),
    "days_short": ("d", "d"),
    "hours_short": ("h", "u"),
    "minutes_short": ("m", "m"),
}

_WEEKDAYS: Final = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "nl": ("ma", "di", "wo", "do", "vr", "za", "zo"),
}
_MONTHS: Final = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "nl": ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"),
}


def translator(lang: str) -> Callable[[str], str]:
    """A function from text key to the text in ``lang``; unknown keys come back as themselves."""
    index = 1 if lang == "nl" else 0

    def t(key: str) -> str:
        pair = TEXTS.get(key)
        return key if pair is None else pair[index]

    return t


def pick_language(chosen: str | None, accept_language: str | None, default: str) -> str:
    """The language the person chose, else the best of Accept-Language, else ``default``."""
    if chosen in LANGUAGES:
        return chosen
    best: tuple[float, str] | None = None
    for part in (accept_language or "").split(","):
        piece = part.strip()
        if not piece:
            continue
        tag, _, params = piece.partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and q > 0 and (best is None or q > best[0]):
            best = (q, primary)
    if best is not None:
        return best[1]
    return default if default in LANGUAGES else "en"


def format_datetime(value: datetime | None, zone: tzinfo, lang: str) -> str:
    """'Tue 11 Mar 2025 14:00' (en) or 'di 11 mrt 2025 14:00' (nl) in the calendar's zone."""
    if value is None:
        return "\N{EN DASH}"
    local = value.astimezone(zone)
    day = _WEEKDAYS.get(lang, _WEEKDAYS["en"])[local.weekday()]
    month = _MONTHS.get(lang, _MONTHS["en"])[local.month - 1]
    return f"{day} {local.day} {month} {local.year} {local:%H:%M}"


def format_date(value: date, lang: str) -> str:
    """'Mon 16 Mar 2026' (en) or 'ma 16 mrt 2026' (nl)."""
    day = _WEEKDAYS.get(lang, _WEEKDAYS["en"])[value.weekday()]
    month = _MONTHS.get(lang, _MONTHS["en"])[value.month - 1]
    return f"{day} {value.day} {month} {value.year}"


def _day(value: object, lang: str) -> str:
    if not isinstance(value, str):
        return "\N{EN DASH}"
    try:
        return format_date(date.fromisoformat(value[:10]), lang)
    except ValueError:
        return value[:40]


def window_text(window: Mapping[str, Any], lang: str) -> str:
    """A stored change window (kind, workload, earliest, latest) as one line of text."""
    t = translator(lang)
    kind = window.get("kind")
    if kind == "next_release":
        return t("window_next_release")
    if kind == "agreed":
        return f"{t('window_agreed')} {_day(window.get('agreed') or window.get('earliest'), lang)}"
    span = f"{_day(window.get('earliest'), lang)} \N{EN DASH} {_day(window.get('latest'), lang)}"
    workload = window.get("workload")
    if workload in ("low", "high"):
        span += f" ({t('workload')} {t('workload_' + str(workload))})"
    return span


def format_duration(delta: timedelta, lang: str) -> str:
    """A compact length of time: '2d 3h', '3h 05m', '12m' (the sign is dropped)."""
    t = translator(lang)
    seconds = abs(int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}{t('days_short')} {hours}{t('hours_short')}"
    if hours:
        return f"{hours}{t('hours_short')} {minutes:02d}{t('minutes_short')}"
    return f"{minutes}{t('minutes_short')}"
