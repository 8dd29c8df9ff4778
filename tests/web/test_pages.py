"""The staff pages through the ASGI app: sign-in, the gate, CSRF, headers, queue, ticket,
downloads, language, report and model page."""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from fastapi import FastAPI
from httpx import Response
from sqlalchemy import select, update
from starlette.testclient import TestClient

from mailtriage.config import ClassifyConfig, Config
from mailtriage.store.database import Database
from mailtriage.store.models import (
    Correction,
    Message,
    OutboxItem,
    Ticket,
    TicketEvent,
    TrainingExample,
    User,
)
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
    local,
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


# ---------------------------------------------------------------------------------------------
# Staff replies from the ticket page


def _ticket_row(seeded: Seeded, number: int) -> Ticket:
    with seeded.db.session() as s:
        t = s.scalar(select(Ticket).where(Ticket.number == number))
        assert t is not None
        s.expunge(t)
        return t


def _clock_state(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">\s*<span class="clock clock-\w+" data-state="(\w+)"',
                      html)
    assert match, f"no clock in #{element_id}"
    return match.group(1)


def _reply(staff: TestClient, number: int, text: str, then: str = "") -> Response:
    page = staff.get(f"/tickets/{number}", headers={"Accept-Language": "en"})
    return staff.post(f"/tickets/{number}/reply",
                      data={"csrf": csrf_from(page.text), "text": text, "then_status": then},
                      headers={"Accept-Language": "en"}, follow_redirects=False)


def test_reply_without_csrf_token_is_refused(staff: TestClient, seeded: Seeded) -> None:
    response = staff.post("/tickets/1001/reply", data={"text": "Hallo Pieter"},
                          follow_redirects=False)
    assert response.status_code == 403
    response = staff.post("/tickets/1001/reply", data={"text": "Hallo", "csrf": "forged"},
                          follow_redirects=False)
    assert response.status_code == 403
    with seeded.db.session() as s:
        assert s.scalars(select(OutboxItem)).all() == []
        assert s.scalars(select(Message).where(Message.direction == "out")).all() == []
    assert _ticket_row(seeded, 1001).first_response_at is None


def test_reply_is_queued_threaded_and_stops_the_response_clock(staff: TestClient,
                                                               seeded: Seeded) -> None:
    before = staff.get("/tickets/1001", headers={"Accept-Language": "en"}).text
    assert 'id="reply-form"' in before
    assert _clock_state(before, "response-due") == "at_risk"
    response = _reply(staff, 1001, "Hallo Pieter,\n\nWe kijken ernaar.\n\nGroet, Anna")
    assert response.status_code == 303
    assert response.headers["location"] == "/tickets/1001#messages"
    with seeded.db.session() as s:
        (row,) = s.scalars(select(OutboxItem)).all()
        (out,) = s.scalars(select(Message).where(Message.direction == "out")).all()
        assert (row.kind, row.status, row.recipient) == ("reply", "pending", "pieter@acme.nl")
        assert row.message_id == out.message_id
        mail = message_from_bytes(row.body, policy=default_policy)
    assert mail["In-Reply-To"] == "<1001@example.test>"
    assert mail["Subject"] == "Re: Webshop geeft foutmelding bij afrekenen [#1001]"
    assert "We kijken ernaar." in mail.get_content()
    t = _ticket_row(seeded, 1001)
    assert (t.first_response_at, t.status) == (NOW, "open")

    html = staff.get("/tickets/1001", headers={"Accept-Language": "en"}).text
    assert "First response recorded" in html and "Reply queued for pieter@acme.nl." in html
    assert html.count("badge-staff") == 1 and "staff reply" in html
    assert 'data-outbox="pending"' in html and "waiting to be sent" in html
    assert "We kijken ernaar." in html
    # answered at 10:30, due 11:00: met; resolution still running
    assert _clock_state(html, "response-due") == "met"
    assert "answered Tue 10 Mar 2026 10:30" in html
    assert _clock_state(html, "resolution-due") == "running"


def test_reply_then_waiting_pauses_the_resolution_clock(staff: TestClient,
                                                        seeded: Seeded) -> None:
    response = _reply(staff, 1002, "Kunt u een schermafbeelding sturen?", then="waiting")
    assert response.status_code == 303
    t = _ticket_row(seeded, 1002)
    assert (t.status, t.first_response_at) == ("waiting", NOW)
    html = staff.get("/tickets/1002", headers={"Accept-Language": "en"}).text
    # response was due Mon 17:00 and came Tue 10:30: breached, stopped
    assert _clock_state(html, "response-due") == "breached"
    # received Mon 09:00, medium (16 office hours): Mon 8h + Tue 08:30-10:30 2h used, 6h left
    assert _clock_state(html, "resolution-due") == "paused"
    assert "6h 00m left" in html
    assert '<li class="current" aria-current="step">Waiting on customer</li>' in html
    queue = staff.get("/?lang=en", headers={"Accept-Language": "en"}).text
    row = _row(queue, 1002)
    assert 'data-state="paused"' in row and "row-none" in row
    with seeded.db.session() as s:
        kinds = [(e.kind, e.actor, e.data.get("to")) for e in s.scalars(
            select(TicketEvent).join(Ticket).where(Ticket.number == 1002)
            .order_by(TicketEvent.id))]
    assert kinds == [("response", USER, None), ("status_changed", USER, "waiting")]


def test_a_later_reply_is_not_a_first_response(staff: TestClient, seeded: Seeded) -> None:
    _reply(staff, 1006, "Heeft u de gegevens al gevonden?")
    t = _ticket_row(seeded, 1006)
    assert t.first_response_at == local(9, 14, 30)
    assert t.status == "waiting"  # kept
    html = staff.get("/tickets/1006", headers={"Accept-Language": "en"}).text
    assert "Reply queued for kees@bakkerij.nl." in html
    assert "First response recorded" not in html
    assert _clock_state(html, "resolution-due") == "paused"


def test_reply_then_resolved_stops_the_resolution_clock(staff: TestClient,
                                                        seeded: Seeded) -> None:
    _reply(staff, 1001, "Opgelost: de betaalmodule is hersteld.", then="resolved")
    t = _ticket_row(seeded, 1001)
    assert (t.status, t.resolved_at, t.first_response_at) == ("resolved", NOW, NOW)
    html = staff.get("/tickets/1001", headers={"Accept-Language": "en"}).text
    assert _clock_state(html, "resolution-due") == "met"
    assert "resolved Tue 10 Mar 2026 10:30" in html


@pytest.mark.parametrize(("status", "error", "shown"), [
    ("sent", "", "sent · Tue 10 Mar 2026 10:31"),
    ("failed", "gave up after 5 attempts: 550 mailbox unavailable", "sending failed"),
    ("uncertain", "connection lost after DATA", "uncertain whether sent"),
])
def test_outbox_state_of_a_reply_is_shown(staff: TestClient, seeded: Seeded, status: str,
                                          error: str, shown: str) -> None:
    _reply(staff, 1001, "Hallo")
    with seeded.db.session() as s:
        s.execute(update(OutboxItem).values(
            status=status, last_error=error, attempts=5 if error else 1,
            sent_at=NOW + timedelta(minutes=1) if status == "sent" else None))
    html = staff.get("/tickets/1001", headers={"Accept-Language": "en"}).text
    assert f'data-outbox="{status}"' in html and shown in html
    if error:
        assert error in html and "5 attempts" in html


@pytest.mark.parametrize(("number", "text", "then", "message"), [
    (1001, "   \n ", "", "The reply is empty."),
    (1001, "Hallo", "closed", "After a reply the ticket can be open, waiting or resolved."),
    (1001, "x" * 100_001, "", "The reply is too long."),
])
def test_refused_reply_is_explained_and_stores_nothing(staff: TestClient, seeded: Seeded,
                                                       number: int, text: str, then: str,
                                                       message: str) -> None:
    response = _reply(staff, number, text, then)
    assert response.headers["location"] == f"/tickets/{number}"
    html = staff.get(f"/tickets/{number}", headers={"Accept-Language": "en"}).text
    assert "flash-error" in html and message in html
    with seeded.db.session() as s:
        assert s.scalars(select(OutboxItem)).all() == []
    assert _ticket_row(seeded, number).first_response_at is None


def test_reply_to_unknown_ticket_is_404(staff: TestClient) -> None:
    token = csrf_from(staff.get("/tickets/1001").text)
    response = staff.post("/tickets/99999/reply", data={"csrf": token, "text": "Hallo"})
    assert response.status_code == 404


# ---------------------------------------------------------------------------------------------
# Status lifecycle and the change estimate


def test_status_walks_the_lifecycle_with_an_audit_trail(staff: TestClient,
                                                        seeded: Seeded) -> None:
    steps = [("new", "open"), ("open", "waiting"), ("waiting", "resolved"),
             ("resolved", "closed"), ("closed", "open")]
    for current, target in steps:
        html = staff.get("/tickets/1003", headers={"Accept-Language": "en"}).text
        quick = html[html.index('class="quick"'):html.index('id="correct-form"')]
        offered = re.findall(r'<button name="status" value="(\w+)"', quick)
        assert target in offered and current not in offered
        staff.post("/tickets/1003/correct", data={"csrf": csrf_from(html), "status": target})
        assert _ticket_row(seeded, 1003).status == target
    with seeded.db.session() as s:
        corrections = s.scalars(select(Correction).order_by(Correction.id)).all()
        events = s.scalars(select(TicketEvent).where(TicketEvent.kind == "status_changed")
                           .order_by(TicketEvent.id)).all()
    assert [(c.before["status"], c.after["status"], c.actor) for c in corrections] == [
        (a, b, USER) for a, b in steps]
    assert [(e.data["from"], e.data["to"]) for e in events
            if e.ticket_id == corrections[0].ticket_id] == steps
    t = _ticket_row(seeded, 1003)
    assert (t.resolved_at, t.closed_at) == (None, None)  # reopened


def test_closing_stamps_resolution_and_close(staff: TestClient, seeded: Seeded) -> None:
    page = staff.get("/tickets/1001")
    staff.post("/tickets/1001/correct", data={"csrf": csrf_from(page.text), "status": "closed"})
    t = _ticket_row(seeded, 1001)
    assert (t.status, t.resolved_at, t.closed_at) == ("closed", NOW, NOW)
    html = staff.get("/tickets/1001", headers={"Accept-Language": "en"}).text
    assert _clock_state(html, "resolution-due") == "met"  # resolved 10:30, due 13:00
    assert _clock_state(html, "response-due") == "at_risk"  # nobody answered yet


def _estimate(staff: TestClient, number: int, hours: str, generic: bool = False) -> Response:
    page = staff.get(f"/tickets/{number}", headers={"Accept-Language": "en"})
    data = {"csrf": csrf_from(page.text), "estimate": "1", "change_hours": hours,
            "status": "", "note": ""}
    if generic:
        data["change_generic"] = "1"
    return staff.post(f"/tickets/{number}/correct", data=data,
                      headers={"Accept-Language": "en"}, follow_redirects=False)


def test_estimate_sets_the_change_window(staff: TestClient, seeded: Seeded) -> None:
    html = staff.get("/tickets/1003", headers={"Accept-Language": "en"}).text
    assert "Give an estimate to set the delivery window." in html
    assert _estimate(staff, 1003, "6,5").status_code == 303
    t = _ticket_row(seeded, 1003)
    assert (t.change_hours, t.change_generic) == (6.5, False)
    # 4-8 hours at low workload: 2 to 3 weeks after Tue 10 Mar, on Mon-Thu
    # 10 working days -> Tue 24 Mar, 15 -> Tue 31 Mar
    assert t.change_window == {"kind": "window", "workload": "low", "earliest": "2026-03-24",
                               "latest": "2026-03-31"}
    html = staff.get("/tickets/1003", headers={"Accept-Language": "en"}).text
    window = re.search(r'id="change-window">(.*?)</dd>', html, re.S)
    assert window and window.group(1).strip() == (
        "Tue 24 Mar 2026 \N{EN DASH} Tue 31 Mar 2026 (workload low)")
    assert "Change window: Tue 24 Mar 2026" in html  # in the flash
    assert 'name="change_hours" inputmode="decimal" size="6" maxlength="12" value="6.5"' in html
    (c,) = s_corrections(seeded)
    assert (c.before["change_hours"], c.after["change_hours"]) == (None, 6.5)


def test_generic_work_goes_with_the_next_release(staff: TestClient, seeded: Seeded) -> None:
    _estimate(staff, 1003, "3", generic=True)
    html = staff.get("/tickets/1003", headers={"Accept-Language": "en"}).text
    window = re.search(r'id="change-window">(.*?)</dd>', html, re.S)
    assert window and window.group(1).strip() == "with the next release"
    assert _ticket_row(seeded, 1003).change_generic is True


@pytest.mark.parametrize("hours", ["abc", "0", "-2", "nan", "1e9"])
def test_bad_estimate_is_refused(staff: TestClient, seeded: Seeded, hours: str) -> None:
    _estimate(staff, 1003, hours)
    html = staff.get("/tickets/1003", headers={"Accept-Language": "en"}).text
    assert "flash-error" in html and "estimate" in html
    assert s_corrections(seeded) == []
    assert _ticket_row(seeded, 1003).change_window is None


def test_unchanged_estimate_records_nothing(staff: TestClient, seeded: Seeded) -> None:
    _estimate(staff, 1003, "6")
    _estimate(staff, 1003, "6.0")
    assert len(s_corrections(seeded)) == 1


def s_corrections(seeded: Seeded) -> list[Correction]:
    with seeded.db.session() as s:
        return list(s.scalars(select(Correction).order_by(Correction.id)))


@pytest.mark.parametrize(("status", "requeued"), [("failed", True), ("uncertain", True),
                                                  ("sent", False), ("pending", False)])
def test_send_a_failed_or_uncertain_reply_again(staff: TestClient, seeded: Seeded, status: str,
                                                requeued: bool) -> None:
    _reply(staff, 1001, "Hallo")
    with seeded.db.session() as s:
        s.execute(update(OutboxItem).values(status=status, last_error="550 no", attempts=5,
                                            next_attempt_at=NOW - timedelta(days=1)))
        item = s.scalar(select(OutboxItem.id))
    html = staff.get("/tickets/1001", headers={"Accept-Language": "en"}).text
    action = f"/tickets/1001/outbox/{item}/requeue"
    assert (f'action="{action}"' in html) is requeued
    # without the form token nothing happens
    assert staff.post(action, data={}, follow_redirects=False).status_code == 403
    # another ticket's number does not reach this row
    wrong = staff.post(f"/tickets/1002/outbox/{item}/requeue", data={"csrf": csrf_from(html)})
    assert wrong.status_code == 404
    response = staff.post(action, data={"csrf": csrf_from(html)},
                          headers={"Accept-Language": "en"}, follow_redirects=False)
    assert response.headers["location"] == "/tickets/1001#messages"
    with seeded.db.session() as s:
        row = s.scalar(select(OutboxItem))
        assert row is not None
        assert row.status == ("pending" if requeued else status)
        assert (row.next_attempt_at == NOW) is requeued
    html = staff.get("/tickets/1001", headers={"Accept-Language": "en"}).text
    assert ("The reply is queued to be sent again." in html) is requeued
    assert ("Only a failed or uncertain mail can be sent again." in html) is not requeued
