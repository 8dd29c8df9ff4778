"""The staff UI in a real headless Chromium against uvicorn on loopback."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from mailtriage.store.models import Correction
from tests.web.conftest import LiveServer, Seeded, browser_login

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
