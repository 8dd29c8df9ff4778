"""``mailtriage run`` against a real Dovecot over IMAPS: every mail becomes exactly one ticket.

Covers the delivery guarantees of the run: a second run fetches nothing, replies thread, a new
UIDVALIDITY causes no duplicates, the mailbox is touched only after the commit, a process killed
before or after the commit loses and duplicates nothing, overlapping runs never double-process,
oversize mail is quarantined and can be replayed, an untrusted certificate or a dropped
connection stores nothing wrong.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from mailtriage.ingest.sources.imap import ImapSource
from tests.servers.dovecot import ImapMailbox, TcpProxy
from tests.services.conftest import (
    Setup,
    cli,
    customer_mail,
    db_rows,
    imap_table,
    run_child,
    run_json,
    start_child,
    stored_per_sha,
    tickets,
    write_setup,
)

pytestmark = pytest.mark.dovecot

FLAG = "$Mailtriage"
CET = timezone(timedelta(hours=1))
ARRIVED = datetime(2026, 3, 3, 10, 0, tzinfo=CET)
"""INTERNALDATE of appended mail: the time a ticket counts from (Tuesday, office hours)."""
DUE = {
    # Office hours Mon-Fri 08:30-17:00. high: 2 h / 4 h from Tue 10:00.
    "high": ("2026-03-03T12:00:00+01:00", "2026-03-03T14:00:00+01:00"),
    # medium: 8 h = 7 h on Tuesday + 1 h from Wed 08:30; 16 h = 7 + 8.5 + 0.5 (Thu 09:00).
    "medium": ("2026-03-04T09:30:00+01:00", "2026-03-05T09:00:00+01:00"),
}
CONTRACT_KEYS = {"id", "number", "subject", "requester", "type", "priority", "confidence",
                 "needs_review", "received_at", "response_due", "resolution_due", "status"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def setup_for(tmp_path: Path, mailbox: ImapMailbox, db_url: str | None = None,
              **mailbox_options: Any) -> Setup:
    sections: dict[str, Any] = {"mailbox": [imap_table(mailbox, **mailbox_options)]}
    if db_url is not None:
        sections["database"] = {"url": db_url}
    return write_setup(tmp_path / "site", **sections)


def iso_with_offset(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() is not None, value
    return parsed


def test_mails_become_tickets_and_a_second_run_adds_nothing(
        imap_mailbox: ImapMailbox, db_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    mails = [customer_mail(n) for n in range(1, 4)]
    uids = [imap_mailbox.append(m, internaldate=ARRIVED) for m in mails]
    setup = setup_for(tmp_path, imap_mailbox, db_url)

    code, report = run_json(capsys, setup)

    assert code == 0
    assert report["mailboxes"][0]["fetched"] == 3
    assert report["mailboxes"][0]["error"] is None
    assert sorted(m["uid"] for m in report["messages"]) == sorted(str(u) for u in uids)
    assert {m["outcome"] for m in report["messages"]} == {"ticket"}
    rows = tickets(capsys, setup)
    assert len(rows) == 3
    by_requester = {r["requester"]: r for r in rows}
    assert set(by_requester) == {f"klant{n}@bedrijf{n}.example" for n in range(1, 4)}
    for n in range(1, 4):
        row = by_requester[f"klant{n}@bedrijf{n}.example"]
        assert set(row) >= CONTRACT_KEYS
        assert row["subject"] == f"Contactformulier op de website werkt niet ({n})"
        # A contact form that fails for every visitor: an incident, high or medium.
        assert row["type"] == "incident"
        assert row["priority"] in DUE
        assert row["confidence"] is not None and 0.0 <= row["confidence"] <= 1.0
        assert isinstance(row["needs_review"], bool)
        assert row["status"] == "new"
        # INTERNALDATE (the arrival at the server), shown in the calendar's zone (CET).
        assert row["received_at"] == "2026-03-03T10:00:00+01:00"
        assert (row["response_due"], row["resolution_due"]) == DUE[row["priority"]]
    assert sorted(r["number"] for r in rows) == [1001, 1002, 1003]
    # One acknowledgement per ticket, written by the file transport.
    assert len(setup.outbox_files()) == 3
    assert stored_per_sha(setup) == {sha(m): 1 for m in mails}

    code, again = run_json(capsys, setup)

    assert code == 0
    assert again["mailboxes"][0]["fetched"] == 0
    assert again["messages"] == []
    assert again["delivery"] is None
    assert tickets(capsys, setup) == rows
    assert len(setup.outbox_files()) == 3


def outcomes_by_uid(report: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {int(m["uid"]): m for m in report["messages"]}


def ack_message_id(setup: Setup, recipient: str) -> str:
    """The Message-ID of the acknowledgement written to ``recipient``."""
    found = []
    for path in setup.outbox_files():
        mail = message_from_bytes(path.read_bytes())
        if recipient in str(mail["To"]):
            found.append(str(mail["Message-ID"]).strip())
    assert len(found) == 1, found
    return found[0]


def test_replies_thread_and_a_stranger_naming_a_ticket_gets_a_new_one(
        imap_mailbox: ImapMailbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = imap_mailbox.append(customer_mail(1), internaldate=ARRIVED)
    setup = setup_for(tmp_path, imap_mailbox)
    code, report = run_json(capsys, setup)
    assert code == 0
    assert outcomes_by_uid(report)[first]["ticket"] == 1001
    ours = ack_message_id(setup, "klant1@bedrijf1.example")

    # The customer writes again about its own first mail (no ticket number in the subject).
    own_thread = imap_mailbox.append(customer_mail(
        1, subject="Re: Contactformulier", message_id="<klant-1b@bedrijf1.example>",
        in_reply_to="<klant-1@bedrijf1.example>", body="Het werkt nog steeds niet."))
    # The customer answers our acknowledgement.
    to_ack = imap_mailbox.append(customer_mail(
        1, subject="Re: ontvangen", message_id="<klant-1c@bedrijf1.example>",
        in_reply_to=ours, body="Dank voor de snelle reactie."))
    # Someone else names ticket 1001 in the subject.
    stranger = imap_mailbox.append(customer_mail(
        9, sender="iemand@elders.example", subject="Re: [#1001] Contactformulier",
        body="Bij ons doet de nieuwsbrief het niet."))

    code, report = run_json(capsys, setup)

    assert code == 0
    got = outcomes_by_uid(report)
    assert (got[own_thread]["outcome"], got[own_thread]["ticket"]) == ("followup", 1001)
    assert "refers to an earlier message" in got[own_thread]["reason"]
    assert (got[to_ack]["outcome"], got[to_ack]["ticket"]) == ("followup", 1001)
    assert "answers a message we sent" in got[to_ack]["reason"]
    assert (got[stranger]["outcome"], got[stranger]["ticket"]) == ("ticket", 1002)
    assert "does not take part" in got[stranger]["reason"]
    rows = {r["number"]: r for r in tickets(capsys, setup)}
    assert set(rows) == {1001, 1002}
    assert rows[1002]["requester"] == "iemand@elders.example"
    detail = cli(capsys, setup, "tickets", "show", "1001", "--json").json()
    assert len(detail["messages"]) == 3


def test_a_recreated_mailbox_causes_no_duplicates(
        imap_mailbox: ImapMailbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Dovecot cannot rename INBOX, so the recreated folder is another one.
    imap_mailbox.folder = "Helpdesk"
    mails = [customer_mail(n) for n in range(1, 4)]
    for m in mails:
        imap_mailbox.append(m, internaldate=ARRIVED)
    setup = setup_for(tmp_path, imap_mailbox)
    assert run_json(capsys, setup)[0] == 0
    before = imap_mailbox.uidvalidity()

    after = imap_mailbox.recreate()
    for m in mails:
        imap_mailbox.append(m, internaldate=ARRIVED)
    code, report = run_json(capsys, setup)

    assert after != before
    assert code == 0
    box = report["mailboxes"][0]
    assert box["uidvalidity_changed"] is True
    assert box["fetched"] == 3
    assert box["outcomes"] == {"duplicate": 3}
    assert len(tickets(capsys, setup)) == 3
    assert stored_per_sha(setup) == {sha(m): 1 for m in mails}
    assert db_rows(setup, "SELECT uidvalidity, uidvalidity_changes FROM cursors") == [(after, 1)]
    # A new mail after the rescan is picked up by the new cursor.
    new = imap_mailbox.append(customer_mail(4), internaldate=ARRIVED)
    code, report = run_json(capsys, setup)
    assert [(int(m["uid"]), m["outcome"]) for m in report["messages"]] == [(new, "ticket")]


def test_flag_is_set_only_after_the_commit_and_never_in_a_dry_run(
        imap_mailbox: ImapMailbox, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    mails = [customer_mail(n) for n in range(1, 4)]
    uids = [imap_mailbox.append(m, internaldate=ARRIVED) for m in mails]
    setup = setup_for(tmp_path, imap_mailbox, processed_action="flag", batch_size=2)

    code, report = run_json(capsys, setup, "--dry-run")

    assert code == 0
    assert report["dry_run"] is True
    assert {m["outcome"] for m in report["messages"]} == {"ticket"}
    assert all(FLAG not in f for f in imap_mailbox.flags().values())
    assert db_rows(setup, "SELECT count(*) FROM messages") == [(0,)]
    assert setup.outbox_files() == []

    committed_at_mark: list[tuple[list[str], int]] = []
    real = ImapSource.mark_processed

    def checking(self: ImapSource, marked: list[str]) -> None:
        # Seen from another connection: the batch is committed before the server is touched.
        placeholders = ",".join(f"'{u}'" for u in marked)
        stored = db_rows(setup, f"SELECT count(*) FROM messages WHERE uid IN ({placeholders})")
        committed_at_mark.append((list(marked), stored[0][0]))
        real(self, marked)

    monkeypatch.setattr(ImapSource, "mark_processed", checking)
    code, report = run_json(capsys, setup)

    assert code == 0
    assert [n for _, n in committed_at_mark] == [2, 1]
    assert sorted(u for marked, _ in committed_at_mark for u in marked) == \
        sorted(str(u) for u in uids)
    flags = imap_mailbox.flags()
    assert all(FLAG in flags[u] for u in uids)
    assert all("\\Seen" not in flags[u] for u in uids)
    assert len(tickets(capsys, setup)) == 3


def test_move_happens_after_the_commit(
        imap_mailbox: ImapMailbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mails = [customer_mail(n) for n in range(1, 4)]
    for m in mails:
        imap_mailbox.append(m, internaldate=ARRIVED)
    setup = setup_for(tmp_path, imap_mailbox, processed_action="move",
                      processed_folder="Verwerkt")

    assert run_json(capsys, setup, "--dry-run")[0] == 0
    assert len(imap_mailbox.messages()) == 3
    assert "Verwerkt" not in imap_mailbox.folders()

    code, _ = run_json(capsys, setup)

    assert code == 0
    assert imap_mailbox.messages() == {}
    assert sorted(imap_mailbox.messages("Verwerkt").values()) == sorted(mails)
    assert len(tickets(capsys, setup)) == 3
    code, report = run_json(capsys, setup)
    assert (code, report["messages"]) == (0, [])


KILL_AT_MARK = """\
from mailtriage.ingest.sources import imap
def _die(self, uids):
    os._exit(9)
imap.ImapSource.mark_processed = _die
"""

KILL_IN_STORE = """\
from mailtriage.services import intake
_real = intake.store_batch
def _store_then_die(*args, **kwargs):
    _real(*args, **kwargs)
    os._exit(9)
intake.store_batch = _store_then_die
"""


def test_a_process_killed_after_the_commit_duplicates_nothing_and_flags_later(
        imap_mailbox: ImapMailbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mails = [customer_mail(n) for n in range(1, 4)]
    uids = [imap_mailbox.append(m, internaldate=ARRIVED) for m in mails]
    setup = setup_for(tmp_path, imap_mailbox, processed_action="flag")

    killed = run_child(setup, "run", "--json", "--workers", "0", hook=KILL_AT_MARK)

    assert killed.returncode == 9, killed.stderr
    assert stored_per_sha(setup) == {sha(m): 1 for m in mails}
    assert all(FLAG not in f for f in imap_mailbox.flags().values())
    assert setup.outbox_files() == []  # died before delivery; the replies wait in the outbox

    code, report = run_json(capsys, setup)

    assert code == 0
    assert report["messages"] == []
    assert report["delivery"]["sent"] == 3
    assert stored_per_sha(setup) == {sha(m): 1 for m in mails}
    assert len(tickets(capsys, setup)) == 3
    assert len(setup.outbox_files()) == 3
    assert set(imap_mailbox.flags()) == set(uids)
    # The next run marks what the killed run stored but could not flag.
    assert all(FLAG in f for f in imap_mailbox.flags().values())
    code, report = run_json(capsys, setup)
    assert code == 0 and report["messages"] == []
    assert all(FLAG in f for f in imap_mailbox.flags().values())


def test_a_process_killed_before_the_commit_loses_nothing(
        imap_mailbox: ImapMailbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mails = [customer_mail(n) for n in range(1, 4)]
    uids = [imap_mailbox.append(m, internaldate=ARRIVED) for m in mails]
    setup = setup_for(tmp_path, imap_mailbox, processed_action="flag")

    killed = run_child(setup, "run", "--json", "--workers", "0", hook=KILL_IN_STORE)

    assert killed.returncode == 9, killed.stderr
    assert db_rows(setup, "SELECT count(*) FROM messages") == [(0,)]
    assert db_rows(setup, "SELECT count(*) FROM tickets") == [(0,)]
    assert all(FLAG not in f for f in imap_mailbox.flags().values())

    code, report = run_json(capsys, setup)

    assert code == 0
    assert sorted(int(m["uid"]) for m in report["messages"]) == sorted(uids)
    assert stored_per_sha(setup) == {sha(m): 1 for m in mails}
    assert len(tickets(capsys, setup)) == 3
    assert len(setup.outbox_files()) == 3
    assert all(FLAG in f for f in imap_mailbox.flags().values())


def test_two_concurrent_runs_store_each_mail_once(
        imap_mailbox: ImapMailbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mails = [customer_mail(n) for n in range(1, 21)]
    for m in mails:
        imap_mailbox.append(m, internaldate=ARRIVED)
    setup = setup_for(tmp_path, imap_mailbox, processed_action="flag", batch_size=5)

    children = [start_child(setup, "run", "--json", "--workers", "0") for _ in range(2)]
    results = [(c.wait(timeout=90), c.communicate()) for c in children]

    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 75]), results
    for code, (_, err) in results:
        assert "Traceback" not in err
        if code == 75:
            assert "lock" in err and len(err.strip().splitlines()) == 1
    assert stored_per_sha(setup) == {sha(m): 1 for m in mails}
    assert len(tickets(capsys, setup)) == 20
    # One acknowledgement per mail, never two.
    recipients = sorted(str(message_from_bytes(p.read_bytes())["To"])
                        for p in setup.outbox_files())
    assert len(recipients) == 20 and len(set(recipients)) == 20


def test_oversize_mail_is_quarantined_and_replayed_after_raising_the_limit(
        imap_mailbox: ImapMailbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small = customer_mail(1)
    big = customer_mail(2, body="Zie de bijgevoegde logregels.\n" + "logregel 0123456789\n" * 600)
    imap_mailbox.append(small, internaldate=ARRIVED)
    big_uid = imap_mailbox.append(big, internaldate=ARRIVED)
    setup = setup_for(tmp_path, imap_mailbox, max_message_bytes=4000, processed_action="move")

    code, report = run_json(capsys, setup)

    assert code == 1  # quarantined mail needs attention
    got = outcomes_by_uid(report)
    assert got[big_uid]["outcome"] == "quarantined"
    assert got[big_uid]["reason"].startswith("oversize")
    assert len(tickets(capsys, setup)) == 1
    listed = cli(capsys, setup, "quarantine", "list", "--json").json()
    assert [(e["uid"], e["reason"], e["headers_only"], e["size"]) for e in listed] == \
        [(str(big_uid), "oversize", True, len(big))]
    entry = listed[0]["id"]
    # Only the headers of the big mail were kept: it stays in INBOX for the replay.
    assert list(imap_mailbox.messages().values()) == [big]
    assert list(imap_mailbox.messages("Processed").values()) == [small]

    raised = setup.rewrite(mailbox=[imap_table(imap_mailbox, max_message_bytes=100_000,
                                               processed_action="move")])
    replayed = cli(capsys, raised, "quarantine", "replay", str(entry), "--json")

    assert replayed.code == 0, replayed.err
    assert replayed.json()["outcome"] == "ticket"
    # Stored: now it is moved like the others.
    assert replayed.json()["reason"].endswith("; moved to Processed on the server")
    assert imap_mailbox.messages() == {}
    assert sorted(imap_mailbox.messages("Processed").values()) == sorted([small, big])
    rows = tickets(capsys, raised)
    assert len(rows) == 2
    assert stored_per_sha(raised) == {sha(small): 1, sha(big): 1}
    assert cli(capsys, raised, "quarantine", "list", "--json").json() == []
    # The next run neither refetches the mail nor sends a second acknowledgement.
    code, report = run_json(capsys, raised)
    assert (code, report["messages"]) == (0, [])
    assert len(raised.outbox_files()) == 2


def test_a_replay_whose_marking_fails_keeps_the_ticket_and_the_next_run_marks_the_mail(
        imap_mailbox: ImapMailbox, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from mailtriage.errors import MailboxError
    from mailtriage.services.replay import replay
    from mailtriage.store.database import Database

    big = customer_mail(2, body="Zie de bijgevoegde logregels.\n" + "logregel 0123456789\n" * 600)
    imap_mailbox.append(big, internaldate=ARRIVED)
    small = customer_mail(3)
    imap_mailbox.append(small, internaldate=ARRIVED)  # stored and moved by the first run
    setup = setup_for(tmp_path, imap_mailbox, max_message_bytes=4000, processed_action="move")
    run_json(capsys, setup)
    assert list(imap_mailbox.messages("Processed").values()) == [small]
    [entry] = cli(capsys, setup, "quarantine", "list", "--json").json()
    raised = setup.rewrite(mailbox=[imap_table(imap_mailbox, max_message_bytes=100_000,
                                               processed_action="move")])

    def dropped(self: ImapSource, uids: Any) -> None:
        raise MailboxError("the connection was closed by the server")

    monkeypatch.setattr(ImapSource, "mark_processed", dropped)
    db = Database(raised.config.database.url)
    try:
        outcome = replay(raised.config, db, entry["id"], ARRIVED + timedelta(hours=1))
    finally:
        db.dispose()
    assert outcome.kind == "ticket"
    assert outcome.reason.endswith("; not marked on the server (the connection was closed by "
                                   "the server); it stays in INBOX until the next run marks it")
    assert list(imap_mailbox.messages().values()) == [big]  # still there, and stored once
    assert stored_per_sha(raised) == {sha(big): 1, sha(small): 1}
    assert cli(capsys, raised, "quarantine", "list", "--json").json() == []

    # The server works again: the next run moves the replayed mail (the mail moved before is
    # no longer in the folder, which is no error), stores nothing more and sends the replayed
    # ticket's acknowledgement: one per ticket.
    monkeypatch.undo()
    code, report = run_json(capsys, raised)
    assert (code, report["messages"]) == (0, [])
    assert imap_mailbox.messages() == {}
    assert sorted(imap_mailbox.messages("Processed").values()) == sorted([small, big])
    assert stored_per_sha(raised) == {sha(big): 1, sha(small): 1}
    assert len(raised.outbox_files()) == 2
    code, report = run_json(capsys, raised)  # and the run after it has nothing to do
    assert (code, report["messages"], report["mailboxes"][0]["fetched"]) == (0, [], 0)
    assert len(raised.outbox_files()) == 2


def test_an_untrusted_certificate_stores_nothing(
        imap_mailbox: ImapMailbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    imap_mailbox.append(customer_mail(1), internaldate=ARRIVED)
    setup = setup_for(tmp_path, imap_mailbox, ca_file=str(imap_mailbox.server.rogue_cafile))

    code, report = run_json(capsys, setup)

    assert code == 1
    error = report["mailboxes"][0]["error"]
    assert error is not None and "certificate" in error
    assert report["messages"] == []
    assert db_rows(setup, "SELECT count(*) FROM messages") == [(0,)]
    assert tickets(capsys, setup) == []
    # Without --json the problem is shown too, and still no traceback.
    plain = cli(capsys, setup, "run", "--workers", "0")
    assert plain.code == 1
    assert "certificate" in plain.out + plain.err
    assert "Traceback" not in plain.err


def test_a_connection_drop_mid_fetch_loses_nothing(
        imap_mailbox: ImapMailbox, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        tcp_proxy: Callable[..., TcpProxy]) -> None:
    small = [customer_mail(n) for n in (1, 2)]
    large = [customer_mail(n, body=f"Melding {n}\n" + "regel met details 0123456789\n" * 800)
             for n in (3, 4, 5, 6)]
    mails = small + large
    uids = [imap_mailbox.append(m, internaldate=ARRIVED) for m in mails]
    # Every connection is cut once 14 kB came from the server: the TLS handshake, login and
    # the first batch (the two small mails) fit, a FETCH of a 23 kB mail never does.
    proxy = tcp_proxy(imap_mailbox.server.imaps_port, cut_after=14_000)
    setup = setup_for(tmp_path, imap_mailbox, port=proxy.port, batch_size=2,
                      processed_action="flag", reconnect_attempts=1)

    code, report = run_json(capsys, setup)

    assert code == 1
    assert "gave up" in report["mailboxes"][0]["error"]
    assert proxy.connections >= 2  # it tried again before giving up
    stored = {int(m["uid"]) for m in report["messages"]}
    assert stored == set(uids[:2])
    assert stored_per_sha(setup) == {sha(m): 1 for m in small}
    flagged = {u for u, f in imap_mailbox.flags().items() if FLAG in f}
    assert flagged == stored  # exactly what was committed, nothing more

    direct = setup.rewrite(mailbox=[imap_table(imap_mailbox, batch_size=2,
                                               processed_action="flag")])
    code, report = run_json(capsys, direct)

    assert code == 0
    assert {int(m["uid"]) for m in report["messages"]} == set(uids[2:])
    assert stored_per_sha(direct) == {sha(m): 1 for m in mails}
    assert len(tickets(capsys, direct)) == 6
    assert all(FLAG in f for f in imap_mailbox.flags().values())


def test_a_connection_cut_once_is_resumed_in_the_same_run(
        imap_mailbox: ImapMailbox, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        tcp_proxy: Callable[..., TcpProxy]) -> None:
    mails = [customer_mail(n, body=f"Melding {n}\n" + "regel met details\n" * 300)
             for n in range(1, 5)]
    uids = [imap_mailbox.append(m, internaldate=ARRIVED) for m in mails]
    proxy = tcp_proxy(imap_mailbox.server.imaps_port, cut_after=9_000, faulty_connections=1)
    setup = setup_for(tmp_path, imap_mailbox, port=proxy.port, batch_size=2,
                      processed_action="flag", reconnect_attempts=2)

    code, report = run_json(capsys, setup)

    assert code == 0, report
    assert proxy.connections >= 2
    assert sorted(int(m["uid"]) for m in report["messages"]) == sorted(uids)
    assert stored_per_sha(setup) == {sha(m): 1 for m in mails}
    assert all(FLAG in f for f in imap_mailbox.flags().values())


def test_a_database_error_at_commit_is_reported_without_traceback(
        imap_mailbox: ImapMailbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    uid = imap_mailbox.append(customer_mail(1), internaldate=ARRIVED)
    setup = setup_for(tmp_path, imap_mailbox, processed_action="flag")
    assert cli(capsys, setup, "init").code == 0
    # The cursor is written last in the batch's transaction; refusing it fails the commit.
    import sqlalchemy as sa

    engine = sa.create_engine(setup.config.database.url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TRIGGER refuse BEFORE INSERT ON cursors "
                             "BEGIN SELECT RAISE(ABORT, 'cursor refused'); END"))
    engine.dispose()

    code, report = run_json(capsys, setup)

    assert code == 1
    error = report["mailboxes"][0]["error"]
    assert "could not be stored" in error and "cursor refused" in error
    assert "\n" not in error
    assert report["messages"] == []
    assert db_rows(setup, "SELECT count(*) FROM messages") == [(0,)]
    assert FLAG not in imap_mailbox.flags()[uid]
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TRIGGER refuse"))
    engine.dispose()
    code, report = run_json(capsys, setup)
    assert code == 0
    assert [m["outcome"] for m in report["messages"]] == ["ticket"]
    assert FLAG in imap_mailbox.flags()[uid]
