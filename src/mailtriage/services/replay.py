"""Replays a quarantined mail through the intake once its cause is fixed (or the limit raised)."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select

from mailtriage.config import Config
from mailtriage.errors import MailboxError, NotFoundError, UsageError
from mailtriage.ingest.message import RawMail
from mailtriage.services.intake import Outcome, prepare, store_batch
from mailtriage.services.pipeline import Pipeline
from mailtriage.store.database import Database
from mailtriage.store.files import FileStore
from mailtriage.store.models import QuarantineEntry

log = logging.getLogger("mailtriage.replay")


def _raw_for(config: Config, entry: QuarantineEntry) -> RawMail:
    if entry.headers_only:
        from mailtriage.ingest.sources.base import open_source

        mailbox = next((m for m in config.mailboxes if m.name == entry.mailbox), None)
        if mailbox is None:
            raise UsageError(f"Quarantine entry {entry.id} came from mailbox {entry.mailbox!r}, "
                             "which is no longer configured; it cannot be fetched again.")
        with open_source(mailbox, folder=entry.folder) as source:
            raw = source.fetch_one(entry.uidvalidity, entry.uid, size_limit=None)
        if raw is None:
            raise NotFoundError(f"Quarantine entry {entry.id}: the message is no longer on the "
                                "server (or its UIDVALIDITY changed).")
        return raw
    data = entry.raw if entry.raw is not None else FileStore(config.storage.directory).get(
        entry.raw_key or "")
    return RawMail(mailbox=entry.mailbox, folder=entry.folder, uidvalidity=entry.uidvalidity,
                   uid=entry.uid, data=data, size=len(data))


def replay(config: Config, db: Database, entry_id: int, now: datetime) -> Outcome:
    """Run a quarantined mail through the intake again; the entry is closed when it succeeds."""
    with db.session() as s:
        entry = s.get(QuarantineEntry, entry_id)
        if entry is None:
            raise NotFoundError(f"There is no quarantine entry {entry_id}.")
        if entry.status != "open":
            raise UsageError(f"Quarantine entry {entry_id} was already {entry.status}.")
        raw = _raw_for(config, entry)
    pipeline = Pipeline(config, db, now=lambda: now)
    prepared = prepare(replace(raw, oversize=False), now)
    decisions = pipeline.classify([prepared])
    with db.session() as s:
        outcome = store_batch(s, pipeline.intake, [prepared], decisions, replay=True)[0]
        entry = s.get(QuarantineEntry, entry_id)
        assert entry is not None
        if outcome.kind != "quarantined":
            entry.status = "replayed"
            entry.resolved_at = now
        left_on_server = entry.headers_only and outcome.kind != "quarantined"
        where = (entry.mailbox, entry.folder, entry.uidvalidity, entry.uid)
    if left_on_server:
        # Committed: now the mail that the run had to leave in its folder (only its headers
        # were kept) is marked processed like any other.
        return replace(outcome, reason=f"{outcome.reason}; {_mark_processed(config, *where)}")
    return outcome


def _mark_processed(config: Config, mailbox_name: str, folder: str, uidvalidity: int,
                    uid: str) -> str:
    """Flag or move the replayed mail on its server, as the mailbox is configured."""
    from mailtriage.ingest.sources.base import open_source

    mailbox = next((m for m in config.mailboxes if m.name == mailbox_name), None)
    if mailbox is None or mailbox.processed_action == "none":
        return "left on the server as it was"
    try:
        with open_source(mailbox, folder=folder) as source:
            if source.uidvalidity() != uidvalidity:
                return f"not marked on the server: the folder {folder} was recreated"
            source.mark_processed([uid])
    except MailboxError as exc:
        log.warning("mailbox %s: marking the replayed mail processed failed: %s",
                    mailbox_name, exc)
        return f"not marked on the server ({exc}); it stays in {folder}"
    if mailbox.processed_action == "move":
        return f"moved to {mailbox.processed_folder} on the server"
    return f"flagged {mailbox.processed_flag} on the server"


def list_entries(db: Database, *, status: str | None = "open") -> list[QuarantineEntry]:
    with db.session() as s:
        query = select(QuarantineEntry).order_by(QuarantineEntry.id.desc())
        if status:
            query = query.where(QuarantineEntry.status == status)
        return list(s.scalars(query))
