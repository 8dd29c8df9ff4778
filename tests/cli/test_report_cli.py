"""``mailtriage report sla`` and ``mailtriage tickets status`` through the real command line.

The database holds the hand-counted month of ``tests/services/test_compliance_report.py``; the
commands run in this process with ``--config`` pointing at a TOML file, and the clock of the
command context fixed, so ``now`` is known.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mailtriage.cli.context import AppContext
from mailtriage.cli.main import main
from mailtriage.config import Config, DatabaseConfig
from mailtriage.store.database import Database
from mailtriage.store.models import Correction, OutboxItem, Ticket, TicketEvent
from tests.services.test_compliance_report import (
    EXPECTED_APRIL,
    EXPECTED_MARCH,
    REPORT_NOW,
    build_month,
    mar,
)


class Cli:
    """Runs ``mailtriage --config FILE ...`` with the command clock set to ``now``."""

    def __init__(self, path: Path, capsys: pytest.CaptureFixture[str],
                 monkeypatch: pytest.MonkeyPatch) -> None:
        self.path = path
        self.capsys = capsys
        self.monkeypatch = monkeypatch
        self.now = REPORT_NOW

    def __call__(self, *args: str) -> tuple[int, str, str]:
        moment = self.now
        self.monkeypatch.setattr(AppContext, "now", lambda _self: moment)
        self.capsys.readouterr()
        try:
            main(["--config", str(self.path), *args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *args: str) -> Any:
        code, out, err = self(*args, "--json")
        assert code == 0, err
        return json.loads(out)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Path, Database]]:
    url = f"sqlite:///{tmp_path / 'mailtriage.db'}"
    path = tmp_path / "mailtriage.toml"
    path.write_text(
        f'[database]\nurl = "{url}"\n\n'
        f'[storage]\ndirectory = "{tmp_path / "files"}"\n\n'
        f'[smtp]\ntransport = "file"\ndirectory = "{tmp_path / "outbox"}"\n'
        'from_address = "helpdesk@example.test"\n\n'
        f'[classify]\nmodel_dir = "{tmp_path / "model"}"\n\n'
        f'[run]\nlock_file = "{tmp_path / "mailtriage.lock"}"\n', encoding="utf-8")
    db = Database(url)
    build_month(Config(database=DatabaseConfig(url)), db)
    yield path, db
    db.dispose()


@pytest.fixture
def cli(setup: tuple[Path, Database], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("MAILTRIAGE_ACTOR", "anna")
    return Cli(setup[0], capsys, monkeypatch)


# ---------------------------------------------------------------------------------------------
# report sla


def test_report_sla_json_for_one_month(cli: Cli) -> None:
    assert cli.json("report", "sla", "--month", "2026-03") == EXPECTED_MARCH


def test_report_sla_json_for_every_month(cli: Cli) -> None:
    assert cli.json("report", "sla") == EXPECTED_MARCH + EXPECTED_APRIL


def table_rows(out: str) -> list[list[str]]:
    """The body rows of a rich table as lists of cell texts."""
    rows = []
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("│┃").split("│")]
        if len(cells) == 12 and cells[0].startswith("20"):
            rows.append(cells)
    return rows


def test_report_sla_for_people(cli: Cli) -> None:
    code, out, err = cli("report", "sla", "--month", "2026-03")
    assert code == 0, err
    assert "SLA compliance 2026-03" in out
    # month, priority, response n / met / % / target / verdict, resolution the same
    assert table_rows(out) == [
        ["2026-03", "high", "6", "5", "83.3", "100%", "missed", "5", "4", "80.0", "85%",
         "missed"],
        ["2026-03", "medium", "7", "6", "85.7", "100%", "missed", "7", "5", "71.4", "85%",
         "missed"],
        ["2026-03", "low", "7", "7", "100.0", "100%", "met", "7", "6", "85.7", "85%", "met"],
    ]
    code, out, _ = cli("report", "sla")
    assert [r[:2] for r in table_rows(out)] == [
        ["2026-03", "high"], ["2026-03", "medium"], ["2026-03", "low"], ["2026-04", "high"]]
    # April: no response deadline of a high incident, one resolution met.
    assert table_rows(out)[3][2:] == ["0", "0", "-", "100%", "", "1", "1", "100.0", "85%",
                                      "met"]


def test_report_sla_for_an_empty_month_and_a_bad_one(cli: Cli) -> None:
    code, out, _ = cli("report", "sla", "--month", "2026-05")
    assert code == 0
    assert "No incidents with an SLA clock in 2026-05." in out
    assert cli.json("report", "sla", "--month", "2026-05") == []
    code, _, err = cli("report", "sla", "--month", "2026-13")
    assert code == 2
    assert "YYYY-MM" in err


# ---------------------------------------------------------------------------------------------
# tickets status


def test_tickets_status_waiting_then_open_moves_the_resolution_due(
        cli: Cli, setup: tuple[Path, Database]) -> None:
    _, db = setup
    number = 1012  # M6: medium, received Mon 16 March 08:30, resolution due Tue 17 16:00
    with db.session() as s:
        outbox_before = len(s.scalars(select(OutboxItem)).all())

    cli.now = mar(17, 10)
    code, out, err = cli("tickets", "status", str(number), "waiting", "--note",
                         "wacht op logbestanden")
    assert code == 0, err
    assert out.strip() == f"Ticket #{number}: open → waiting."

    # Wed 18 March 09:00 the customer has answered. Elapsed before the pause: 8.5 h Monday +
    # 1.5 h Tuesday = 10 h, so 6 h of the 16 remain: Wed 09:00 + 6 h = 15:00 (the paused
    # 7.5 office hours moved the due instant from Tue 16:00).
    cli.now = mar(18, 9)
    data = cli.json("tickets", "status", str(number), "open")
    assert data["number"] == number
    assert (data["before"]["status"], data["after"]["status"]) == ("waiting", "open")
    assert datetime.fromisoformat(data["before"]["resolution_due"]) == mar(17, 16)
    assert datetime.fromisoformat(data["after"]["resolution_due"]) == mar(18, 15)
    assert datetime.fromisoformat(data["after"]["response_due"]) == mar(16, 16, 30)

    with db.session() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None
        assert (ticket.status, ticket.resolution_due) == ("open", mar(18, 15))
        corrections = s.scalars(select(Correction).where(Correction.ticket_id == ticket.id)
                                .order_by(Correction.id)).all()
        assert [(c.actor, c.note, c.before["status"], c.after["status"], c.created_at)
                for c in corrections] == [
            ("anna", "wacht op logbestanden", "open", "waiting", mar(17, 10)),
            ("anna", "", "waiting", "open", mar(18, 9))]
        events = s.scalars(select(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "status_changed")
            .order_by(TicketEvent.id)).all()
        assert [(e.data["from"], e.data["to"], e.at, e.actor) for e in events] == [
            ("new", "open", mar(16, 9), "anna"),  # the staff reply opened it
            ("open", "waiting", mar(17, 10), "anna"),
            ("waiting", "open", mar(18, 9), "anna")]
        # A status change is no new assessment: the customer gets no update mail for it.
        assert len(s.scalars(select(OutboxItem)).all()) == outbox_before

    # Resolved at 14:00 Wednesday: within the moved due instant, so the report counts it met.
    cli.now = mar(18, 14)
    code, out, err = cli("tickets", "status", str(number), "resolved")
    assert code == 0, err
    cli.now = REPORT_NOW
    [medium] = [r for r in cli.json("report", "sla", "--month", "2026-03")
                if r["priority"] == "medium"]
    assert (medium["resolution"]["n"], medium["resolution"]["met"]) == (7, 6)
    assert medium["resolution"]["percentage"] == 85.71 and medium["resolution"]["passed"]


def test_tickets_status_closed_and_reopened_by_staff(cli: Cli,
                                                    setup: tuple[Path, Database]) -> None:
    _, db = setup
    cli.now = mar(20, 10)
    data = cli.json("tickets", "status", "1001", "closed", "--note", "klant akkoord")
    assert (data["before"]["status"], data["after"]["status"]) == ("resolved", "closed")
    with db.session() as s:
        t = s.scalar(select(Ticket).where(Ticket.number == 1001))
        assert t is not None
        # Closing keeps the resolution instant of Mon 2 March 12:00.
        assert (t.status, t.resolved_at, t.closed_at) == ("closed", mar(2, 12), mar(20, 10))
    cli.now = mar(20, 11)
    code, out, _ = cli("tickets", "status", "1001", "open")
    assert code == 0 and out.strip() == "Ticket #1001: closed → open."
    with db.session() as s:
        t = s.scalar(select(Ticket).where(Ticket.number == 1001))
        assert t is not None
        assert (t.status, t.resolved_at, t.closed_at) == ("open", None, None)


def test_tickets_status_refusals(cli: Cli) -> None:
    code, _, err = cli("tickets", "status", "9999", "open")
    assert code == 1 and "There is no ticket #9999." in err
    code, _, err = cli("tickets", "status", "1001", "pending")
    assert code == 2 and "pending" in err


def test_tickets_reply_then_waiting_pauses_until_set_open(cli: Cli,
                                                          setup: tuple[Path, Database]) -> None:
    _, db = setup
    number = 1012  # M6 again: resolution due Tue 17 March 16:00, answered Mon 09:00
    cli.now = mar(17, 15)
    data = cli.json("tickets", "reply", str(number), "--text", "Kunt u een schermafbeelding "
                    "sturen?", "--then", "waiting")
    assert data["status"] == "waiting" and data["first_response"] is False
    assert data["to"] == "klant11@bedrijf11.example"
    # 1 office hour was left at 15:00. Waiting until Thu 19 March 09:30: paused Tue 15:00-17:00,
    # Wed all day, Thu 08:30-09:30; due = Thu 09:30 + 1 h = 10:30.
    cli.now = mar(19, 9, 30)
    data = cli.json("tickets", "status", str(number), "open")
    assert datetime.fromisoformat(data["after"]["resolution_due"]) == mar(19, 10, 30)
    with db.session() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None
        assert ticket.first_response_at == mar(16, 9)  # the first reply still counts
        replies = s.scalars(select(OutboxItem).where(OutboxItem.ticket_id == ticket.id,
                                                     OutboxItem.kind == "reply")).all()
        assert len(replies) == 2


def test_report_sla_for_one_sla_level(cli: Cli, setup: tuple[Path, Database]) -> None:
    from sqlalchemy import update

    _path, db = setup
    with db.session() as s:
        levels = set(s.scalars(select(Ticket.sla_level)))
        s.execute(update(Ticket).values(sla_level="guaranteed"))
    assert levels == {"none"}
    assert cli.json("report", "sla", "--month", "2026-03", "--sla", "guaranteed") \
        == EXPECTED_MARCH
    assert cli.json("report", "sla", "--month", "2026-03", "--sla", "none") == []
