"""The staff pages through the ASGI app: sign-in, the gate, CSRF, headers, queue, ticket,
downloads, language, report and model page."""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from starlette.testclient import TestClient

from mailtriage.config import ClassifyConfig, Config
from mailtriage.store.database import Database
from mailtriage.store.models import Correction, Ticket, TrainingExample, User
from mailtriage.web import create_app
from mailtriage.web.headers import CSP
from tests.web.conftest import (
    NOW,
    PASSWORD,
    PNG_1PX,
    SVG_ATTACHMENT,
    USER,
    Seeded,
    csrf_from,
    login,
)

PROTECTED = ["/", "/?type=incident", "/tickets/1001", "/tickets/99999", "/report", "/model",
             "/api/docs", "/api/openapi.json", "/attachments/1", "/attachments/2",
             "/no/such/page"]


def numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-number="(\d+)"', html)]


# ---------------------------------------------------------------------------------------------
# The gate


@pytest.mark.parametrize("path", PROTECTED)
def test_nothing_is_reachable_without_signing_in(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_static_css_and_login_page_are_public(client: TestClient) -> None:
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/login").status_code == 200


def test_login_redirects_to_the_page_asked_for(client: TestClient) -> None:
    first = client.get("/tickets/1001?view=text", follow_redirects=False)
    target = first.headers["location"]
    assert target == "/login?next=%2Ftickets%2F1001%3Fview%3Dtext"
    page = client.get(target)
    response = client.post("/login", data={"username": USER, "password": PASSWORD,
                                           "csrf": csrf_from(page.text),
                                           "next": "/tickets/1001?view=text"},
                           follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/tickets/1001?view=text"


@pytest.mark.parametrize("evil", ["//evil.example/", "https://evil.example/", "/\\evil.example",
                                  "javascript:alert(1)"])
def test_no_open_redirect_after_login(client: TestClient, evil: str) -> None:
    page = client.get("/login")
    response = client.post("/login", data={"username": USER, "password": PASSWORD,
                                           "csrf": csrf_from(page.text), "next": evil},
                           follow_redirects=False)
    assert response.headers["location"] == "/"


def test_wrong_password(client: TestClient) -> None:
    response = login(client, password="wrong")
    assert response.status_code == 401
    assert "wrong" in response.text or "onjuist" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_rate_limit_per_user_name(client: TestClient) -> None:
    for _ in range(5):
        assert login(client, password="wrong").status_code == 401
    blocked = login(client)  # even the right password is refused now
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_rate_limit_per_address(client: TestClient) -> None:
    for i in range(5):
        assert login(client, user=f"nobody{i}", password="wrong").status_code == 401
    assert login(client, user="bert", password="another long password").status_code == 429


def test_session_cookie_flags(client: TestClient) -> None:
    response = login(client)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("mailtriage_session=")
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()


def test_secure_cookies(seeded: Seeded) -> None:
    from dataclasses import replace

    config = replace(seeded.config, web=replace(seeded.config.web, secure_cookies=True))
    app = create_app(config, seeded.db, clock=lambda: NOW)
    with TestClient(app, base_url="https://testserver") as c:
        cookie = login(c).headers["set-cookie"]
        assert cookie.startswith("__Host-mailtriage=")
        assert "; secure" in cookie.lower()
        assert "Strict-Transport-Security" in c.get("/").headers


def test_logout_ends_the_session(staff: TestClient) -> None:
    page = staff.get("/")
    response = staff.post("/logout", data={"csrf": csrf_from(page.text)},
                          follow_redirects=False)
    assert response.headers["location"] == "/login"
    assert staff.get("/", follow_redirects=False).status_code == 303


def test_a_deactivated_account_loses_access_at_once(staff: TestClient, seeded: Seeded) -> None:
    assert staff.get("/", follow_redirects=False).status_code == 200
    with seeded.db.session() as s:
        s.execute(update(User).where(User.name == USER).values(active=False))
    assert staff.get("/", follow_redirects=False).status_code == 303


def test_a_forged_session_cookie_is_ignored(client: TestClient) -> None:
    client.cookies.set("mailtriage_session", "eyJ1c2VyIjogImFubmEifQ==.forged.signature")
    assert client.get("/", follow_redirects=False).status_code == 303


# ---------------------------------------------------------------------------------------------
# CSRF


@pytest.mark.parametrize(("path", "data"), [
    ("/tickets/1001/correct", {"priority": "low", "note": "x"}),
    ("/logout", {}),
    ("/lang", {"lang": "nl"}),
    ("/model/retrain", {}),
])
def test_post_without_csrf_token_is_refused(staff: TestClient, seeded: Seeded, path: str,
                                            data: dict[str, str]) -> None:
    response = staff.post(path, data=data, follow_redirects=False)
    assert response.status_code == 403
    wrong = staff.post(path, data={**data, "csrf": "x" * 43}, follow_redirects=False)
    assert wrong.status_code == 403
    with seeded.db.session() as s:
        assert s.scalar(select(Ticket.priority).where(Ticket.number == 1001)) == "high"
        assert s.scalars(select(Correction)).all() == []
    assert staff.get("/", follow_redirects=False).status_code == 200  # still signed in


def test_login_form_needs_its_token_too(client: TestClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": USER, "password": PASSWORD},
                           follow_redirects=False)
    assert response.status_code == 403


def test_token_changes_at_sign_in(client: TestClient) -> None:
    before = csrf_from(client.get("/login").text)
    login(client)
    after = csrf_from(client.get("/").text)
    assert before != after


def test_csrf_header_is_accepted(staff: TestClient) -> None:
    token = csrf_from(staff.get("/").text)
    response = staff.post("/lang", data={"lang": "nl", "next": "/"},
                          headers={"X-CSRF-Token": token}, follow_redirects=False)
    assert response.status_code == 303


# ---------------------------------------------------------------------------------------------
# Headers


@pytest.mark.parametrize("path", ["/login", "/static/style.css"])
def test_security_headers_public(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    assert headers["content-security-policy"] == CSP
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"


def test_csp_is_strict() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["style-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert directives["form-action"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert "script-src" not in directives  # falls back to default-src 'none'
    assert "unsafe" not in CSP


@pytest.mark.parametrize("path", ["/", "/tickets/1005", "/report", "/model", "/api/docs"])
def test_security_headers_and_no_inline_script(staff: TestClient, path: str) -> None:
    response = staff.get(path)
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CSP
    assert "<script" not in response.text.lower()
    assert " style=" not in response.text.lower()


# ---------------------------------------------------------------------------------------------
# The queue


@pytest.mark.parametrize(("query", "expected"), [
    ("", [1003, 1002, 1001, 1006, 1005]),  # needs review first, then the nearest deadline
    ("?status=all", [1003, 1002, 1001, 1006, 1004, 1005]),
    ("?type=incident", [1002, 1001, 1006]),
    ("?type=change", [1003]),
    ("?priority=medium", [1002, 1006]),
    ("?priority=none", [1003, 1005]),
    ("?status=waiting", [1006]),
    ("?status=resolved", [1004]),
    ("?customer=acme.nl", [1002, 1001]),
    ("?customer=acme.nl&status=all", [1002, 1001, 1004]),
    ("?requester=bakkerij", [1003, 1006]),
    ("?requester=KEES", [1006]),
    ("?requester=%25", []),              # a LIKE wildcard is searched for literally
    ("?review=1", [1003]),
    ("?type=bogus&status=bogus", [1003, 1002, 1001, 1006, 1005]),  # unknown values ignored
])
def test_queue_filters(staff: TestClient, query: str, expected: list[int]) -> None:
    response = staff.get("/" + query)
    assert response.status_code == 200
    assert numbers(response.text) == expected


def _row(html: str, number: int) -> str:
    match = re.search(rf'<tr class="([^"]*)" data-number="{number}">(.*?)</tr>', html, re.S)
    assert match, number
    return match.group(1) + " " + match.group(2)


def test_queue_highlights_deadlines(staff: TestClient) -> None:
    html = staff.get("/?lang=en").text
    # 1002: response was due Mon 9 Mar 17:00, now is Tue 10:30
    assert "row-breached" in _row(html, 1002)
    assert "clock-breached" in _row(html, 1002)
    # 1001: response due 11:00 after 2 office hours; 30 minutes (25%) left is at risk
    row = _row(html, 1001)
    assert "row-at_risk" in row
    assert "clock-at_risk" in row and "30m" in row
    # resolution due 13:00: 2h 30m left of 4h, fine
    assert "2h 30m" in row or "2u 30m" in row
    # 1006 waits on the customer: response met, resolution paused
    row = _row(html, 1006)
    assert "row-none" in row and "clock-paused" in row and "clock-met" in row
    assert "row-review" in _row(html, 1003)


# ---------------------------------------------------------------------------------------------
# A ticket


def test_ticket_page(staff: TestClient) -> None:
    html = staff.get("/tickets/1001").text
    assert "Webshop geeft foutmelding bij afrekenen" in html
    assert "Sinds vanochtend kan niemand meer afrekenen" in html
    assert "model: incident 0.92, high 0.81" in html  # reasons
    assert "92%" in html  # confidence
    assert 'name="csrf"' in html
    assert "/tickets/1001/correct" in html


def test_unknown_ticket_is_404(staff: TestClient) -> None:
    assert staff.get("/tickets/99999").status_code == 404
    assert staff.get("/tickets/abc").status_code == 404


def test_hostile_mail_is_rendered_inert(staff: TestClient) -> None:
    html = staff.get("/tickets/1005").text
    body = html[html.index('class="mailhtml"'):]
    body = body[:body.index("</article>")]
    for marker in ("<script", "onerror", "onload", "javascript:", "__pwned", "169.254",
                   "tracker.evil", "<svg", "<iframe", "<base", "<meta", "<form", "ontoggle",
                   "<style", "<object", "data:text"):
        assert marker not in body.lower(), marker
    assert 'href="https://www.example.org/docs"' in body
    assert "(3)" in html  # three images were not loaded


def test_text_view(staff: TestClient) -> None:
    html = staff.get("/tickets/1005?view=text").text
    assert 'class="mailhtml"' not in html
    assert "Zie de factuur in de bijlage." in html


# ---------------------------------------------------------------------------------------------
# Downloads


def test_active_attachment_is_a_download_only(staff: TestClient, seeded: Seeded) -> None:
    response = staff.get(f"/attachments/{seeded.attachments['svg']}")
    assert response.status_code == 200
    assert response.content == SVG_ATTACHMENT
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert disposition == ("attachment; filename=\"_.._etc_cron.d_factuur_.svg\"; "
                           "filename*=UTF-8''_.._etc_cron.d_factuur%C3%A9.svg")
    assert "sandbox" in response.headers["content-security-policy"]


def test_html_attachment_is_not_served_as_html(staff: TestClient, seeded: Seeded) -> None:
    response = staff.get(f"/attachments/{seeded.attachments['html']}")
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith("attachment;")


def test_passive_attachment_keeps_its_type(staff: TestClient, seeded: Seeded) -> None:
    response = staff.get(f"/attachments/{seeded.attachments['png']}")
    assert response.headers["content-type"] == "image/png"
    assert response.content == PNG_1PX
    assert "filename*=UTF-8''schermafbeelding.png" in response.headers["content-disposition"]


def test_missing_attachment(staff: TestClient) -> None:
    assert staff.get("/attachments/999").status_code == 404


# ---------------------------------------------------------------------------------------------
# Language


def test_accept_language_picks_dutch(client: TestClient) -> None:
    html = client.get("/login", headers={"Accept-Language": "nl-NL,nl;q=0.9"}).text
    assert "Gebruikersnaam" in html
    assert '<html lang="nl">' in html


def test_language_switch(staff: TestClient) -> None:
    token = csrf_from(staff.get("/", headers={"Accept-Language": "en"}).text)
    assert "Needs review" in staff.get("/", headers={"Accept-Language": "en"}).text
    response = staff.post("/lang", data={"lang": "nl", "next": "/?type=incident",
                                         "csrf": token}, follow_redirects=False)
    assert response.headers["location"] == "/?type=incident"
    html = staff.get("/", headers={"Accept-Language": "en"}).text
    assert "Wachtrij" in html and "Reactie uiterlijk" in html


# ---------------------------------------------------------------------------------------------
# SLA report


def _report_row(html: str, priority: str, kind: str) -> list[str]:
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                         row, re.S)]
        if cells[:2] == [priority, kind]:
            return cells
    raise AssertionError(f"no row {priority} {kind}")


def test_report_from_the_stored_tickets(staff: TestClient) -> None:
    html = staff.get("/report?month=2026-03", headers={"Accept-Language": "en"}).text
    # medium response: #1002 missed (due Mon 17:00, no reply), #1006 met -> 1 of 2
    assert _report_row(html, "Medium", "Response")[2:6] == ["2", "1", "50.0", "100%"]
    assert _report_row(html, "Medium", "Response")[6] == "no"
    # low: #1004 replied and resolved in time
    assert _report_row(html, "Low", "Response")[2:5] == ["1", "1", "100.0"]
    assert _report_row(html, "Low", "Resolution")[2:7] == ["1", "1", "100.0", "85%", "yes"]
    assert "<svg" in html and 'class="bar bar-response bar-fail"' in html
    assert "/report?month=2026-02" in html and "/report?month=2026-04" in html


def test_report_defaults_to_this_month(staff: TestClient) -> None:
    html = staff.get("/report?month=garbage").text
    assert "2026-03" in html


# ---------------------------------------------------------------------------------------------
# Model page


def test_model_page_shows_the_active_model_and_new_corrections(seeded: Seeded,
                                                                 tmp_path: Path) -> None:
    from dataclasses import replace

    from mailtriage.classify.engine import active_metadata

    classify = ClassifyConfig(model_dir=tmp_path / "model")
    active = active_metadata(classify)  # without a trained model: the bundled one
    assert active is not None
    trained = datetime.fromisoformat(active.created)
    with seeded.db.session() as s:
        for i, delta in enumerate((-1, 1, 2)):  # one example older than the model
            s.add(TrainingExample(source="correction", external_id=f"c{i}", subject="s",
                                  body="b", label_type="incident", label_priority="high",
                                  updated_at=trained + timedelta(days=delta)))
    config = replace(seeded.config, classify=classify)
    with TestClient(create_app(config, seeded.db, clock=lambda: NOW)) as c:
        login(c)
        html = c.get("/model", headers={"Accept-Language": "en"}).text
    assert active.version in html
    assert str(active.training_size) in html
    assert re.search(r'id="corrections-since"><strong>2</strong>', html)
    assert 'action="/model/retrain"' in html


def test_retrain_runs_in_the_background(seeded: Seeded) -> None:
    called = threading.Event()
    seen: list[tuple[Config, Database, datetime]] = []

    def retrain(config: Config, db: Database, now: datetime) -> dict[str, str]:
        seen.append((config, db, now))
        called.set()
        return {"version": "2026.03.10-1"}

    app: FastAPI = create_app(seeded.config, seeded.db, clock=lambda: NOW, retrain=retrain)
    with TestClient(app) as c:
        login(c)
        token = csrf_from(c.get("/model").text)
        response = c.post("/model/retrain", data={"csrf": token}, follow_redirects=False)
        assert response.status_code == 303
        assert called.wait(5)
        app.state.retrainer.join(5)
        html = c.get("/model", headers={"Accept-Language": "en"}).text
    assert seen == [(seeded.config, seeded.db, NOW)]
    assert "Last training finished" in html and "version 2026.03.10-1" in html


def test_retrain_failure_is_shown(seeded: Seeded) -> None:
    def retrain(config: Config, db: Database, now: datetime) -> None:
        raise RuntimeError("too few examples")

    app = create_app(seeded.config, seeded.db, clock=lambda: NOW, retrain=retrain)
    with TestClient(app) as c:
        login(c)
        c.post("/model/retrain", data={"csrf": csrf_from(c.get("/model").text)})
        app.state.retrainer.join(5)
        html = c.get("/model", headers={"Accept-Language": "en"}).text
    assert "Last training failed" in html and "too few examples" in html


def test_api_docs_page_lists_the_operations(staff: TestClient) -> None:
    html = staff.get("/api/docs").text
    for text in ("/api/tickets", "/api/tickets/{number}", "/api/tickets/{number}/corrections",
                 "Bearer"):
        assert text in html


# ---------------------------------------------------------------------------------------------
# Corrections from the ticket page


def test_correction_form_changes_priority_and_shows_the_new_deadline(staff: TestClient,
                                                                     seeded: Seeded) -> None:
    page = staff.get("/tickets/1001", headers={"Accept-Language": "en"})
    response = staff.post("/tickets/1001/correct",
                          data={"csrf": csrf_from(page.text), "type": "incident",
                                "priority": "medium", "status": "", "note": "workaround"},
                          headers={"Accept-Language": "en"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/tickets/1001"
    html = staff.get("/tickets/1001", headers={"Accept-Language": "en"}).text
    # received Tue 10 Mar 09:00; medium: Tue 17:00 and Wed 16:30
    assert "Correction saved." in html
    assert "Response Tue 10 Mar 2026 17:00, Resolution Wed 11 Mar 2026 16:30" in html
    assert re.search(r'id="resolution-due">.*?Wed 11 Mar 2026 16:30', html, re.S)
    with seeded.db.session() as s:
        (c,) = s.scalars(select(Correction)).all()
    assert (c.actor, c.note, c.before["priority"], c.after["priority"]) == (
        USER, "workaround", "high", "medium")
    assert c.before["type"] == c.after["type"] == "incident"


def test_quick_status_button(staff: TestClient, seeded: Seeded) -> None:
    page = staff.get("/tickets/1002")
    staff.post("/tickets/1002/correct", data={"csrf": csrf_from(page.text), "status": "resolved"})
    with seeded.db.session() as s:
        t = s.scalar(select(Ticket).where(Ticket.number == 1002))
        assert t is not None and t.status == "resolved" and t.resolved_at == NOW


def test_unchanged_form_records_nothing(staff: TestClient, seeded: Seeded) -> None:
    page = staff.get("/tickets/1001", headers={"Accept-Language": "en"})
    staff.post("/tickets/1001/correct", data={"csrf": csrf_from(page.text), "type": "incident",
                                              "priority": "high", "status": ""},
               headers={"Accept-Language": "en"}, follow_redirects=False)
    html = staff.get("/tickets/1001", headers={"Accept-Language": "en"}).text
    assert "Nothing to change" in html
    with seeded.db.session() as s:
        assert s.scalars(select(Correction)).all() == []


def test_refused_correction_is_explained(staff: TestClient, seeded: Seeded) -> None:
    page = staff.get("/tickets/1003")  # a change request: making it an incident needs a priority
    staff.post("/tickets/1003/correct", data={"csrf": csrf_from(page.text), "type": "incident"},
               follow_redirects=False)
    html = staff.get("/tickets/1003").text
    assert "flash-error" in html and "priority" in html
    with seeded.db.session() as s:
        assert s.scalar(select(Ticket.type).where(Ticket.number == 1003)) == "change"
