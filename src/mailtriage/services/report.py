"""What a run did, per mailbox folder and as a whole: the values the CLI prints.

Kept apart from the pipeline, which imports the database layer, so that the check for a run
with nothing new (``services.idle``) can give the same report without importing it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailtriage.services.delivery import DeliveryReport
    from mailtriage.services.intake import Outcome


@dataclass(frozen=True)
class AlertReport:
    """What one alert pass did: ``items`` events queued in one mail, or why nothing was."""

    items: int = 0
    outbox_id: int | None = None
    skipped: str = ""


@dataclass
class MailboxReport:
    """What a run did with one mailbox folder."""

    mailbox: str
    folder: str
    fetched: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    uidvalidity_changed: bool = False

    def count(self, kind: str) -> int:
        return self.outcomes.get(kind, 0)


@dataclass
class RunReport:
    """What a whole run did; ``exit_status`` follows the contract (0 or 1)."""

    mailboxes: list[MailboxReport] = field(default_factory=list)
    details: list[Outcome] = field(default_factory=list)
    delivery: DeliveryReport | None = None
    alerts: AlertReport | None = None
    dry_run: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def needs_attention(self) -> bool:
        return any(m.error or m.count("quarantined") for m in self.mailboxes) or bool(
            self.delivery and (self.delivery.failed or self.delivery.uncertain
                               or self.delivery.setup_error)) or bool(
            self.problems)

    @property
    def exit_status(self) -> int:
        return 1 if self.needs_attention else 0
