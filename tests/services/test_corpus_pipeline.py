"""Every mail of the shared corpus goes through ``mailtriage run`` from a Maildir.

Each file must end with a recorded outcome (a ticket, a follow-up, attached, ignored with a
reason, quarantined with a reason, or a duplicate of a byte-identical file), the run must end
without a traceback, and no bounce or automatic reply may open a ticket or get a reply.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from tests.ingest.test_corpus import EXPECTED_FILES, PERSON_MAIL, corpus_files
from tests.services.conftest import db_rows, run_child, write_setup

OUTCOMES = {"ticket", "followup", "attached", "ignored", "quarantined", "duplicate"}


@pytest.mark.slow
def test_every_corpus_mail_has_an_outcome_and_automatic_mail_gets_no_ticket(
        tmp_path: Path) -> None:
    files = corpus_files()
    assert len(files) == EXPECTED_FILES
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    key_to_file: dict[str, Path] = {}
    for i, path in enumerate(files):
        key = f"{i:04d}.{path.parent.name}.{path.name}"
        shutil.copyfile(path, maildir / "new" / key)
        key_to_file[key] = path
    setup = write_setup(tmp_path / "site", mailbox=[
        {"name": "corpus", "kind": "maildir", "path": str(maildir)}])

    # Default workers: the batch is large enough to be parsed in the process pool.
    done = run_child(setup, "run", "--json", timeout=120)

    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    report = json.loads(done.stdout)
    messages = {m["uid"]: m for m in report["messages"]}
    assert len(report["messages"]) == len(messages) == EXPECTED_FILES
    assert set(messages) == set(key_to_file)
    kinds = Counter(m["outcome"] for m in messages.values())
    assert set(kinds) <= OUTCOMES, kinds
    assert done.returncode == (1 if kinds["quarantined"] else 0), (done.returncode, kinds)
    for key, m in messages.items():
        if m["outcome"] in ("ignored", "quarantined", "duplicate", "attached"):
            assert m["reason"].strip(), key
        if m["outcome"] in ("ticket", "followup", "attached"):
            assert m["ticket"] is not None, key

    # A duplicate is a file whose bytes another file already brought in.
    digest = {k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in key_to_file.items()}
    stored = {sha for (sha,) in db_rows(setup, "SELECT sha256 FROM messages")} | {
        sha for (sha,) in db_rows(setup, "SELECT sha256 FROM quarantine")}
    for key, m in messages.items():
        if m["outcome"] == "duplicate":
            twins = [k for k in key_to_file if k != key and digest[k] == digest[key]]
            assert twins and digest[key] in stored, key
        else:
            assert digest[key] in stored, key

    automatic = {k for k, p in key_to_file.items()
                 if "sisimai" in p.parent.name and p.name not in PERSON_MAIL}
    assert len(automatic) == 176 - len(PERSON_MAIL)
    opened = sorted(k for k in automatic if messages[k]["outcome"] in ("ticket", "followup"))
    assert opened == []
    origins = dict(db_rows(setup, "SELECT uid, origin FROM messages"))
    assert not [k for k in automatic if origins.get(k) == "person"]
    # Every outgoing mail belongs to a ticket opened by a person's mail.
    replied = {uid for (uid,) in db_rows(
        setup, "SELECT m.uid FROM outbox o JOIN messages m ON m.ticket_id = o.ticket_id")}
    assert replied, "the corpus holds person mail that must be acknowledged"
    assert not replied & automatic
    assert all(origins[k] == "person" for k in replied)
    sent = db_rows(setup, "SELECT count(*) FROM outbox WHERE status = 'sent'")[0][0]
    assert len(setup.outbox_files()) == sent == report["delivery"]["sent"]
    for path in setup.outbox_files():
        head = path.read_bytes().split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        assert b"Auto-Submitted: auto-replied" in head or b"Auto-Submitted: auto-generated" \
            in head, path.name
