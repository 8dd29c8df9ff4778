"""The first check of a run: nothing to do is answered without the database layer.

Against a real Dovecot: after a run, the next one gives the same report as the full run and
imports neither SQLAlchemy nor the parser; new mail, a changed UIDVALIDITY, stored mail still
to be flagged, outgoing mail to send and configured staff alerts each send the run down the
full path; an unreachable server is reported as the full run reports it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mailtriage.config import load_config
from mailtriage.errors import LockHeldError
from mailtriage.lock import RunLock
from mailtriage.services.idle import idle_report
from mailtriage.services.pipeline import run_once
from mailtriage.store.revision import HEAD_REVISION
from tests.servers.dovecot import ImapMailbox
from tests.services.conftest import (
    Setup,
    customer_mail,
    imap_table,
    run_child,
    run_json,
    write_setup,
)

pytestmark = pytest.mark.dovecot

REPORT_IMPORTS = """\
import atexit
atexit.register(lambda: print("heavy:", sorted(m for m in ("sqlalchemy", "mailparser", "sklearn")
                                              if m in sys.modules), file=sys.stderr))
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
    assert idle_report(alerts.config) is None  # alerts depend on the clock, not on new mail


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
