"""Cuts the header block off a raw message, for mail larger than the configured limit."""

from __future__ import annotations

from typing import BinaryIO

HEADER_READ_LIMIT = 1024 * 1024
"""A header block longer than this is cut here; no real mail has one."""


def header_block(data: bytes) -> bytes:
    """The header lines of ``data`` up to and including the blank line that ends them."""
    ends = [i for i in (data.find(b"\r\n\r\n"), data.find(b"\n\n")) if i >= 0]
    if not ends:
        return data[:HEADER_READ_LIMIT]
    end = min(ends)
    sep = 4 if data.startswith(b"\r\n\r\n", end) else 2
    return data[: min(end + sep, HEADER_READ_LIMIT)]


def read_header_block(stream: BinaryIO) -> bytes:
    """Read only the header block from ``stream`` (positioned at the start of the message)."""
    lines: list[bytes] = []
    total = 0
    for line in stream:
        lines.append(line)
        total += len(line)
        if line in (b"\n", b"\r\n") or total >= HEADER_READ_LIMIT:
            break
    return b"".join(lines)[:HEADER_READ_LIMIT]
