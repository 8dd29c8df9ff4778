"""Retrains the model from seed data, imported history and staff corrections.

The new model is saved as a new version but becomes active only when it does not score worse
on cross-validation than the active one; otherwise the old one stays and the reason is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from mailtriage.classify.dataset import Example
from mailtriage.classify.model import Progress
from mailtriage.config import Config
from mailtriage.store.database import Database
from mailtriage.store.models import TrainingExample


@dataclass(frozen=True)
class TrainResult:
    """What ``train`` did: the new version, whether it became active and why."""

    version: str
    activated: bool
    reason: str
    examples: dict[str, int]
    imported: int
    type_macro_f1: float | None
    priority_macro_f1: float | None


def import_csv(db: Database, path: Path) -> int:
    """Add (or update) the labelled rows of a contract CSV as training examples."""
    from mailtriage.classify.dataset import read_labelled_rows

    rows = read_labelled_rows(path, source="csv")
    with db.session() as s:
        existing = {e.external_id: e for e in s.scalars(
            select(TrainingExample).where(TrainingExample.source == "csv"))}
        for row in rows:
            ex = existing.get(row.id)
            if ex is None:
                ex = TrainingExample(source="csv", external_id=row.id)
                s.add(ex)
                existing[row.id] = ex
            ex.subject, ex.body = row.example.subject, row.example.body
            ex.label_type, ex.label_priority = row.example.label_type, row.example.label_priority
            ex.weight = 1.0
    return len(rows)


def stored_examples(db: Database) -> tuple[list[Example], list[Example]]:
    """(imported history, staff corrections) from the database."""
    history: list[Example] = []
    corrections: list[Example] = []
    with db.session(read_only=True) as s:
        for e in s.scalars(select(TrainingExample).order_by(TrainingExample.id)):
            example = Example(subject=e.subject, body=e.body,
                              label_type=e.label_type,  # type: ignore[arg-type]
                              label_priority=e.label_priority,  # type: ignore[arg-type]
                              weight=e.weight, source=e.source)
            (corrections if e.source == "correction" else history).append(example)
    return history, corrections


def corrections_since(db: Database, since: datetime | None) -> int:
    from sqlalchemy import func

    with db.session(read_only=True) as s:
        query = select(func.count(TrainingExample.id)).where(
            TrainingExample.source == "correction")
        if since is not None:
            query = query.where(TrainingExample.updated_at > since)
        return int(s.scalar(query) or 0)


def retrain(config: Config, db: Database, now: datetime, *, csv: Path | None = None,
            progress: Progress | None = None, force: bool = False) -> TrainResult:
    """Import ``csv`` if given, train on everything, activate the result unless it is worse."""
    from mailtriage.classify.dataset import seed_examples
    from mailtriage.classify.learning import count_by_source, training_set
    from mailtriage.classify.retrain import retrain as train_and_store

    imported = import_csv(db, csv) if csv is not None else 0
    history, corrections = stored_examples(db)
    examples: Sequence[Example] = training_set(seed_examples(), corrections, config.classify,
                                               extra=history)
    result = train_and_store(config.classify, examples, now=now, progress=progress,
                             force=force)
    reason = result.verdict.reason
    if force and not result.verdict.allowed:
        reason = f"activated on request although {reason}"
    cv = result.metadata.cv
    return TrainResult(version=result.metadata.version, activated=result.activated,
                       reason=reason, examples=count_by_source(list(examples)),
                       imported=imported, type_macro_f1=cv.type_macro_f1 if cv else None,
                       priority_macro_f1=cv.priority_macro_f1 if cv else None)
