"""Writes the bundled seed set: helpdesk mails composed from hand-written fragments.

Run ``python -m mailtriage.classify.compose_seed`` to regenerate ``seed/seed.csv`` (the output
is committed; the composition is deterministic). Each scenario is one situation a web agency's
helpdesk meets, written in Dutch and in English with several wordings; every mail gets its own
greeting, opening, closing and signature from shared pools, so no greeting or sign-off tells the
classes apart.
"""

from __future__ import annotations

import csv
import random
import sys
from dataclasses import dataclass
from pathlib import Path

from mailtriage.classify.seed_scenarios import SCENARIOS, Scenario

OUT = Path(__file__).resolve().parent / "seed" / "seed.csv"

SITES = ["www.bakkerijdevries.nl", "shop.fietsenhuis-zwolle.nl", "www.tandartspraktijkoost.nl",
         "www.installatiebedrijf-kok.nl", "intranet.zorggroep-rivierenland.nl",
         "www.stichtingdewending.nl", "www.koffiebranderij-ijssel.nl", "www.advocatenmeijer.nl",
         "webshop.tuincentrumbloei.nl", "www.hoveniersbedrijfjansen.nl",
         "portal.transportvanleeuwen.nl", "www.museumhetbrandhuis.nl", "www.yogastudio-licht.nl",
         "www.dakdekkersbedrijf-visser.nl", "shop.wijnhandelbacchus.nl"]
NAMES_NL = ["Marieke de Vries", "Jeroen Bakker", "Sanne Kok", "Pieter Jansen", "Linda Visser",
            "Ahmed El Amrani", "Eva Meijer", "Thijs van Leeuwen", "Fatma Yilmaz", "Kees Mulder",
            "Ingrid Smit", "Bas de Boer", "Noor Hendriks", "Ruud Dekker", "Anouk Peters"]
NAMES_EN = ["Sarah Collins", "Tom Becker", "Priya Shah", "Mark de Graaf", "Julia Novak",
            "David Okafor", "Emma Lindqvist", "Lucas Martin", "Hannah Weber", "Olivier Dubois",
            "Kate Morgan", "Daniel Costa"]
ROLES_NL = ["", "", "Office manager", "Marketing", "Eigenaar", "Communicatie", "Afdeling ICT",
            "Secretariaat", "Directie", "Webredactie"]
ROLES_EN = ["", "", "Office manager", "Marketing", "Operations", "Communications", "Owner",
            "IT coordinator", "Web editor"]

GREET_NL = ["Hallo,", "Hoi,", "Beste helpdesk,", "Goedemorgen,", "Goedemiddag,", "Beste,",
            "Hoi allemaal,", "Beste support,", "Dag,", "Hallo team,", "Beste {agent},",
            "Hoi {agent},", ""]
GREET_EN = ["Hi,", "Hello,", "Dear support,", "Good morning,", "Hi team,", "Hello helpdesk,",
            "Dear helpdesk team,", "Hi {agent},", "Dear {agent},", "Good afternoon,", ""]
AGENTS = ["Sander", "Lotte", "Mehmet", "Joris", "Femke"]
OPEN_NL = ["", "", "", "Ik mail even over {site}.", "Ik hoop dat jullie me kunnen helpen.",
           "Even een berichtje over onze website.", "Vraag namens {org}.",
           "Ik schrijf jullie over {site}.", "Via deze weg een melding.",
           "Mijn collega vroeg me jullie te mailen."]
OPEN_EN = ["", "", "", "I'm writing about {site}.", "Hope you are well.",
           "A message about our website.", "Writing on behalf of {org}.",
           "My colleague asked me to email you."]
CLOSE_NL = ["", "", "", "Laat maar weten als jullie meer informatie nodig hebben.",
            "Ik ben vandaag telefonisch bereikbaar.", "Alvast bedankt!", "Hoor graag van jullie.",
            "Bel gerust als iets niet duidelijk is.", "Ik wacht jullie reactie af.",
            "Groetjes en een fijne dag."]
CLOSE_EN = ["", "", "", "Let me know if you need more information.",
            "I'm available by phone today.", "Thanks in advance!",
            "Looking forward to hearing from you.",
            "Feel free to call if anything is unclear.", "Have a nice day."]
SIGN_NL = ["Met vriendelijke groet,", "Groet,", "Groeten,", "Mvg,", "Vriendelijke groeten,",
           "Hartelijke groet,", "Gr.", "Dank en groet,", ""]
SIGN_EN = ["Kind regards,", "Best regards,", "Regards,", "Best,", "Cheers,", "Thanks,",
           "Many thanks,", "Best wishes,", ""]
DAY_NL = ["vanochtend", "sinds vanmorgen", "sinds gisteravond", "vandaag", "sinds een uur of tien",
          "sinds de lunch", "vanaf maandag", "sinds vannacht"]
DAY_EN = ["this morning", "since this morning", "since last night", "today", "since about ten",
          "since lunchtime", "since Monday", "overnight"]
ORGS = ["Bakkerij De Vries", "Fietsenhuis Zwolle", "Tandartspraktijk Oost",
        "Installatiebedrijf Kok",
        "Zorggroep Rivierenland", "Stichting De Wending", "Koffiebranderij IJssel",
        "Advocatenkantoor Meijer", "Tuincentrum Bloei", "Hoveniersbedrijf Jansen",
        "Transport Van Leeuwen", "Museum Het Brandhuis", "Yogastudio Licht",
        "Dakdekkersbedrijf Visser", "Wijnhandel Bacchus"]


DETAIL = {
    ("incident", "nl"): ["Ik heb de cache van mijn browser al geleegd, dat hielp niet.",
                         "Het gaat om Chrome en Edge op Windows.", "In de bijlage een screenshot.",
                         "Voor zover ik weet is er aan onze kant niets veranderd.",
                         "Het lijkt te spelen sinds de update van vorige week.",
                         "Mijn collega ziet hetzelfde op haar laptop."],
    ("incident", "en"): ["I already cleared my browser cache, it didn't help.",
                         "This is in Chrome and Edge on Windows.", "Screenshot attached.",
                         "As far as I know nothing changed on our side.",
                         "It seems to have started after last week's update.",
                         "My colleague sees the same on her laptop."],
    ("change", "nl"): ["Het hoeft niet voor het eind van de maand.",
                       "Het budget hiervoor is al goedgekeurd.",
                       "Laat maar weten of jullie eerst willen overleggen.",
                       "Kunnen jullie aangeven wanneer het in de planning past?",
                       "De teksten lever ik aan zodra ik akkoord heb van de directie."],
    ("change", "en"): ["It doesn't need to be done before the end of the month.",
                       "The budget for this has been approved.",
                       "Let me know if you'd like to discuss it first.",
                       "Could you tell me when it fits in your schedule?",
                       "I'll send the texts once management has signed off."],
    ("other", "nl"): ["Het is niet dringend.", "Verder is er niets aan de hand.",
                      "Ik hoor het graag als jullie tijd hebben.",
                      "Mocht het nodig zijn, dan bel ik even."],
    ("other", "en"): ["It's not urgent.", "Nothing else is wrong.",
                      "Let me know when you have a moment.", "If needed I'll give you a call."],
}


@dataclass(frozen=True)
class Mail:
    id: str
    subject: str
    body: str
    label_type: str
    label_priority: str
    language: str


def _fill(text: str, slots: dict[str, str]) -> str:
    for key, value in slots.items():
        text = text.replace("{" + key + "}", value)
    return text


def compose(scenarios: list[Scenario], rng: random.Random) -> list[Mail]:
    """Every scenario's every wording once, each wrapped in its own greeting and signature."""
    mails: list[Mail] = []
    for sc in scenarios:
        for lang, subjects, cores in (("nl", sc.subjects_nl, sc.bodies_nl),
                                      ("en", sc.subjects_en, sc.bodies_en)):
            renderings = [(n, core, rng.random() < 0.3) for n, core in enumerate(cores)]
            renderings += [(n, core, True) for n, core in enumerate(cores) if rng.random() < 0.33]
            for n, core, detailed in renderings:
                if detailed:
                    core = core + " " + rng.choice(DETAIL[(sc.type, lang)])
                k = rng.randrange(len(ORGS))
                slots = {"site": SITES[k], "org": ORGS[k], "agent": rng.choice(AGENTS),
                         "day": rng.choice(DAY_NL if lang == "nl" else DAY_EN),
                         "n": str(rng.choice([2, 3, 4, 5, 6, 8, 12, 15, 20]))}
                nl = lang == "nl"
                name = rng.choice(NAMES_NL if nl or rng.random() < 0.3 else NAMES_EN)
                role = rng.choice(ROLES_NL if nl else ROLES_EN)
                parts = [rng.choice(GREET_NL if nl else GREET_EN),
                         rng.choice(OPEN_NL if nl else OPEN_EN), core,
                         rng.choice(CLOSE_NL if nl else CLOSE_EN)]
                sign = rng.choice(SIGN_NL if nl else SIGN_EN)
                signature = "\n".join(x for x in (sign, name, role, slots["org"]) if x)
                if rng.random() < 0.2:
                    signature = name.split()[0]
                body = "\n\n".join(p for p in parts if p) + "\n\n" + signature
                subject = subjects[(n + rng.randrange(2)) % len(subjects)]
                if rng.random() < 0.12:
                    subject = rng.choice(["RE: ", "Fwd: ", "FW: "]) + subject
                mails.append(Mail(
                    id=f"seed-{len(mails) + 1:04d}", subject=_fill(subject, slots),
                    body=_fill(body, slots), label_type=sc.type,
                    label_priority=sc.priority or "", language=lang))
    rng.shuffle(mails)
    return [Mail(f"seed-{i + 1:04d}", m.subject, m.body, m.label_type, m.label_priority,
                 m.language) for i, m in enumerate(mails)]


def write(mails: list[Mail], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "subject", "body", "label_type", "label_priority", "language"])
        for m in mails:
            w.writerow([m.id, m.subject, m.body, m.label_type, m.label_priority, m.language])


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else OUT
    mails = compose(list(SCENARIOS), random.Random(20240917))
    write(mails, out)
    print(f"wrote {len(mails)} mails to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
