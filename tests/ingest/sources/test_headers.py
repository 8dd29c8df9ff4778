"""Cutting the header block off a message (pure)."""

from __future__ import annotations

import io

import pytest

from mailtriage.ingest.sources.headers import header_block, read_header_block


@pytest.mark.parametrize("data, head", [
    (b"Subject: a\r\nFrom: b\r\n\r\nbody\r\n\r\nmore", b"Subject: a\r\nFrom: b\r\n\r\n"),
    (b"Subject: a\nFrom: b\n\nbody\n\nmore", b"Subject: a\nFrom: b\n\n"),
    (b"Subject: a\r\n\r\nbody\n\nmore", b"Subject: a\r\n\r\n"),
    (b"Subject: no body at all\r\n", b"Subject: no body at all\r\n"),
    (b"", b""),
])
def test_header_block(data: bytes, head: bytes) -> None:
    assert header_block(data) == head
    assert read_header_block(io.BytesIO(data)) == head
