"""Chooses how outgoing mail leaves (SMTP or .eml files) and names what the outbox relies on.

The outbox calls ``open_transport(cfg).send(bytes, envelope_sender, recipients)`` and reacts to
the delivery errors; ``next_attempt_delay`` is its retry schedule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from mailtriage.config import SmtpConfig
from mailtriage.errors import (
    DeliverySetupError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    UncertainDeliveryError,
)
from mailtriage.notify.filedrop import FileTransport
from mailtriage.notify.retry import next_attempt_delay
from mailtriage.notify.smtp import SmtpTransport


class Transport(Protocol):
    """Something that hands a finished message over for delivery."""

    def send(self, message_bytes: bytes, sender: str, recipients: Sequence[str], *,
             before_data: Callable[[], None] | None = None) -> None:
        """Deliver or raise a DeliveryError (temporary, permanent or uncertain).

        ``before_data`` is called right before the message itself is handed over.
        """

    def close(self) -> None:
        """Let go of what ``send`` kept open (an SMTP session); sending again reopens it."""


def open_transport(cfg: SmtpConfig) -> Transport:
    """``SmtpTransport`` for ``transport = "smtp"``, else ``FileTransport(cfg.directory)``."""
    if cfg.transport == "smtp":
        return SmtpTransport(cfg)
    return FileTransport(cfg.directory)


__all__ = [
    "DeliverySetupError",
    "FileTransport",
    "PermanentDeliveryError",
    "SmtpTransport",
    "TemporaryDeliveryError",
    "Transport",
    "UncertainDeliveryError",
    "next_attempt_delay",
    "open_transport",
]
