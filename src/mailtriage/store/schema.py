"""Keeps the schema current: a cheap revision check, and a migration only when one is due."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from mailtriage.store.database import Database
from mailtriage.store.revision import HEAD_REVISION

__all__ = ["HEAD_REVISION", "current_revision", "ensure_schema"]


def current_revision(db: Database) -> str | None:
    try:
        with db.engine.connect() as conn:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    except SQLAlchemyError:
        return None
    return None if row is None else str(row[0])


def ensure_schema(db: Database) -> None:
    """Migrate to HEAD_REVISION unless the database is already there (one query when idle)."""
    if current_revision(db) != HEAD_REVISION:
        db.migrate()
