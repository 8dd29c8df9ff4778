"""The run lock and the database lease keep runs from overlapping."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailtriage.errors import LockHeldError
from mailtriage.lock import RunLock
from mailtriage.store import lease
from mailtriage.store.database import Database


def test_second_lock_in_another_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run.lock"
    code = ("import sys; from pathlib import Path; from mailtriage.lock import RunLock\n"
            "from mailtriage.errors import LockHeldError\n"
            "try:\n  RunLock(Path(sys.argv[1])).__enter__()\n"
            "except LockHeldError: sys.exit(75)\n")
    with RunLock(path):
        proc = subprocess.run([sys.executable, "-c", code, str(path)], timeout=60)
        assert proc.returncode == 75
    proc = subprocess.run([sys.executable, "-c", code, str(path)], timeout=60)
    assert proc.returncode == 0


def test_lock_is_released_when_the_holder_dies(tmp_path: Path) -> None:
    path = tmp_path / "run.lock"
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys,time; from pathlib import Path; "
                               "from mailtriage.lock import RunLock; "
                               "RunLock(Path(sys.argv[1])).__enter__(); print('held', flush=True);"
                               " time.sleep(60)", str(path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(LockHeldError), RunLock(path):
        pass
    holder.kill()
    holder.wait()
    with RunLock(path):
        pass


def test_lease_excludes_other_holders_until_it_expires(db_url: str) -> None:
    db = Database(db_url)
    db.migrate()
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    ttl = timedelta(minutes=30)
    lease.acquire(db, "run", "host-a:1", now, ttl)
    lease.acquire(db, "run", "host-a:1", now, ttl)  # the holder may take it again
    with pytest.raises(LockHeldError):
        lease.acquire(db, "run", "host-b:2", now + timedelta(minutes=10), ttl)
    lease.acquire(db, "run", "host-b:2", now + timedelta(minutes=31), ttl)
    lease.release(db, "run", "host-b:2")
    lease.acquire(db, "run", "host-c:3", now + timedelta(minutes=32), ttl)
    db.dispose()


def test_renew_extends_the_lease_of_its_holder_only(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    db.migrate()
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    ttl = timedelta(minutes=30)
    lease.acquire(db, "run", "host-a:1", now, ttl)
    lease.renew(db, "run", "host-a:1", now + timedelta(minutes=25), ttl)
    with pytest.raises(LockHeldError):  # would have expired at 09:30 without the renewal
        lease.acquire(db, "run", "host-b:2", now + timedelta(minutes=40), ttl)
    lease.renew(db, "run", "host-b:2", now + timedelta(minutes=50), ttl)  # not the holder
    lease.acquire(db, "run", "host-b:2", now + timedelta(minutes=56), ttl)
    db.dispose()


def test_a_run_renews_its_lease_after_every_batch(tmp_path: Path) -> None:
    from dataclasses import replace

    from mailtriage.config import (
        Config,
        DatabaseConfig,
        MailboxConfig,
        RunConfig,
        SmtpConfig,
        StorageConfig,
    )
    from mailtriage.services.pipeline import Pipeline

    box = tmp_path / "box"
    box.mkdir()
    for n in range(5):
        (box / f"{n}.eml").write_bytes(
            b"From: a@klant.example\r\nTo: helpdesk@example.test\r\nSubject: vraag %d\r\n"
            b"Message-ID: <%d@klant.example>\r\n\r\nHallo, een vraag.\r\n" % (n, n))
    config = Config(
        database=DatabaseConfig(f"sqlite:///{tmp_path / 'db.sqlite'}"),
        storage=StorageConfig(directory=tmp_path / "files"),
        mailboxes=(MailboxConfig(name="b", kind="emldir", path=box, batch_size=2),),
        smtp=SmtpConfig(directory=tmp_path / "out"),
        run=RunConfig(lock_file=tmp_path / "lock"))
    config = replace(config, notify=replace(config.notify, auto_reply=False))
    db = Database(config.database.url)
    db.migrate()
    beats: list[int] = []
    report = Pipeline(config, db, heartbeat=lambda: beats.append(1)).run()
    db.dispose()
    assert report.mailboxes[0].fetched == 5
    assert len(beats) == 3  # batches of 2, 2 and 1
