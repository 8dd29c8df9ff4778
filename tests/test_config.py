"""Configuration: the example documents every key, and every bad key gets one clear sentence."""

from __future__ import annotations

import subprocess
import sys
from datetime import time
from pathlib import Path

import pytest

from mailtriage.config import default_config, load_config, parse_config
from mailtriage.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "mailtriage.toml"


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MAILTRIAGE_IMAP_PASSWORD", "MAILTRIAGE_SMTP_PASSWORD", "MAILTRIAGE_SECRET_KEY"):
        monkeypatch.setenv(name, "s3cret")


def test_example_config_loads_with_the_spec_defaults(secrets_env: None) -> None:
    cfg = load_config(str(EXAMPLE))
    assert cfg.mailboxes[0].password == "s3cret"
    assert cfg.calendar.hours[0] == ((time(8, 30), time(17, 0)),)
    assert cfg.calendar.hours[5] == ()
    assert cfg.sla.targets["low"].resolution_working_days == 5
    assert cfg.sla.customers[0].sla == "guaranteed"
    assert cfg.database.url == "sqlite:///" + str(EXAMPLE.parent / "var/mailtriage.db")


def test_example_documents_every_key(secrets_env: None) -> None:
    """Every dataclass field of every section appears in the example config."""
    import dataclasses

    from mailtriage import config as c

    text = EXAMPLE.read_text()
    sections = [c.DatabaseConfig, c.StorageConfig, c.MailboxConfig, c.SmtpConfig,
                c.CalendarConfig, c.SlaConfig, c.ClassifyConfig, c.NotifyConfig,
                c.LifecycleConfig, c.WebConfig, c.RunConfig]
    skip = {"hours", "targets", "customers", "name", "source"}
    for section in sections:
        for f in dataclasses.fields(section):
            if f.name in skip:
                continue
            assert f"{f.name} " in text or f"{f.name}_env" in text, (section.__name__, f.name)


def test_defaults_read_the_bundled_sample_mailbox() -> None:
    cfg = default_config()
    assert cfg.mailboxes[0].kind == "emldir"
    assert cfg.smtp.transport == "file"


BASE_IMAP = {"name": "m", "kind": "imap", "host": "imap.example.test", "username": "u",
             "password": "p"}

BAD = [
    ({"databse": {}}, "databse", "not a known key"),
    ({"database": {"url": 5}}, "database.url", "must be a string"),
    ({"database": {"url": "nonsense"}}, "database.url", "SQLAlchemy URL"),
    ({"mailbox": [{**BASE_IMAP, "security": "plain"}]}, "mailbox.m.security", "must be one of"),
    ({"mailbox": [{**BASE_IMAP, "security": "none"}]}, "mailbox.m.security", "loopback"),
    ({"mailbox": [{**BASE_IMAP, "port": 70000}]}, "mailbox.m.port", "65535"),
    ({"mailbox": [{**BASE_IMAP, "host": ""}]}, "mailbox.m.host", "required"),
    ({"mailbox": [{k: v for k, v in BASE_IMAP.items() if k != "password"}]},
     "mailbox.m.password", "required"),
    ({"mailbox": [{**{k: v for k, v in BASE_IMAP.items() if k != "password"},
                   "password_env": "MT_SURELY_UNSET_VAR"}]},
     "mailbox.m.password_env", "not set"),
    ({"mailbox": [{**BASE_IMAP, "colour": "red"}]}, "mailbox.m.colour", "not a known key"),
    ({"mailbox": [{"name": "d", "kind": "maildir"}]}, "mailbox.d.path", "required"),
    ({"mailbox": [BASE_IMAP, BASE_IMAP]}, "mailbox[1].name", "unique"),
    ({"mailbox": [{**BASE_IMAP, "batch_size": 0}]}, "mailbox.m.batch_size", "greater than zero"),
    ({"smtp": {"host": "smtp.example.test", "security": "none"}}, "smtp.security", "loopback"),
    ({"smtp": {"from_address": "no address"}}, "smtp.from_address", "plain address"),
    ({"calendar": {"timezone": "Mars/Olympus"}}, "calendar.timezone", "unknown zone"),
    ({"calendar": {"monday": ["17:00-08:30"]}}, "calendar.monday", "ends before"),
    ({"calendar": {"monday": ["8.30-17"]}}, "calendar.monday", "HH:MM"),
    ({"calendar": {"monday": ["08:30-12:00", "11:00-17:00"]}}, "calendar.monday", "overlapping"),
    ({"calendar": {"closed_days": ["31-12-2026"]}}, "calendar.closed_days", "YYYY-MM-DD"),
    ({"calendar": {"part_days": {"24 dec": "15:00"}}}, "calendar.part_days.24 dec", "MM-DD"),
    ({"sla": {"targets": {"urgent": {"response_hours": 1}}}}, "sla.targets.urgent",
     "not a priority"),
    ({"sla": {"targets": {"high": {"response_hours": -1}}}}, "sla.targets.high.response_hours",
     "greater than zero"),
    ({"sla": {"at_risk_fraction": 1.5}}, "sla.at_risk_fraction", "between 0 and 1"),
    ({"customer": [{"sla": "guaranteed"}]}, "customer[0].match", "required"),
    ({"customer": [{"match": "x.test", "sla": "gold"}]}, "customer[0].sla", "must be one of"),
    ({"classify": {"review_threshold": 2}}, "classify.review_threshold", "between 0 and 1"),
    ({"notify": {"auto_reply": "yes"}}, "notify.auto_reply", "true or false"),
    ({"notify": {"rate_limit_count": 0}}, "notify.rate_limit_count", "greater than zero"),
    ({"notify": {"reply_max_age_hours": -1}}, "notify.reply_max_age_hours", "zero (no limit)"),
]


@pytest.mark.parametrize(("data", "key", "words"), BAD, ids=[b[1] for b in BAD])
def test_bad_configuration_names_the_key(data: dict[str, object], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data, base=Path("/tmp"))
    message = str(info.value)
    assert f"'{key}'" in message
    assert words in message
    assert message.count(".") >= 1 and "\n" not in message
    assert info.value.exit_code == 2


@pytest.mark.parametrize(("content", "words"), [
    ("[database\nurl=1", "not valid TOML"),
    ("[calendar]\nmonday = ['25:00-26:00']", "'calendar.monday'"),
])
def test_cli_exits_2_with_one_sentence(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content)
    proc = subprocess.run([sys.executable, "-m", "mailtriage", "--config", str(path),
                           "tickets", "list"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert words in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(str(tmp_path / "nope.toml"))
