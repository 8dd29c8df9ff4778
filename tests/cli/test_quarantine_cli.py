"""``mailtriage quarantine list | show | replay``: mail that could not be processed."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services.conftest import (
    Setup,
    child_env,
    cli,
    customer_mail,
    db_rows,
    run_json,
    tickets,
    write_setup,
)


def nested(depth: int) -> bytes:
    """A mail wrapping a forwarded mail ``depth`` times (message/rfc822 in message/rfc822)."""
    inner = customer_mail(1)
    for level in range(depth):
        inner = (f"From: doorstuur{level}@example.test\r\nTo: helpdesk@example.test\r\n"
                 f"Subject: Fwd {level}\r\nMIME-Version: 1.0\r\n"
                 "Content-Type: message/rfc822\r\n\r\n").encode() + inner
    return inner


BIG = customer_mail(2, body="Zie de logregels hieronder.\n" + "logregel 0123456789\n" * 1200)
NESTED = nested(60)  # the parser refuses more than 50 levels; about 5 kB


@pytest.fixture
def site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Setup:
    source = tmp_path / "eml"
    source.mkdir()
    (source / "001-nested.eml").write_bytes(NESTED)
    (source / "002-big.eml").write_bytes(BIG)
    (source / "003-gewoon.eml").write_bytes(customer_mail(3))
    setup = write_setup(tmp_path / "site", mailbox=[
        {"name": "lokaal", "kind": "emldir", "path": str(source), "max_message_bytes": 12000}])
    code, report = run_json(capsys, setup)
    assert code == 1  # quarantined mail needs attention
    assert [m["outcome"] for m in report["messages"]] == ["quarantined", "quarantined", "ticket"]
    return setup


def entries(capsys: pytest.CaptureFixture[str], setup: Setup, *extra: str) -> list[dict]:  # type: ignore[type-arg]
    result = cli(capsys, setup, "quarantine", "list", "--json", *extra)
    assert result.code == 0, result.err
    rows: list[dict] = result.json()  # type: ignore[type-arg]
    return rows


def test_list_names_the_reason_of_each_entry(site: Setup, capsys: pytest.CaptureFixture[str]
                                             ) -> None:
    rows = entries(capsys, site)

    by_uid = {r["uid"]: r for r in rows}
    assert set(by_uid) == {"001-nested.eml", "002-big.eml"}
    assert by_uid["001-nested.eml"]["reason"] == "depth-limit"
    assert by_uid["001-nested.eml"]["headers_only"] is False
    assert by_uid["002-big.eml"]["reason"] == "oversize"
    assert by_uid["002-big.eml"]["headers_only"] is True
    assert by_uid["002-big.eml"]["size"] == len(BIG)
    assert {r["status"] for r in rows} == {"open"}
    assert all(r["mailbox"] == "lokaal" and r["detail"] for r in rows)
    plain = cli(capsys, site, "quarantine", "list")
    assert plain.code == 0 and "2 quarantined mail(s)" in plain.out


def test_show_gives_headers_and_the_raw_bytes(site: Setup, capsys: pytest.CaptureFixture[str]
                                              ) -> None:
    entry = next(r for r in entries(capsys, site) if r["uid"] == "001-nested.eml")

    shown = cli(capsys, site, "quarantine", "show", str(entry["id"]), "--json")

    assert shown.code == 0
    data = shown.json()
    assert data["reason"] == "depth-limit"
    assert data["headers"]["Subject"] == "Fwd 59"
    assert data["sha256"] == hashlib.sha256(NESTED).hexdigest()
    plain = cli(capsys, site, "quarantine", "show", str(entry["id"]))
    assert plain.code == 0 and "depth-limit" in plain.out


def test_show_raw_writes_the_kept_bytes(site: Setup) -> None:
    rows = db_rows(site, "SELECT id FROM quarantine WHERE uid = '001-nested.eml'")

    done = subprocess.run([sys.executable, "-m", "mailtriage", "--config", str(site.path),
                           "quarantine", "show", str(rows[0][0]), "--raw"],
                          capture_output=True, env=child_env(), timeout=60, check=False)

    assert done.returncode == 0, done.stderr
    assert done.stdout == NESTED


def test_replay_keeps_a_mail_whose_cause_remains_in_quarantine(
        site: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    entry = next(r for r in entries(capsys, site) if r["uid"] == "001-nested.eml")

    result = cli(capsys, site, "quarantine", "replay", str(entry["id"]), "--json")

    assert result.code == 1
    assert result.json()["outcome"] == "quarantined"
    assert "depth-limit" in result.json()["reason"]
    again = {r["id"]: r for r in entries(capsys, site)}[entry["id"]]
    assert (again["status"], again["attempts"]) == ("open", 2)
    assert len(tickets(capsys, site)) == 1


def test_replay_after_raising_the_limit_makes_a_ticket_once(
        site: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    entry = next(r for r in entries(capsys, site) if r["uid"] == "002-big.eml")
    table = dict(site.data["mailbox"][0], max_message_bytes=100_000)
    raised = site.rewrite(mailbox=[table])

    result = cli(capsys, raised, "quarantine", "replay", str(entry["id"]), "--json")

    assert result.code == 0, result.err
    assert result.json()["outcome"] == "ticket"
    number = result.json()["ticket"]
    assert [r["number"] for r in tickets(capsys, raised)].count(number) == 1
    shown = cli(capsys, raised, "tickets", "show", str(number), "--json").json()
    assert "logregel 0123456789" in shown["messages"][0]["text"]
    assert [r["uid"] for r in entries(capsys, raised)] == ["001-nested.eml"]
    assert [r["status"] for r in entries(capsys, raised, "--all")
            if r["id"] == entry["id"]] == ["replayed"]
    # A second replay is refused; a later run brings nothing twice.
    twice = cli(capsys, raised, "quarantine", "replay", str(entry["id"]))
    assert twice.code == 2 and "already replayed" in twice.err
    code, report = run_json(capsys, raised)
    assert (code, report["messages"]) == (0, [])
    assert len(tickets(capsys, raised)) == 2


def test_unknown_entries_exit_1_with_one_line(site: Setup, capsys: pytest.CaptureFixture[str]
                                              ) -> None:
    for verb in ("show", "replay"):
        result = cli(capsys, site, "quarantine", verb, "999")
        assert result.code == 1
        assert result.err.strip().splitlines() == ["mailtriage: There is no quarantine entry 999."]
