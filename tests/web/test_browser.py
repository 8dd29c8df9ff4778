"""The staff UI in a real headless Chromium against uvicorn on loopback."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from mailtriage.cli.main import root
from mailtriage.config import Config
from mailtriage.services.accounts import create_user
from mailtriage.store.database import Database
from mailtriage.store.models import Correction, Ticket
from mailtriage.web import create_app
from tests.web.conftest import (
    AMS,
    PASSWORD,
    USER,
    LiveServer,
    Seeded,
    browser_login,
    make_config,
)

pytestmark = pytest.mark.browser


def test_login_filter_open_and_correct_priority(page: Any, live: LiveServer,
                                                seeded: Seeded) -> None:
    browser_login(page, live.url)
    assert page.locator("tr[data-number]").count() == 5
    page.select_option("select[name=type]", "incident")
    page.click("form.filters button.primary")
    page.wait_for_url(re.compile(r".*type=incident.*"))
    assert page.locator("tr[data-number]").evaluate_all(
        "rows => rows.map(r => r.dataset.number)") == ["1002", "1001", "1006"]
    assert "row-at_risk" in (page.get_attribute("tr[data-number='1001']", "class") or "")
    assert "row-breached" in (page.get_attribute("tr[data-number='1002']", "class") or "")

    page.click("tr[data-number='1001'] td.subj a")
    page.wait_for_url(live.url + "/tickets/1001")
    assert "Tue 10 Mar 2026 13:00" in page.inner_text("#resolution-due")
    page.check("#correct-form input[name=priority][value=medium]")
    page.fill("#correct-form textarea[name=note]", "workaround: pay by invoice")
    page.click("#correct-form button.primary")
    page.wait_for_url(live.url + "/tickets/1001")
    # received Tue 10 Mar 09:00; medium: 8 office hours -> Tue 17:00, 16 -> Wed 16:30
    assert "Wed 11 Mar 2026 16:30" in page.inner_text("#resolution-due")
    assert "Tue 10 Mar 2026 17:00" in page.inner_text("#response-due")
    assert "Correction saved." in page.inner_text(".flash-ok")
    assert "workaround: pay by invoice" in page.inner_text("table.corrections")
    with seeded.db.session() as s:
        (c,) = s.scalars(select(Correction)).all()
    assert (c.actor, c.before["priority"], c.after["priority"]) == ("anna", "high", "medium")


def test_reply_then_wait_on_the_customer(page: Any, live: LiveServer, seeded: Seeded) -> None:
    browser_login(page, live.url)
    page.goto(live.url + "/tickets/1001")
    assert page.get_attribute("#response-due .clock", "data-state") == "at_risk"
    page.fill("#reply-form textarea[name=text]", "Hallo Pieter,\nwelke browser gebruikt u?")
    page.select_option("#reply-form select[name=then_status]", "waiting")
    page.click("#reply-form button.primary")
    page.wait_for_url(live.url + "/tickets/1001#messages")
    assert "First response recorded" in page.inner_text(".flash-ok")
    reply = page.locator("article.message-out")
    assert reply.count() == 1
    assert "welke browser gebruikt u?" in reply.inner_text()
    assert reply.locator(".badge-staff").inner_text() == "staff reply"
    assert reply.locator("[data-outbox]").inner_text() == "waiting to be sent"
    assert page.get_attribute("#response-due .clock", "data-state") == "met"
    assert page.get_attribute("#resolution-due .clock", "data-state") == "paused"
    assert page.inner_text("ol.lifecycle li.current") == "Waiting on customer"
    page.click("form.quick button[value=open]")  # the customer answered by phone
    page.wait_for_url(live.url + "/tickets/1001")
    assert page.get_attribute("#resolution-due .clock", "data-state") == "running"
    assert page.inner_text("#ticket-status") == "Open"


def test_hostile_mail_executes_nothing(page: Any, live: LiveServer) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    foreign: list[str] = []
    page.on("request", lambda r: foreign.append(r.url)
            if urlsplit(r.url).hostname not in ("127.0.0.1",) else None)
    browser_login(page, live.url)
    page.goto(live.url + "/tickets/1005")
    page.wait_for_load_state("load")
    title = page.title()
    assert "Factuur maart" in title
    page.hover("text=Beweeg hier")
    page.click("text=Klik hier")
    page.click("text=Meer")
    page.wait_for_timeout(300)
    assert page.url == live.url + "/tickets/1005"
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.title() == title and "PWNED" not in page.title()
    assert dialogs == []
    assert foreign == []  # no remote image, frame or refresh was requested
    assert page.locator(".mailhtml img[src]").count() == 0
    assert page.locator(".mailhtml script, .mailhtml svg, .mailhtml iframe").count() == 0
    assert page.is_visible("text=Zie de factuur in de bijlage.")  # <style> did not hide it


PAGES = ["/", "/?type=incident", "/tickets/1001", "/report", "/model", "/api/docs",
         "/attachments/1", "/attachments/2"]


def test_logged_out_everything_leads_to_login(page: Any, live: LiveServer) -> None:
    for path in PAGES:
        page.goto(live.url + path)
        assert urlsplit(page.url).path == "/login", path
        assert page.is_visible("input[name=password]")
    # and after signing out again
    browser_login(page, live.url)
    page.click("form[action='/logout'] button")
    page.wait_for_url(re.compile(r".*/login$"))
    for path in PAGES:
        page.goto(live.url + path)
        assert urlsplit(page.url).path == "/login", path


def test_form_post_without_csrf_token_is_refused(page: Any, live: LiveServer,
                                                 seeded: Seeded) -> None:
    browser_login(page, live.url)
    page.goto(live.url + "/tickets/1001")
    page.eval_on_selector("#correct-form input[name=csrf]", "el => el.remove()")
    page.check("#correct-form input[name=priority][value=low]")
    with page.expect_response(lambda r: r.url.endswith("/tickets/1001/correct")) as info:
        page.click("#correct-form button.primary")
    assert info.value.status == 403
    assert "form token" in page.content()
    with seeded.db.session() as s:
        assert s.scalars(select(Correction)).all() == []
    response = page.request.post(live.url + "/tickets/1001/correct",
                                 form={"priority": "low"}, max_redirects=0)
    assert response.status == 403


# ---------------------------------------------------------------------------------------------
# A month of incidents: the report page against a hand count and the CLI


def _at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=AMS).astimezone(UTC)


M = 3  # March 2026; office hours Mon-Fri 08:30-17:00
# number, priority, received, response due, answered, resolution due, resolved (None: open);
# the due instants are the ones the SLA engine gives for the receipt and priority.
MONTH = [
    # high: 2 office hours to respond, 4 to resolve
    (2001, "high", _at(M, 2, 9), _at(M, 2, 11), _at(M, 2, 9, 40),
     _at(M, 2, 13), _at(M, 2, 12, 30)),                          # met, met
    (2002, "high", _at(M, 4, 14), _at(M, 4, 16), _at(M, 4, 16),
     _at(M, 5, 9, 30), _at(M, 5, 11)),                           # met on the dot, missed
    (2003, "high", _at(M, 17, 10), _at(M, 17, 12), _at(M, 17, 12, 5),
     _at(M, 17, 14), _at(M, 17, 13, 50)),                        # missed, met
    (2004, "high", _at(M, 27, 16), _at(M, 30, 9, 30), _at(M, 30, 8, 45),
     _at(M, 30, 11, 30), _at(M, 30, 11, 30)),                    # met, met on the dot
    # medium: 8 office hours to respond, 16 to resolve
    (2005, "medium", _at(M, 9, 9), _at(M, 9, 17), _at(M, 9, 13),
     _at(M, 10, 16, 30), _at(M, 10, 15)),                        # met, met
    (2006, "medium", _at(M, 11, 11), _at(M, 12, 10, 30), _at(M, 11, 15),
     _at(M, 13, 10), _at(M, 13, 9)),                             # met, met
    (2007, "medium", _at(M, 23, 8, 30), _at(M, 23, 16, 30), _at(M, 23, 16, 30),
     _at(M, 24, 16), None),                                      # met, never resolved: missed
    (2008, "medium", _at(M, 26, 9), _at(M, 26, 17), _at(M, 26, 10),
     _at(M, 27, 16, 30), _at(M, 27, 16)),                        # met, met
    # low: 16 office hours to respond, 5 working days to resolve
    (2009, "low", _at(M, 2, 10), _at(M, 4, 9), _at(M, 3, 11),
     _at(M, 9, 10), _at(M, 6, 14)),                              # met, met
    (2010, "low", _at(M, 10, 14), _at(M, 12, 13), _at(M, 13, 9),
     _at(M, 17, 14), _at(M, 16, 12)),                            # missed, met
    (2011, "low", _at(M, 18, 9), _at(M, 19, 16, 30), _at(M, 18, 11),
     _at(M, 25, 9), _at(M, 24, 10)),                             # met, met
    (2012, "low", _at(M, 16, 8, 30), _at(M, 17, 16), _at(M, 16, 9),
     _at(M, 20, 17), _at(M, 20, 15)),                            # met, met (whole first day)
    # received in February: its response counts in February, its resolution in March
    (2013, "high", _at(2, 27, 15), _at(2, 27, 17), _at(2, 27, 15, 30),
     _at(M, 2, 10, 30), _at(M, 2, 10)),                          # (Feb), met
    # received in March, both deadlines in April: not in March
    (2014, "medium", _at(M, 31, 16), _at(4, 1, 15, 30), _at(4, 1, 9),
     _at(4, 2, 15), _at(4, 2, 11)),
]

# The hand count for March 2026 (priority, measure): n, met, percent, target, passed.
MARCH = {
    ("high", "response"): (4, 3, "75.0", "100%", "no"),       # 2003 answered 5 minutes late
    ("high", "resolution"): (5, 4, "80.0", "85%", "no"),      # 2002 late; 2013 counts here
    ("medium", "response"): (4, 4, "100.0", "100%", "yes"),
    ("medium", "resolution"): (4, 3, "75.0", "85%", "no"),    # 2007 never resolved
    ("low", "response"): (4, 3, "75.0", "100%", "no"),        # 2010 answered late
    ("low", "resolution"): (4, 4, "100.0", "85%", "yes"),
}
APRIL_15 = _at(4, 15, 12)


def _seed_month(db: Database) -> None:
    with db.session() as s:
        for number, priority, received, r_due, answered, s_due, resolved in MONTH:
            s.add(Ticket(number=number, subject=f"Storing {number}", requester="ops@acme.nl",
                         requester_name="Ops", type="incident", priority=priority,
                         confidence=0.9, needs_review=False, decided_by="model", reasons=[],
                         status="open" if resolved is None else "resolved",
                         received_at=received, response_due=r_due, resolution_due=s_due,
                         first_response_at=answered, resolved_at=resolved,
                         sla_level="guaranteed"))
        # a change request in March has no clock and is not counted
        s.add(Ticket(number=2015, subject="Nieuwe pagina", requester="ops@acme.nl",
                     requester_name="Ops", type="change", priority=None, confidence=0.9,
                     needs_review=False, decided_by="model", reasons=[], status="open",
                     received_at=_at(M, 12, 10), sla_level="guaranteed"))


@pytest.fixture
def month_db(tmp_path: Path) -> Iterator[tuple[Config, Database]]:
    config = make_config(tmp_path)
    db = Database(config.database.url)
    db.migrate()
    create_user(db, USER, PASSWORD)
    _seed_month(db)
    yield config, db
    db.dispose()


def test_month_report_matches_the_hand_count_and_the_cli(page: Any, tmp_path: Path,
                                                         month_db: tuple[Config, Database]
                                                         ) -> None:
    config, db = month_db
    app = create_app(config, db, clock=lambda: APRIL_15)
    with LiveServer(app) as live:
        browser_login(page, live.url)
        page.click("nav a[href='/report']")
        page.wait_for_url(live.url + "/report")
        assert "2026-04" in page.inner_text("h1")
        page.click("a[href='/report?month=2026-03']")
        page.wait_for_url(live.url + "/report?month=2026-03")
        shown = {}
        for row in page.locator("table.report tbody tr").all():
            key = (row.get_attribute("data-priority"), row.get_attribute("data-kind"))
            cells = row.locator("td").all_inner_texts()
            shown[key] = (int(cells[2]), int(cells[3]), cells[4], cells[5], cells[6])
        # the bars of the chart carry the same figures
        bars = page.locator("svg.chart rect.bar title").evaluate_all(
            "titles => titles.map(t => t.textContent)")
    assert shown == MARCH
    assert "High · Resolution: 80.0% (n=5)" in bars
    assert "Medium · Response: 100.0% (n=4)" in bars

    toml = tmp_path / "mailtriage.toml"
    toml.write_text(f'[database]\nurl = "{config.database.url}"\n')
    result = CliRunner().invoke(root, ["--config", str(toml), "report", "sla", "--month",
                                       "2026-03", "--json"])
    assert result.exit_code == 0, result.output
    cli = {}
    for r in json.loads(result.output):
        assert r["month"] == "2026-03"
        for kind in ("response", "resolution"):
            m = r[kind]
            cli[(r["priority"], kind)] = (
                m["n"], m["met"], f"{m['percentage']:.1f}", f"{m['target']:g}%",
                "yes" if m["passed"] else "no")
    assert cli == MARCH
