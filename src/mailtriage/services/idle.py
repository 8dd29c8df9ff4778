"""The cheap check that comes first in a run: is there anything to do at all?

Most cron runs find nothing. This check answers that without the database layer (the store's
``probe`` reads the cursors with the driver alone) and without parsing or classification: under
the host lock it asks each IMAP folder for UIDs above the stored cursor. Only when every folder
is known, unchanged and empty of new mail, nothing stored waits to be flagged or moved, no
outgoing mail is due or interrupted and, with staff alerts configured, the watch the last alert
pass left still holds (``services.alert_watch``: no clock can have turned at risk or late, the
office has not opened or closed, no ticket fact changed since), it returns the report the full
run would have given. Anything else, or any doubt, returns None, and the full run takes over.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from mailtriage.config import Config
from mailtriage.errors import MailboxError
from mailtriage.ingest.sources.base import open_source
from mailtriage.lock import RunLock
from mailtriage.services.alert_watch import AlertWatch
from mailtriage.services.report import AlertReport, MailboxReport, RunReport
from mailtriage.store.probe import read_state
from mailtriage.store.revision import HEAD_REVISION

log = logging.getLogger("mailtriage.pipeline")


def idle_report(config: Config, *, dry_run: bool = False,
                now: datetime | None = None) -> RunReport | None:
    """The report of a run with nothing to do, or None when the full run must decide."""
    if not config.mailboxes:
        return None
    if any(m.kind != "imap" for m in config.mailboxes):
        return None  # local sources have no cursor to compare; the full run asks the store
    from mailtriage.ingest.sources.imap import ImapSource

    alerts = bool(config.notify.staff_alert_address)
    with RunLock(config.run.lock_file):
        state = read_state(config.database.url, alerts=alerts)
        if state is None or state.revision != HEAD_REVISION or state.busy_outbox:
            return None
        report = RunReport(dry_run=dry_run)
        if alerts:
            watch = AlertWatch.from_json(state.alert_watch)
            if watch is None or not watch.holds(config, state.facts, now or datetime.now(UTC)):
                return None  # an alert may be due: the full run's alert pass decides
            if not dry_run:  # a dry run never runs the alert pass
                report.alerts = AlertReport(skipped=watch.skipped)
        for cfg in config.mailboxes:
            folders = [cfg.folder] + ([cfg.sent_folder] if cfg.sent_folder else [])
            for folder in folders:
                cursor = state.cursors.get((cfg.name, folder))
                if cursor is None:
                    return None
                if cfg.processed_action != "none" and cursor.marked_uid < cursor.last_uid:
                    return None  # stored mail still to be flagged or moved
                done = MailboxReport(cfg.name, folder)
                try:
                    with open_source(cfg, folder=folder) as source:
                        assert isinstance(source, ImapSource)
                        if source.uidvalidity() != cursor.uidvalidity:
                            return None
                        if source.new_uids(cursor.last_uid):
                            return None
                except MailboxError as exc:
                    # What the full run would report for this folder, after the same attempts.
                    done.error = str(exc)
                    log.error("mailbox %s/%s: %s", cfg.name, folder, exc)
                report.mailboxes.append(done)
        return report
