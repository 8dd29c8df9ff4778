"""The alert watch: until when no staff alert can fall due, so a quiet run may skip the pass.

Staff alerts depend on the clock, not only on new mail, so a run with alerts configured used to
take the full path every time: SQLAlchemy, and the clocks of every open incident. Each alert
pass now leaves a watch (``store.probe.ALERT_WATCH_KEY`` in the settings): the earliest instant
at which a clock of an open incident turns at risk or is breached, or the office opens or
closes (alerts wait for office hours), together with the facts it was computed from (counts and
highest ids of tickets, ticket events and corrections) and a fingerprint of the configuration
it depends on. Until that instant, with the same facts and configuration, a new pass would find
nothing and say what the last one said. Any difference, a missing or unreadable watch, or any
doubt means the full pass runs. Only light imports: the idle check uses it before the database
layer is loaded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import mailtriage
from mailtriage.config import Config


def config_fingerprint(config: Config) -> str:
    """What a watch depends on in the configuration: the SLA, the calendar and the address,
    and the release of mailtriage that wrote it (which pins the holidays package, and so the
    holidays the calendar knows)."""
    text = repr((config.sla, config.calendar, config.notify.staff_alert_address,
                 mailtriage.__version__))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class AlertWatch:
    """Until ``until`` nothing falls due; a pass before then would report ``skipped``."""

    until: datetime
    skipped: str
    config: str
    facts: tuple[int, ...]

    def as_json(self) -> dict[str, Any]:
        return {"until": self.until.astimezone(UTC).isoformat(), "skipped": self.skipped,
                "config": self.config, "facts": list(self.facts)}

    @classmethod
    def from_json(cls, value: object) -> AlertWatch | None:
        """The stored watch, or None when it is absent or not in this shape."""
        if not isinstance(value, dict):
            return None
        try:
            until = datetime.fromisoformat(str(value["until"]))
            facts = tuple(int(v) for v in value["facts"])
            watch = cls(until, str(value["skipped"]), str(value["config"]), facts)
        except (KeyError, TypeError, ValueError):
            return None
        return watch if until.tzinfo is not None else None

    def holds(self, config: Config, facts: tuple[int, ...] | None, now: datetime) -> bool:
        """Whether a pass at ``now`` would find nothing new to alert, and say ``skipped``."""
        return (facts == self.facts
                and self.config == config_fingerprint(config) and now < self.until)
