"""``mailtriage outbox``: list, show and requeue outgoing mail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from mailtriage.cli.main import root
from mailtriage.errors import NotFoundError, UsageError
from mailtriage.store.database import Database
from mailtriage.store.models import OutboxItem


def test_outbox_after_the_sample_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAILTRIAGE_CONFIG", raising=False)
    runner = CliRunner()
    assert runner.invoke(root, ["run", "--quiet"]).exit_code == 0
    listed = runner.invoke(root, ["outbox", "list", "--json"])
    rows = json.loads(listed.output)
    assert len(rows) == 33 and {r["status"] for r in rows} == {"sent"}
    assert {r["kind"] for r in rows} == {"ack"}
    shown = runner.invoke(root, ["outbox", "show", str(rows[0]["id"])])
    assert shown.exit_code == 0 and "Auto-Submitted: auto-replied" in shown.output
    # a sent mail cannot be requeued; an uncertain one can, once
    refused = runner.invoke(root, ["outbox", "requeue", str(rows[0]["id"])])
    assert isinstance(refused.exception, UsageError)  # main() maps it to exit status 2
    db = Database(f"sqlite:///{tmp_path / 'var' / 'mailtriage.db'}")
    with db.session() as s:
        s.execute(update(OutboxItem).where(OutboxItem.id == rows[0]["id"])
                  .values(status="uncertain"))
    db.dispose()
    assert runner.invoke(root, ["outbox", "requeue", str(rows[0]["id"])]).exit_code == 0
    pending = json.loads(runner.invoke(root, ["outbox", "list", "--status", "pending",
                                              "--json"]).output)
    assert [r["id"] for r in pending] == [rows[0]["id"]]
    assert isinstance(runner.invoke(root, ["outbox", "show", "99999"]).exception, NotFoundError)
