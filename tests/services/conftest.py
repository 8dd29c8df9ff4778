"""Shared pieces of the end-to-end tests: configurations on disk, mails, and running the CLI.

Every test builds its own configuration under its own ``tmp_path``: database (unless a
``db_url`` is given), file store, outbox directory (the ``file`` transport), model directory
and lock file. The configuration is written as TOML, so the same file serves an in-process
``mailtriage`` call and a child process, and it is loaded with ``parse_config`` for direct calls.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mailtriage.cli.main import main
from mailtriage.config import Config, parse_config
from mailtriage.store.database import Database
from tests.servers.dovecot import ImapMailbox

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(config: Config) -> Iterator[Database]:
    """The migrated database of the test module's own ``config`` fixture."""
    database = Database(config.database.url)
    database.migrate()
    yield database
    database.dispose()


# ---------------------------------------------------------------------------------------------
# Configuration


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def to_toml(data: Mapping[str, Any]) -> str:
    """A TOML document for tables of scalars and the array of tables ``mailbox``."""
    lines: list[str] = []
    for section, body in data.items():
        tables = body if isinstance(body, list) else [body]
        for table in tables:
            lines.append(f"[[{section}]]" if isinstance(body, list) else f"[{section}]")
            lines += [f"{key} = {_toml_value(value)}" for key, value in table.items()]
            lines.append("")
    return "\n".join(lines)


@dataclass
class Setup:
    """One test's configuration: the file, the parsed Config, and where things land."""

    path: Path
    config: Config
    data: dict[str, Any]

    @property
    def outbox(self) -> Path:
        return self.config.smtp.directory

    def outbox_files(self) -> list[Path]:
        return sorted(self.outbox.glob("*.eml")) if self.outbox.is_dir() else []

    def rewrite(self, **sections: Any) -> Setup:
        """The same setup with some sections replaced (mailbox: a list of tables)."""
        return write_setup(self.path.parent, **{**self.data, **sections})


def write_setup(directory: Path, **sections: Any) -> Setup:
    """Write ``mailtriage.toml`` in ``directory`` with per-test paths; returns the Setup."""
    directory.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "database": {"url": f"sqlite:///{directory / 'mailtriage.db'}"},
        "storage": {"directory": str(directory / "files")},
        "smtp": {"transport": "file", "directory": str(directory / "outbox"),
                 "from_address": "helpdesk@example.test"},
        "classify": {"model_dir": str(directory / "model")},
        "run": {"lock_file": str(directory / "mailtriage.lock")},
        # The tests' mail is dated in the past and these runs read the real clock: no age
        # limit on automatic replies here (the tests of that limit set it themselves).
        "notify": {"reply_max_age_hours": 0},
    }
    data.update(sections)
    path = directory / "mailtriage.toml"
    path.write_text(to_toml(data), encoding="utf-8")
    import tomllib

    config = parse_config(tomllib.loads(path.read_text(encoding="utf-8")), base=directory,
                          source=path)
    return Setup(path, config, data)


def imap_table(mailbox: ImapMailbox, **overrides: Any) -> dict[str, Any]:
    """The ``[[mailbox]]`` table for a Dovecot test user over IMAPS with the test CA."""
    table: dict[str, Any] = {
        "name": "helpdesk", "kind": "imap", "host": mailbox.server.host,
        "port": mailbox.server.imaps_port, "security": "tls", "username": mailbox.user,
        "password": mailbox.password, "folder": mailbox.folder,
        "ca_file": str(mailbox.server.cafile), "connect_timeout": 5.0, "read_timeout": 10.0,
        "reconnect_attempts": 1,
    }
    table.update(overrides)
    return table


# ---------------------------------------------------------------------------------------------
# Mail


def customer_mail(n: int, *, sender: str | None = None, subject: str | None = None,
                  body: str | None = None, message_id: str | None = None,
                  in_reply_to: str | None = None, date: str = "Tue, 03 Mar 2026 10:00:00 +0100",
                  extra_headers: Sequence[str] = ()) -> bytes:
    """A plain customer mail (CRLF line ends, as IMAP keeps them)."""
    sender = sender or f"klant{n}@bedrijf{n}.example"
    head = [
        f"From: Klant {n} <{sender}>",
        "To: helpdesk@example.test",
        f"Subject: {subject or f'Contactformulier op de website werkt niet ({n})'}",
        f"Message-ID: {message_id or f'<klant-{n}@bedrijf{n}.example>'}",
        f"Date: {date}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    if in_reply_to:
        head += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    head += list(extra_headers)
    text = body or (f"Goedemorgen,\n\nSinds vanochtend geeft het contactformulier op onze "
                    f"website een foutmelding na het versturen (melding {n}). Klanten kunnen ons "
                    "zo niet bereiken.\n\nMet vriendelijke groet,\nKlant " + str(n))
    return ("\r\n".join(head) + "\r\n\r\n" + text.replace("\n", "\r\n") + "\r\n").encode()


# ---------------------------------------------------------------------------------------------
# Running the command


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def cli(capsys: pytest.CaptureFixture[str], setup: Setup | None, *args: str) -> CliResult:
    """``mailtriage [--config FILE] ARGS`` in this process; the exit status and the output."""
    argv = (["--config", str(setup.path)] if setup is not None else []) + list(args)
    capsys.readouterr()
    try:
        result = main(argv)
        code = 0 if not isinstance(result, int) else result
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


def run_json(capsys: pytest.CaptureFixture[str], setup: Setup, *extra: str) -> tuple[int, Any]:
    """``mailtriage run --json --workers 0``: the exit status and the report."""
    result = cli(capsys, setup, "run", "--json", "--workers", "0", *extra)
    assert "Traceback" not in result.err, result.err
    return result.code, result.json()


def tickets(capsys: pytest.CaptureFixture[str], setup: Setup) -> list[dict[str, Any]]:
    result = cli(capsys, setup, "tickets", "list", "--json", "--limit", "10000")
    assert result.code == 0, result.err
    rows: list[dict[str, Any]] = result.json()
    return rows


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


CHILD = """\
import os, sys
{hook}
from mailtriage.cli.main import main
main(sys.argv[1:])
"""


def start_child(setup: Setup, *args: str, hook: str = "") -> subprocess.Popen[str]:
    """``mailtriage --config FILE ARGS`` in a child process, with ``hook`` run first."""
    return subprocess.Popen(
        [sys.executable, "-c", CHILD.format(hook=hook), "--config", str(setup.path), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(),
        cwd=setup.path.parent)


def run_child(setup: Setup, *args: str, hook: str = "", timeout: float = 60
              ) -> subprocess.CompletedProcess[str]:
    proc = start_child(setup, *args, hook=hook)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


# ---------------------------------------------------------------------------------------------
# Looking into the database


def db_rows(setup: Setup, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of a read-only query against the test's database."""
    import sqlalchemy as sa

    engine = sa.create_engine(setup.config.database.url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def stored_per_sha(setup: Setup) -> dict[str, int]:
    """sha256 of each stored raw mail -> how many message rows hold it."""
    return {sha: n for sha, n in db_rows(
        setup, "SELECT sha256, count(*) FROM messages GROUP BY sha256")}
