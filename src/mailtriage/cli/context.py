"""What every command receives: the validated configuration and lazily opened resources."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from mailtriage.config import Config

if TYPE_CHECKING:  # imported on first use: a run with nothing new never needs it
    from mailtriage.store.database import Database


@dataclass
class AppContext:
    """Held in ``click.Context.obj``; opens the database on first use."""

    config: Config
    _db: Database | None = field(default=None, repr=False)

    def db(self, *, migrate: bool = True) -> Database:
        """The database, migrated to the newest schema when ``migrate`` (a cheap check)."""
        if self._db is None:
            from mailtriage.store.database import Database
            from mailtriage.store.schema import ensure_schema

            self._db = Database(self.config.database.url)
            if migrate:
                ensure_schema(self._db)
        return self._db

    def now(self) -> datetime:
        return datetime.now(UTC)

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
            self._db = None
