"""Screenshots of the queue and a ticket (after a staff reply) for the documentation.

Written to a temporary directory; with MAILTRIAGE_SCREENSHOTS=1 they replace
docs/screenshots/queue.png and ticket.png.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import LiveServer, browser_login

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_screenshots(page: Any, live: LiveServer, tmp_path: Path) -> None:
    target = DOCS if os.environ.get("MAILTRIAGE_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1360, "height": 760})
    browser_login(page, live.url)
    page.screenshot(path=str(target / "queue.png"), full_page=True)
    page.goto(live.url + "/tickets/1001")
    page.fill("#reply-form textarea[name=text]",
              "Hallo Pieter,\n\nWe hebben de storing gevonden en werken aan een oplossing. "
              "Welke browser gebruikt u?\n\nMet vriendelijke groet,\nAnna")
    page.select_option("#reply-form select[name=then_status]", "waiting")
    page.click("#reply-form button.primary")
    page.wait_for_url(live.url + "/tickets/1001#messages")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(target / "ticket.png"), full_page=True)
    for name in ("queue.png", "ticket.png"):
        data = (target / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
