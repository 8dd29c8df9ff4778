"""The first check of a run: nothing to do is answered without the database layer.

Against a real Dovecot: after a run, the next one gives the same report as the full run and
imports neither SQLAlchemy nor the parser; new mail, a changed UIDVALIDITY, stored mail still
to be flagged, outgoing mail to send and staff alerts that may be due (no watch, a new fact,
the watch's instant reached) each send the run down the full path; an unreachable server is
reported as the full run reports it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from mailtriage.config import load_config
from mailtriage.errors import LockHeldError
from mailtriage.lock import RunLock
from mailtriage.services.idle import idle_report
from mailtriage.services.pipeline import run_once
from mailtriage.store.database import Database
from mailtriage.store.revision import HEAD_REVISION
from tests.servers.dovecot import ImapMailbox
from tests.services.conftest import (
    Setup,
    customer_mail,
    db_rows,
    imap_table,
    run_child,
    run_json,
    write_setup,
)

pytestmark = pytest.mark.dovecot

REPORT_IMPORTS = """\
import atexit
HEAVY = ("sqlalchemy", "mailparser", "sklearn", "rich", "concurrent.futures.process",
         "multiprocessing")
atexit.register(lambda: print("heavy:", sorted(m for m in HEAVY if m in sys.modules),
                              file=sys.stderr))
"""


def setup_for(tmp_path: Path, mailbox: ImapMailbox, db_url: str | None = None,
              **sections: Any) -> Setup:
    data: dict[str, Any] = {"mailbox": [imap_table(mailbox, processed_action="flag")]}
    if db_url is not None:
        data["database"] = {"url": db_url}
    data.update(sections)
    return write_setup(tmp_path / "site", **data)


def test_a_run_with_nothing_new_skips_the_database_layer(
        imap_mailbox: ImapMailbox, db_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    imap_mailbox.append(customer_mail(1))
    setup = setup_for(tmp_path, imap_mailbox, db_url)
    assert idle_report(setup.config) is None  # no cursor yet: the full run
    code, full = run_json(capsys, setup)
    assert code == 0 and full["mailboxes"][0]["fetched"] == 1
    assert full["delivery"]["sent"] == 1

    idle = idle_report(setup.config)
    assert idle is not None and idle.exit_status == 0
    assert [(m.mailbox, m.folder, m.fetched, m.error) for m in idle.mailboxes] == [
        ("helpdesk", "INBOX", 0, None)]

    child = run_child(setup, "run", "--json", hook=REPORT_IMPORTS)
    assert child.returncode == 0, child.stderr
    assert "heavy: []" in child.stderr
    report = json.loads(child.stdout)
    assert report == {"dry_run": False, "exit_status": 0, "messages": [], "delivery": None,
                      "mailboxes": [{"mailbox": "helpdesk", "folder": "INBOX", "fetched": 0,
                                     "outcomes": {}, "error": None,
                                     "uidvalidity_changed": False}]}

    imap_mailbox.append(customer_mail(2))
    assert idle_report(setup.config) is None  # new mail: the full run
    code, again = run_json(capsys, setup)
    assert code == 0 and again["mailboxes"][0]["fetched"] == 1
    assert idle_report(setup.config) is not None


def test_what_only_the_full_run_does_sends_it_there(
        imap_mailbox: ImapMailbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    imap_mailbox.append(customer_mail(1))
    setup = setup_for(tmp_path, imap_mailbox)
    run_json(capsys, setup)
    assert idle_report(setup.config) is not None
    url = setup.config.database.url

    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:  # stored, but not yet flagged (a run died in between)
            conn.execute(sa.text("UPDATE cursors SET marked_uid = 0"))
        assert idle_report(setup.config) is None
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE cursors SET marked_uid = last_uid"))
            conn.execute(sa.text("UPDATE outbox SET status = 'pending'"))
        assert idle_report(setup.config) is None  # mail to send
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE outbox SET status = 'sending'"))
        assert idle_report(setup.config) is None  # an interrupted delivery to look at
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE outbox SET status = 'sent'"))
        assert idle_report(setup.config) is not None
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = 'older'"))
        assert idle_report(setup.config) is None  # a migration is due
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"),
                         {"v": HEAD_REVISION})
        assert idle_report(setup.config) is not None
        with engine.begin() as conn:  # the folder was recreated since the last run
            conn.execute(sa.text("UPDATE cursors SET uidvalidity = uidvalidity + 1"))
        assert idle_report(setup.config) is None  # a new UIDVALIDITY: the full run rescans
    finally:
        engine.dispose()

    alerts = write_setup(tmp_path / "alerts", **{**setup.data, "notify": {
        "staff_alert_address": "staff@example.test"}})
    assert idle_report(alerts.config) is None  # no alert pass has left a watch yet


def test_an_unreachable_server_is_reported_as_the_full_run_reports_it(
        imap_mailbox: ImapMailbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    imap_mailbox.append(customer_mail(1))
    setup = setup_for(tmp_path, imap_mailbox)
    run_json(capsys, setup)
    data = dict(setup.data)
    data["mailbox"] = [{**setup.data["mailbox"][0], "port": 1, "reconnect_attempts": 1}]
    down = write_setup(tmp_path / "site", **data)

    idle = idle_report(down.config)

    assert idle is not None and idle.exit_status == 1
    [box] = idle.mailboxes
    assert box.error and "127.0.0.1:1" in box.error
    full = run_once(down.config)
    assert [(m.folder, m.fetched, m.error) for m in full.mailboxes] == [
        (box.folder, 0, box.error)]
    assert (full.exit_status, full.delivery, full.details) == (1, None, [])


def test_a_held_lock_is_reported_as_by_the_full_run(
        imap_mailbox: ImapMailbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    imap_mailbox.append(customer_mail(1))
    setup = setup_for(tmp_path, imap_mailbox)
    run_json(capsys, setup)
    config = load_config(str(setup.path))
    with RunLock(config.run.lock_file), pytest.raises(LockHeldError):
        idle_report(config)


ALERTED = datetime(2026, 3, 3, 10, 0, tzinfo=timezone(timedelta(hours=1)))  # a Tuesday


def test_with_staff_alerts_the_watch_lets_a_quiet_run_skip_the_database_layer(
        imap_mailbox: ImapMailbox, db_url: str, tmp_path: Path) -> None:
    imap_mailbox.append(customer_mail(1), internaldate=ALERTED)
    setup = setup_for(tmp_path, imap_mailbox, db_url, notify={
        "reply_max_age_hours": 0, "staff_alert_address": "staff@example.test"})
    config = setup.config
    minute = timedelta(minutes=1)
    assert idle_report(config, now=ALERTED + minute) is None  # no cursor, no watch yet
    first = run_once(config, now=lambda: ALERTED + 2 * minute)
    assert first.alerts is not None and first.mailboxes[0].fetched == 1
    # A pass that queued an alert (a new high incident) recorded events: one more full run
    # settles the watch on the facts as they are now.
    if first.alerts.items:
        assert idle_report(config, now=ALERTED + 3 * minute) is None
        run_once(config, now=lambda: ALERTED + 3 * minute)

    quiet = idle_report(config, now=ALERTED + 4 * minute)
    assert quiet is not None and quiet.alerts is not None
    assert quiet.alerts.skipped == "nothing to report" and quiet.exit_status == 0
    assert quiet.mailboxes[0].fetched == 0
    [(stored,)] = db_rows(setup, "SELECT value FROM settings WHERE key = 'alerts.watch'")
    watch = json.loads(stored) if isinstance(stored, str) else stored
    until = datetime.fromisoformat(watch["until"])
    # at the latest, the office closes at 17:00
    assert ALERTED + 4 * minute < until <= ALERTED.replace(hour=17)
    assert idle_report(config, now=until - timedelta(microseconds=1)) is not None
    assert idle_report(config, now=until) is None  # a clock may change status now

    # The same quiet run as a cron job: nothing heavy imported, at a moment the watch covers.
    pinned = (REPORT_IMPORTS + "import mailtriage.services.idle as idle\n"
              "from datetime import datetime\n"
              "real = idle.idle_report\n"
              f"at = datetime.fromisoformat({(ALERTED + 5 * minute).isoformat()!r})\n"
              "idle.idle_report = lambda config, **kw: real(config, **{**kw, 'now': at})\n")
    child = run_child(setup, "run", "--json", hook=pinned)
    assert child.returncode == 0, child.stderr
    assert "heavy: []" in child.stderr

    # A staff correction is a new fact: the next run passes again.
    from mailtriage.services.corrections import apply_correction

    db = Database(config.database.url)
    try:
        apply_correction(config, db, 1001, actor="anna", priority="low",
                         now=ALERTED + 5 * minute)
    finally:
        db.dispose()
    assert idle_report(config, now=ALERTED + 6 * minute) is None
    # Outside office hours the watch lasts until the opening.
    run_once(config, now=lambda: ALERTED.replace(hour=20))
    evening = idle_report(config, now=ALERTED.replace(hour=23))
    assert evening is not None and evening.alerts is not None
    assert evening.alerts.skipped == "outside office hours"
    assert idle_report(config, now=ALERTED.replace(day=4, hour=8, minute=30)) is None
