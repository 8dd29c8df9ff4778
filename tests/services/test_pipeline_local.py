"""``mailtriage run`` over local sources: a Maildir, an mbox file and a directory of .eml files.

Each kind turns every mail into one ticket, a second run adds nothing, and mail added later is
the only thing the next run fetches.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.services.conftest import (
    Setup,
    customer_mail,
    run_json,
    stored_per_sha,
    tickets,
    write_setup,
)


def lf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n")


def make_maildir(root: Path, mails: list[bytes]) -> None:
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for data in mails:
        n = len(list((root / "new").iterdir())) + len(list((root / "cur").iterdir()))
        (root / "new" / f"17000000{n:02d}.M{n}P1.testhost").write_bytes(data)


def make_mbox(path: Path, mails: list[bytes]) -> None:
    with path.open("ab") as fh:
        for data in mails:
            if fh.tell():
                fh.write(b"\n")
            fh.write(b"From klant@example.test Tue Mar  3 10:00:00 2026\n" + lf(data))


def make_emldir(root: Path, mails: list[bytes]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for data in mails:
        n = len(list(root.iterdir()))
        (root / f"{n:03d}.eml").write_bytes(data)


WRITERS: dict[str, tuple[str, Callable[[Path, list[bytes]], None]]] = {
    "maildir": ("Maildir", make_maildir),
    "mbox": ("helpdesk.mbox", make_mbox),
    "emldir": ("eml", make_emldir),
}


def stored_bytes(kind: str, data: bytes) -> bytes:
    return lf(data) if kind == "mbox" else data


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_local_mail_becomes_tickets_once(kind: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    import hashlib

    name, write = WRITERS[kind]
    source = tmp_path / name
    mails = [customer_mail(n) for n in range(1, 4)]
    write(source, mails)
    setup: Setup = write_setup(tmp_path / "site", mailbox=[
        {"name": "lokaal", "kind": kind, "path": str(source)}])

    code, report = run_json(capsys, setup)

    assert code == 0
    assert report["mailboxes"][0]["fetched"] == 3
    assert report["mailboxes"][0]["outcomes"] == {"ticket": 3}
    rows = tickets(capsys, setup)
    assert sorted(r["requester"] for r in rows) == [
        f"klant{n}@bedrijf{n}.example" for n in range(1, 4)]
    assert sorted(r["number"] for r in rows) == [1001, 1002, 1003]
    assert {r["status"] for r in rows} == {"new"}
    assert len(setup.outbox_files()) == 3
    digest = {hashlib.sha256(stored_bytes(kind, m)).hexdigest(): 1 for m in mails}
    assert stored_per_sha(setup) == digest

    code, again = run_json(capsys, setup)

    assert code == 0
    assert again["mailboxes"][0]["fetched"] == 0
    assert again["messages"] == []
    assert tickets(capsys, setup) == rows

    later = customer_mail(4)
    write(source, [later])
    code, third = run_json(capsys, setup)

    assert code == 0
    assert [(m["outcome"], m["ticket"]) for m in third["messages"]] == [("ticket", 1004)]
    assert len(tickets(capsys, setup)) == 4
    assert len(setup.outbox_files()) == 4


def test_maildir_move_takes_stored_mail_out_of_the_inbox(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "Maildir"
    make_maildir(source, [customer_mail(n) for n in range(1, 3)])
    setup = write_setup(tmp_path / "site", mailbox=[
        {"name": "lokaal", "kind": "maildir", "path": str(source),
         "processed_action": "move", "processed_folder": "Verwerkt"}])

    code, report = run_json(capsys, setup, "--dry-run")
    assert code == 0 and len(report["messages"]) == 2
    assert len(list((source / "new").iterdir())) == 2

    code, report = run_json(capsys, setup)

    assert code == 0
    assert len(tickets(capsys, setup)) == 2
    assert list((source / "new").iterdir()) == []
    assert len(list((source / ".Verwerkt" / "new").iterdir())) == 2
    assert run_json(capsys, setup)[1]["messages"] == []
