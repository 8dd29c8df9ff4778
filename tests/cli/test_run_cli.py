"""``mailtriage run``: JSON report, dry run, the lock, bad configurations and missing mailboxes."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from tests.services.conftest import cli, customer_mail, db_rows, run_json, tickets, write_setup


def emldir_setup(tmp_path: Path, count: int = 2, **mailbox: object):  # type: ignore[no-untyped-def]
    source = tmp_path / "eml"
    source.mkdir()
    for n in range(1, count + 1):
        (source / f"{n:03d}.eml").write_bytes(customer_mail(n))
    return write_setup(tmp_path / "site", mailbox=[
        {"name": "lokaal", "kind": "emldir", "path": str(source), **mailbox}])


def test_run_json_reports_every_mailbox_and_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    setup = emldir_setup(tmp_path)

    code, report = run_json(capsys, setup)

    assert code == 0
    assert set(report) >= {"dry_run", "exit_status", "mailboxes", "messages", "delivery"}
    assert report["dry_run"] is False and report["exit_status"] == 0
    assert report["mailboxes"] == [{
        "mailbox": "lokaal", "folder": "INBOX", "fetched": 2, "outcomes": {"ticket": 2},
        "error": None, "uidvalidity_changed": False}]
    assert [(m["uid"], m["outcome"], m["ticket"]) for m in report["messages"]] == [
        ("001.eml", "ticket", 1001), ("002.eml", "ticket", 1002)]
    assert [m["reply"] for m in report["messages"]] == [
        "ack to klant1@bedrijf1.example", "ack to klant2@bedrijf2.example"]
    assert report["delivery"]["sent"] == 2
    assert report["delivery"]["failed"] == 0


def test_dry_run_stores_and_sends_nothing_but_says_what_it_would_do(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    setup = emldir_setup(tmp_path)

    plain = cli(capsys, setup, "run", "--dry-run", "--workers", "0")

    assert plain.code == 0
    assert "Dry run: nothing was stored or sent" in plain.out
    assert "001.eml: ticket #1001" in plain.out
    assert "reply: ack to klant1@bedrijf1.example" in plain.out
    assert "002.eml: ticket #1002" in plain.out
    code, report = run_json(capsys, setup, "--dry-run")
    assert code == 0
    assert report["dry_run"] is True
    assert report["delivery"] is None
    assert [m["outcome"] for m in report["messages"]] == ["ticket", "ticket"]
    assert db_rows(setup, "SELECT count(*) FROM messages") == [(0,)]
    assert db_rows(setup, "SELECT count(*) FROM outbox") == [(0,)]
    assert tickets(capsys, setup) == []
    assert setup.outbox_files() == []
    assert not setup.config.storage.directory.exists() or \
        not any(setup.config.storage.directory.rglob("*.*"))
    # The real run afterwards does everything once.
    code, report = run_json(capsys, setup)
    assert code == 0 and len(report["messages"]) == 2
    assert len(setup.outbox_files()) == 2


def test_quiet_prints_nothing_when_all_is_well(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    setup = emldir_setup(tmp_path)

    result = cli(capsys, setup, "run", "--quiet", "--workers", "0")

    assert (result.code, result.out, result.err) == (0, "", "")
    assert len(tickets(capsys, setup)) == 2


def test_a_run_while_another_holds_the_lock_exits_75(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    setup = emldir_setup(tmp_path)
    lock = setup.config.run.lock_file
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = cli(capsys, setup, "run", "--json", "--workers", "0")
    finally:
        os.close(fd)

    assert result.code == 75
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "lock" in lines[0]
    # Nothing was fetched meanwhile; the next run does the work.
    code, report = run_json(capsys, setup)
    assert code == 0 and len(report["messages"]) == 2


@pytest.mark.parametrize(("toml", "key"), [
    ('[[mailbox]]\nname = "a"\nkind = "pop3"\npath = "x"\n', "mailbox.a.kind"),
    ('[[mailbox]]\nname = "a"\nkind = "imap"\nusername = "u"\npassword = "p"\n',
     "mailbox.a.host"),
    ('[[mailbox]]\nname = "a"\nkind = "maildir"\n', "mailbox.a.path"),
    ('[[mailbox]]\nname = "a"\nkind = "maildir"\npath = "x"\nbatch_size = 0\n',
     "mailbox.a.batch_size"),
    ('[[mailbox]]\nname = "a"\nkind = "imap"\nhost = "mail.example.com"\nsecurity = "none"\n'
     'username = "u"\npassword = "p"\n', "mailbox.a.security"),
    ('[smtp]\nfrom_address = "geen adres"\n', "smtp.from_address"),
    ('[database]\nurl = "nergens"\n', "database.url"),
    ('[run]\nlockfile = "x"\n', "run.lockfile"),
    ('[calendar]\ntimezone = "Europe/Nergens"\n', "calendar.timezone"),
    ('[mailbox\n', None),
])
def test_a_bad_configuration_exits_2_with_one_sentence_naming_the_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, key: str | None) -> None:
    path = tmp_path / "mailtriage.toml"
    path.write_text(toml)

    result = cli(capsys, None, "--config", str(path), "run", "--json")

    assert result.code == 2
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert "Traceback" not in result.err
    assert (key or str(path)) in lines[0]


def test_a_missing_config_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    result = cli(capsys, None, "--config", str(tmp_path / "nope.toml"), "run")

    assert result.code == 2
    assert "does not exist" in result.err and len(result.err.strip().splitlines()) == 1


def test_a_missing_mailbox_is_reported_and_the_others_still_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "eml"
    good.mkdir()
    (good / "001.eml").write_bytes(customer_mail(1))
    setup = write_setup(tmp_path / "site", mailbox=[
        {"name": "weg", "kind": "maildir", "path": str(tmp_path / "bestaat-niet")},
        {"name": "lokaal", "kind": "emldir", "path": str(good)}])

    code, report = run_json(capsys, setup)

    assert code == 1
    errors = {m["mailbox"]: m["error"] for m in report["mailboxes"]}
    assert errors["weg"] and "bestaat-niet" in errors["weg"]
    assert errors["lokaal"] is None
    assert len(tickets(capsys, setup)) == 1
    plain = cli(capsys, setup, "run", "--workers", "0")
    assert plain.code == 1
    assert "weg/INBOX:" in plain.out and "Traceback" not in plain.err


def test_a_database_that_cannot_be_created_is_one_line_not_a_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bestand").write_text("geen map")
    setup = emldir_setup(tmp_path)
    broken = setup.rewrite(database={"url": f"sqlite:///{tmp_path / 'bestand' / 'm.db'}"})

    result = cli(capsys, broken, "run", "--json", "--workers", "0")

    assert result.code == 1
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "cannot be created" in lines[0]


def test_an_unexpected_fault_ends_in_one_line_and_status_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from mailtriage.services import delivery

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kapot\ntweede regel")

    monkeypatch.delenv("MAILTRIAGE_DEBUG", raising=False)
    monkeypatch.setattr(delivery, "deliver_due", broken)
    setup = emldir_setup(tmp_path)

    result = cli(capsys, setup, "run", "--json", "--workers", "0")

    assert result.code == 1
    assert result.err.strip().splitlines() == [
        "mailtriage: unexpected error RuntimeError: kapot (set MAILTRIAGE_DEBUG=1 to see where)"]
    # What was stored before the fault stays stored, once.
    assert len(tickets(capsys, setup)) == 2
    monkeypatch.undo()
    code, report = run_json(capsys, setup)
    assert code == 0 and report["messages"] == []
    assert report["delivery"]["sent"] == 2
