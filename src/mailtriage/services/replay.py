"""Replays a quarantined mail through the intake once its cause is fixed (or the limit raised)."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select

from mailtriage.config import Config, MailboxConfig
from mailtriage.errors import MailboxError, NotFoundError, UsageError
from mailtriage.ingest.message import RawMail
from mailtriage.ingest.sources.base import MailSource, open_source
from mailtriage.services.intake import Outcome, prepare, store_batch
from mailtriage.services.pipeline import Pipeline, mark_on_next_run
from mailtriage.store.database import Database
from mailtriage.store.files import FileStore
from mailtriage.store.models import QuarantineEntry

log = logging.getLogger("mailtriage.replay")


def replay(config: Config, db: Database, entry_id: int, now: datetime) -> Outcome:
    """Run a quarantined mail through the intake again; the entry is closed when it succeeds.

    Mail of which only the headers were kept is fetched again from its folder, on the one
    connection that, once the outcome is committed, flags or moves it like any processed mail.
    """
    with db.session() as s:
        entry = s.get(QuarantineEntry, entry_id)
        if entry is None:
            raise NotFoundError(f"There is no quarantine entry {entry_id}.")
        if entry.status != "open":
            raise UsageError(f"Quarantine entry {entry_id} was already {entry.status}.")
    if not entry.headers_only:
        data = entry.raw if entry.raw is not None else FileStore(config.storage.directory).get(
            entry.raw_key or "")
        return _store(config, db, entry, RawMail(
            mailbox=entry.mailbox, folder=entry.folder, uidvalidity=entry.uidvalidity,
            uid=entry.uid, data=data, size=len(data)), now)
    mailbox = next((m for m in config.mailboxes if m.name == entry.mailbox), None)
    if mailbox is None:
        raise UsageError(f"Quarantine entry {entry.id} came from mailbox {entry.mailbox!r}, "
                         "which is no longer configured; it cannot be fetched again.")
    with open_source(mailbox, folder=entry.folder) as source:
        raw = source.fetch_one(entry.uidvalidity, entry.uid, size_limit=None)
        if raw is None:
            raise NotFoundError(f"Quarantine entry {entry.id}: the message is no longer on the "
                                "server (or its UIDVALIDITY changed).")
        outcome = _store(config, db, entry, raw, now)
        if outcome.kind == "quarantined":
            return outcome
        marked = _mark_processed(db, source, mailbox, entry.uidvalidity, entry.uid)
        return replace(outcome, reason=f"{outcome.reason}; {marked}")


def _store(config: Config, db: Database, entry: QuarantineEntry, raw: RawMail,
           now: datetime) -> Outcome:
    """Parse, classify and store ``raw``; close the entry unless it is quarantined again."""
    pipeline = Pipeline(config, db, now=lambda: now)
    prepared = prepare(replace(raw, oversize=False), now)
    decisions = pipeline.classify([prepared])
    with db.session() as s:
        outcome = store_batch(s, pipeline.intake, [prepared], decisions, replay=True)[0]
        if outcome.kind != "quarantined":
            stored = s.get(QuarantineEntry, entry.id)
            assert stored is not None
            stored.status = "replayed"
            stored.resolved_at = now
    return outcome


def _mark_processed(db: Database, source: MailSource, mailbox: MailboxConfig,
                    uidvalidity: int, uid: str) -> str:
    """Flag or move the replayed (and committed) mail, as its mailbox is configured; when
    that fails, the next run does it."""
    if mailbox.processed_action == "none":
        return "left on the server as it was"
    try:
        source.mark_processed([uid])
    except MailboxError as exc:
        log.warning("mailbox %s: marking the replayed mail processed failed: %s",
                    mailbox.name, exc)
        mark_on_next_run(db, mailbox.name, source.folder, uidvalidity, uid)
        return (f"not marked on the server ({exc}); it stays in {source.folder} until the "
                "next run marks it")
    if mailbox.processed_action == "move":
        return f"moved to {mailbox.processed_folder} on the server"
    return f"flagged {mailbox.processed_flag} on the server"


def list_entries(db: Database, *, status: str | None = "open") -> list[QuarantineEntry]:
    with db.session() as s:
        query = select(QuarantineEntry).order_by(QuarantineEntry.id.desc())
        if status:
            query = query.where(QuarantineEntry.status == status)
        return list(s.scalars(query))
