"""Attachment download headers: always a download, passive types only, safe names."""

from __future__ import annotations

import pytest

from mailtriage.web.downloads import clean_filename, content_disposition, download_headers


@pytest.mark.parametrize(("declared", "expected"), [
    ("image/png", "image/png"),
    ("application/pdf", "application/pdf"),
    ("text/plain; charset=utf-8", "text/plain"),
    ("text/html", "application/octet-stream"),
    ("image/svg+xml", "application/octet-stream"),
    ("application/xhtml+xml", "application/octet-stream"),
    ("application/javascript", "application/octet-stream"),
    ("text/xml", "application/octet-stream"),
    ("IMAGE/SVG+XML", "application/octet-stream"),
    ("", "application/octet-stream"),
])
def test_content_type(declared: str, expected: str) -> None:
    assert download_headers("x", declared, "f")["Content-Type"] == expected


@pytest.mark.parametrize(("name", "expected"), [
    ("../../etc/cron.d/x", "_.._etc_cron.d_x"),
    ("/abs", "_abs"),
    ("..\\..\\x", "_.._x"),
    ("a\x00.txt", "a.txt"),
    ("\u202etxt.exe", "txt.exe"),          # right-to-left override removed
    ("", "fallback"),
    ("...", "fallback"),
    ("CON", "CON"),
])
def test_clean_filename(name: str, expected: str) -> None:
    assert clean_filename(name, "fallback") == expected


def test_long_name_is_cut() -> None:
    assert len(clean_filename("a" * 300 + ".pdf")) == 200


def test_content_disposition_rfc6266() -> None:
    value = content_disposition('rapport "maart" é.pdf')
    assert value == ("attachment; filename=\"rapport _maart_ _.pdf\"; "
                     "filename*=UTF-8''rapport%20%22maart%22%20%C3%A9.pdf")


def test_every_download_header() -> None:
    headers = download_headers("x.svg", "image/svg+xml", "f")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in headers["Content-Security-Policy"]
