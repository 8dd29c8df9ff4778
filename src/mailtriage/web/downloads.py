"""Safe response headers for attachment downloads: always a download, never run in the page."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

# Types a browser shows without running anything; every other type is sent as a byte stream.
PASSIVE_TYPES = frozenset({
    "application/pdf",
    "application/zip",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/plain",
    "text/csv",
})

_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


def safe_content_type(declared: str) -> str:
    """The declared type when it is passive, else ``application/octet-stream``."""
    base = declared.split(";", 1)[0].strip().lower()
    return base if base in PASSIVE_TYPES else "application/octet-stream"


def clean_filename(name: str, fallback: str = "attachment") -> str:
    """A display name without path separators, control or bidirectional-override characters."""
    kept = "".join(
        ch for ch in unicodedata.normalize("NFC", name)
        if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )
    kept = _UNSAFE.sub("_", kept).strip(" .")
    kept = kept[:200]
    return kept or fallback


def content_disposition(name: str, fallback: str = "attachment") -> str:
    """``attachment`` with an ASCII ``filename`` and the exact ``filename*`` of RFC 6266/5987."""
    clean = clean_filename(name, fallback)
    ascii_name = "".join(ch if 0x20 <= ord(ch) < 0x7F and ch not in '"%;\\' else "_"
                         for ch in clean)
    encoded = quote(clean, safe="!#$&+-.^_`|~")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"


def download_headers(name: str, declared_type: str, fallback: str) -> dict[str, str]:
    """Every header an attachment response carries."""
    return {
        "Content-Disposition": content_disposition(name, fallback),
        "Content-Type": safe_content_type(declared_type),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }
