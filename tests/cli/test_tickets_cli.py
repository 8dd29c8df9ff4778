"""``mailtriage tickets list`` and ``tickets show``: the JSON shapes of the contract."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tests.services.conftest import Setup, cli, customer_mail, run_json, tickets, write_setup

CONTRACT_KEYS = {"id", "number", "subject", "requester", "type", "priority", "confidence",
                 "needs_review", "received_at", "response_due", "resolution_due", "status"}
DATES = ["Mon, 02 Mar 2026 09:00:00 +0100", "Wed, 04 Mar 2026 11:15:00 +0100",
         "Tue, 03 Mar 2026 16:30:00 +0100"]


@pytest.fixture
def site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Setup:
    source = tmp_path / "eml"
    source.mkdir()
    for n, date in enumerate(DATES, start=1):
        # Without INTERNALDATE the receipt time comes from the top Received header.
        received = [f"Received: from mx.bedrijf{n}.example by mx.example.test; {date}"]
        (source / f"{n:03d}.eml").write_bytes(customer_mail(n, date=date,
                                                            extra_headers=received))
    (source / "004.eml").write_bytes(customer_mail(
        1, subject="Re: Contactformulier", message_id="<klant-1b@bedrijf1.example>",
        in_reply_to="<klant-1@bedrijf1.example>", date="Mon, 02 Mar 2026 10:00:00 +0100",
        body="Ook het tweede formulier doet het niet.",
        extra_headers=["Received: from mx by mx.example.test; Mon, 02 Mar 2026 10:00:05 +0100"]))
    setup = write_setup(tmp_path / "site", mailbox=[
        {"name": "lokaal", "kind": "emldir", "path": str(source)}])
    assert run_json(capsys, setup)[0] == 0
    return setup


def test_list_json_has_the_contract_fields_newest_first(
        site: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    rows = tickets(capsys, site)

    assert [r["number"] for r in rows] == [1002, 1003, 1001]  # by received_at, newest first
    assert [r["received_at"] for r in rows] == [
        "2026-03-04T11:15:00+01:00", "2026-03-03T16:30:00+01:00", "2026-03-02T09:00:00+01:00"]
    for r in rows:
        assert set(r) >= CONTRACT_KEYS
        assert isinstance(r["id"], int) and isinstance(r["number"], int)
        assert r["type"] in ("incident", "change", "other")
        assert r["priority"] in ("high", "medium", "low", None)
        assert 0.0 <= r["confidence"] <= 1.0
        assert isinstance(r["needs_review"], bool)
        assert r["status"] == "new"
        for key in ("received_at", "response_due", "resolution_due"):
            if r[key] is not None:
                assert datetime.fromisoformat(r[key]).utcoffset() is not None
    assert {r["requester"] for r in rows} == {f"klant{n}@bedrijf{n}.example" for n in (1, 2, 3)}


def test_list_filters(site: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    every = tickets(capsys, site)
    result = cli(capsys, site, "tickets", "list", "--json", "--status", "closed")
    assert (result.code, result.json()) == (0, [])
    result = cli(capsys, site, "tickets", "list", "--json", "--limit", "1")
    assert result.json() == every[:1]
    kind = every[0]["type"]
    result = cli(capsys, site, "tickets", "list", "--json", "--type", kind)
    assert result.json() == [r for r in every if r["type"] == kind]


def test_list_plain_shows_a_table(site: Setup, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    result = cli(capsys, site, "tickets", "list")

    assert result.code == 0
    assert "3 ticket(s)" in result.out
    assert "1001" in result.out and "klant1@bedrijf1.example" in result.out


def test_show_json_has_messages_history_and_corrections(
        site: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    result = cli(capsys, site, "tickets", "show", "1001", "--json")

    assert result.code == 0
    data = result.json()
    assert set(data) >= CONTRACT_KEYS
    assert data["number"] == 1001
    assert [(m["outcome"], m["from"]) for m in data["messages"]] == [
        ("ticket", "klant1@bedrijf1.example"), ("followup", "klant1@bedrijf1.example")]
    assert "Ook het tweede formulier doet het niet." in data["messages"][1]["text"]
    assert len(data["classifications"]) == 1
    assert data["classifications"][0]["type"] == data["type"]
    assert data["corrections"] == []
    assert [o["kind"] for o in data["outbox"]] == ["ack"]
    assert data["outbox"][0]["to"] == ["klant1@bedrijf1.example"]


@pytest.mark.parametrize("number", [1001, 1002, 1003])
def test_show_json_has_the_sla_clocks_now(site: Setup, capsys: pytest.CaptureFixture[str],
                                          number: int) -> None:
    # (tickets without a clock show null: tests/web/test_api.py, same serializer)
    data = cli(capsys, site, "tickets", "show", str(number), "--json").json()
    assert (data["type"], data["priority"]) == ("incident", "medium")
    clocks = data["clocks"]
    # The mail is from March 2026 and nobody answered: both clocks ran out long ago.
    assert datetime.fromisoformat(clocks["at"]) > datetime.fromisoformat(data["received_at"])
    assert clocks["priority"] == data["priority"]
    for kind in ("response", "resolution"):
        clock = clocks[kind]
        assert clock["state"] == "breached"
        assert clock["due"] == data[f"{kind}_due"]
        assert clock["started_at"] == data["received_at"]
        assert clock["stopped_at"] is None
        assert clock["remaining_seconds"] == 0
        assert clock["elapsed_seconds"] > clock["target_seconds"] > 0
    plain = cli(capsys, site, "tickets", "show", str(number))
    assert "Clocks: response breached  resolution breached" in plain.out


def test_show_plain(site: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    result = cli(capsys, site, "tickets", "show", "1002")

    assert result.code == 0
    assert "#1002" in result.out
    assert "Contactformulier op de website werkt niet (2)" in result.out


def test_show_of_an_unknown_number_exits_1_with_one_line(
        site: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["tickets", "show", "9999"], ["tickets", "show", "9999", "--json"]):
        result = cli(capsys, site, *args)
        assert result.code == 1
        assert result.out == ""
        assert result.err.strip().splitlines() == ["mailtriage: There is no ticket #9999."]


def test_show_of_a_non_number_is_a_usage_error(
        site: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    result = cli(capsys, site, "tickets", "show", "elf")

    assert result.code == 2
    assert "Traceback" not in result.err


def test_bulk_status_closes_the_old_tickets_with_an_audit_trail(
        site: Setup, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILTRIAGE_ACTOR", "anna")
    before = {t["number"]: t["status"] for t in tickets(capsys, site)}
    assert before == {1001: "new", 1002: "new", 1003: "new"}
    args = ("tickets", "bulk-status", "closed", "--received-before", "2026-03-04")

    dry = cli(capsys, site, *args, "--dry-run", "--json")
    assert dry.code == 0
    # received Mon 2 and Tue 3 March, oldest first; Wednesday's stays
    assert (dry.json()["tickets"], dry.json()["changed"]) == ([1001, 1003], 0)
    assert dry.json()["received_before"] == "2026-03-04T00:00:00+01:00"
    assert {t["number"]: t["status"] for t in tickets(capsys, site)} == before

    done = cli(capsys, site, *args, "--note", "oude mail van voor de ingebruikname")
    assert done.code == 0 and "2 ticket(s) set to closed." in done.out
    assert {t["number"]: t["status"] for t in tickets(capsys, site)} == {
        1001: "closed", 1002: "new", 1003: "closed"}
    shown = cli(capsys, site, "tickets", "show", "1003", "--json").json()
    [correction] = shown["corrections"]
    assert (correction["actor"], correction["note"]) == (
        "anna", "oude mail van voor de ingebruikname")
    assert (correction["before"]["status"], correction["after"]["status"]) == ("new", "closed")
    assert shown["resolved_at"] is not None

    again = cli(capsys, site, *args, "--json")  # closed tickets are not picked again
    assert (again.json()["tickets"], again.json()["changed"]) == ([], 0)
    bad = cli(capsys, site, "tickets", "bulk-status", "closed", "--received-before", "4-3-2026")
    assert bad.code == 2 and "Traceback" not in bad.err
