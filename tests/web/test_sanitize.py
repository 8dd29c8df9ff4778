"""Mail HTML sanitizing: nothing that runs, nothing that loads."""

from __future__ import annotations

import pytest

from mailtriage.web.sanitize import sanitize_mail_html
from tests.web.conftest import HOSTILE_HTML


@pytest.mark.parametrize("payload", [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<svg onload="alert(1)"></svg>',
    '<iframe src="https://evil.example/"></iframe>',
    '<base href="http://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=http://evil.example/">',
    '<form action="http://evil.example/"><button>x</button></form>',
    '<div style="background:url(http://evil.example/x)">x</div>',
    '<object data="x.swf"></object><embed src="x.swf">',
    '<link rel="stylesheet" href="http://evil.example/x.css">',
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
])
def test_nothing_active_survives(payload: str) -> None:
    out = sanitize_mail_html(payload).html.lower()
    for marker in ("<script", "onerror", "onload", "javascript:", "<iframe", "<base", "<meta",
                   "<form", "style=", "<object", "<embed", "<link", "data:", "<svg",
                   "evil.example"):
        assert marker not in out, (marker, out)


@pytest.mark.parametrize(("html", "blocked"), [
    ('<img src="http://169.254.169.254/latest/">', 1),
    ('<img src="https://t.example/p.gif"><img src="//t.example/q.gif">', 2),
    ('<img src="cid:logo@x">', 1),
    ("<p>no images</p>", 0),
])
def test_images_never_load(html: str, blocked: int) -> None:
    safe = sanitize_mail_html(html)
    assert "src=" not in safe.html
    assert safe.blocked_images == blocked


def test_relative_links_cannot_point_into_the_app() -> None:
    out = sanitize_mail_html('<a href="/logout">a</a><a href="tickets/1">b</a>').html
    assert "href" not in out


def test_ordinary_mail_markup_is_kept() -> None:
    out = sanitize_mail_html(
        '<p>Hallo <b>Piet</b>,</p><ul><li>een</li></ul>'
        '<a href="https://example.org/x">link</a><table><tr><td>1</td></tr></table>').html
    assert "<b>Piet</b>" in out
    assert "<li>een</li>" in out
    assert 'href="https://example.org/x"' in out
    assert 'rel="noopener noreferrer nofollow"' in out
    assert "<td>1</td>" in out


def test_the_hostile_test_mail() -> None:
    safe = sanitize_mail_html(HOSTILE_HTML)
    assert "__pwned" not in safe.html
    assert safe.blocked_images == 3
