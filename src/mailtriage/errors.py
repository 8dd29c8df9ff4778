"""The one error tree of mailtriage; the CLI maps each branch to an exit status.

Adapters translate library errors (imaplib, smtplib, SQLAlchemy, skops) into these classes, so
code above the adapters never catches a third-party exception.
"""

from __future__ import annotations


class MailtriageError(Exception):
    """Base of every error mailtriage raises on purpose."""

    exit_code: int = 1


class ConfigError(MailtriageError):
    """The configuration file is missing, unreadable or invalid; names the offending key."""

    exit_code = 2

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class UsageError(MailtriageError):
    """A command was called with arguments that cannot work."""

    exit_code = 2


class LockHeldError(MailtriageError):
    """Another run holds the run lock."""

    exit_code = 75


class NotFoundError(MailtriageError):
    """A ticket, quarantine entry or other record does not exist."""

    exit_code = 1


class MailboxError(MailtriageError):
    """A mailbox could not be read; the run goes on with the other mailboxes."""


class MailboxConnectError(MailboxError):
    """The mail server could not be reached or the connection dropped."""


class MailboxAuthError(MailboxError):
    """The mail server refused the credentials (never retried in a loop)."""


class MailboxTLSError(MailboxError):
    """TLS could not be established or the certificate was not trusted."""


class MailboxProtocolError(MailboxError):
    """The mail server answered something that cannot be understood."""


class MailboxGoneError(MailboxError):
    """The folder does not exist (deleted or renamed); nothing was touched."""


class StoreError(MailtriageError):
    """The database or the file store failed."""


class ModelError(MailtriageError):
    """A classification model file is missing, tampered with or incompatible."""


class TrainingError(MailtriageError):
    """Training could not produce a model (too few examples, a single class)."""


class DeliveryError(MailtriageError):
    """Outgoing mail could not be handed over."""


class TemporaryDeliveryError(DeliveryError):
    """The SMTP server could not take the mail now (4xx, connection trouble); retried later."""


class PermanentDeliveryError(DeliveryError):
    """The SMTP server refused the mail for good (5xx); not retried."""


class UncertainDeliveryError(TemporaryDeliveryError):
    """The connection failed after the whole message was handed over, before the server's answer.

    The server may have accepted the mail; resending blindly could deliver it twice, so the
    outbox marks the row uncertain for a person to decide.
    """


class DeliverySetupError(TemporaryDeliveryError):
    """TLS or authentication with the SMTP server failed; affects every message, retried later."""


class UnparseableMail(MailtriageError):
    """A raw mail that must be quarantined instead of parsed (too deep, too many parts).

    ``reason`` is a short key for the quarantine row (``depth-limit``, ``part-limit``); the
    message says what was found and which limit it broke.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
