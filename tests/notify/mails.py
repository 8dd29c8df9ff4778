"""Builds ParsedMail values for the notify tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mailtriage.ingest.message import Address, ParsedMail


def make_mail(**overrides: Any) -> ParsedMail:
    values: dict[str, Any] = {
        "message_id": "<abc123@klant.nl>",
        "in_reply_to": (),
        "references": (),
        "sender": Address("jan@klant.nl", "Jan Jansen"),
        "reply_to": (),
        "to": (Address("helpdesk@example.test"),),
        "cc": (),
        "subject": "Website geeft foutmelding",
        "date_header": None,
        "received_at": datetime(2025, 3, 14, 15, 30, tzinfo=UTC),
        "text": "De website is stuk.",
        "html": None,
        "new_text": "De website is stuk.",
        "language": "nl",
        "headers": (),
        "return_path": "<jan@klant.nl>",
    }
    values.update(overrides)
    return ParsedMail(**values)
