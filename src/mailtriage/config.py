"""Loads and validates the TOML configuration once, at the edge, into frozen values.

Every problem is reported as one sentence that names the key (``ConfigError``, exit status 2).
Every key is documented in ``examples/mailtriage.toml``; the embedded defaults run the bundled
sample mailbox against SQLite with replies written to a folder.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailtriage.errors import ConfigError

SAMPLE_MAILBOX = Path(__file__).resolve().parent / "sample" / "mailbox"

Security = Literal["tls", "starttls", "none"]
MailboxKind = Literal["imap", "maildir", "mbox", "emldir"]
SlaLevel = Literal["guaranteed", "aim", "none"]
Workload = Literal["low", "high"]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


# ---------------------------------------------------------------------------------------------
# Sections


@dataclass(frozen=True)
class DatabaseConfig:
    """Where tickets are stored."""

    url: str = "sqlite:///var/mailtriage.db"


@dataclass(frozen=True)
class StorageConfig:
    """The content-addressed file store for large raw mails and attachment contents."""

    directory: Path = Path("var/files")
    inline_limit: int = 256 * 1024


@dataclass(frozen=True)
class MailboxConfig:
    """One mailbox to read: IMAP, or a local Maildir, mbox or directory of .eml files."""

    name: str
    kind: MailboxKind
    host: str = ""
    port: int = 993
    security: Security = "tls"
    username: str = ""
    password: str | None = field(default=None, repr=False)
    oauth2_token_command: str | None = None
    folder: str = "INBOX"
    sent_folder: str | None = None
    path: Path | None = None
    processed_action: Literal["none", "flag", "move"] = "none"
    processed_folder: str = "Processed"
    processed_flag: str = "$Mailtriage"
    batch_size: int = 200
    max_message_bytes: int = 25 * 1024 * 1024
    connect_timeout: float = 15.0
    read_timeout: float = 60.0
    reconnect_attempts: int = 3
    ca_file: Path | None = None


@dataclass(frozen=True)
class SmtpConfig:
    """How outgoing mail leaves: over SMTP, or written as .eml files (the default)."""

    transport: Literal["smtp", "file"] = "file"
    directory: Path = Path("var/outbox")
    host: str = "127.0.0.1"
    port: int = 587
    security: Security = "starttls"
    username: str = ""
    password: str | None = field(default=None, repr=False)
    from_address: str = "helpdesk@example.test"
    from_name: str = "Helpdesk"
    timeout: float = 30.0
    ca_file: Path | None = None
    max_attempts: int = 8


@dataclass(frozen=True)
class PartDay:
    """A day the office closes early: ``date`` is ``MM-DD`` (every year) or ``YYYY-MM-DD``."""

    date: str
    closes: time


@dataclass(frozen=True)
class CalendarConfig:
    """Office hours, zone and closing days."""

    timezone: str = "Europe/Amsterdam"
    hours: tuple[tuple[tuple[time, time], ...], ...] = (
        ((time(8, 30), time(17, 0)),),
        ((time(8, 30), time(17, 0)),),
        ((time(8, 30), time(17, 0)),),
        ((time(8, 30), time(17, 0)),),
        ((time(8, 30), time(17, 0)),),
        (),
        (),
    )
    holiday_country: str = "NL"
    holidays_exclude: tuple[str, ...] = ("Goede Vrijdag",)
    holidays_include: tuple[str, ...] = ()
    closed_days: tuple[date, ...] = ()
    part_days: tuple[PartDay, ...] = (PartDay("12-24", time(15, 0)),)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Target:
    """Response and resolution targets of one priority, in office hours or working days."""

    response_hours: float
    resolution_hours: float | None = None
    resolution_working_days: float | None = None


@dataclass(frozen=True)
class CustomerConfig:
    """A customer, matched by address or domain, and the SLA it bought."""

    match: str
    sla: SlaLevel
    name: str = ""


@dataclass(frozen=True)
class SlaConfig:
    """Commitments per priority, customers, at-risk threshold and change-request terms."""

    targets: Mapping[str, Target] = field(
        default_factory=lambda: {
            "high": Target(response_hours=2, resolution_hours=4),
            "medium": Target(response_hours=8, resolution_hours=16),
            "low": Target(response_hours=16, resolution_working_days=5),
        }
    )
    response_target_percent: float = 100.0
    resolution_target_percent: float = 85.0
    at_risk_fraction: float = 0.75
    customers: tuple[CustomerConfig, ...] = ()
    default_sla: SlaLevel = "none"
    workload: Literal["low", "high", "auto"] = "auto"
    change_capacity_hours: float = 40.0


@dataclass(frozen=True)
class ClassifyConfig:
    """Where rules and the model live, and when a decision needs review."""

    rules_file: Path | None = None
    model_dir: Path = Path("var/model")
    review_threshold: float = 0.6
    correction_weight: float = 5.0


@dataclass(frozen=True)
class NotifyConfig:
    """The automatic reply, its limits, updates after corrections and staff alerts."""

    auto_reply: bool = True
    reply_to_followups: bool = False
    rate_limit_count: int = 3
    rate_limit_window_minutes: int = 60 * 24
    reply_max_age_hours: int = 72
    template_dir: Path | None = None
    default_language: Literal["nl", "en"] = "nl"
    update_on_correction: bool = True
    staff_alert_address: str | None = None
    helpdesk_name: str = "Helpdesk"
    own_addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class LifecycleConfig:
    """Who counts as staff, and how long after resolution a customer mail reopens a ticket."""

    staff_addresses: tuple[str, ...] = ()
    reopen_window_days: int = 14


@dataclass(frozen=True)
class WebConfig:
    """The staff web UI."""

    host: str = "127.0.0.1"
    port: int = 8080
    secret_key: str | None = field(default=None, repr=False)
    secure_cookies: bool = False


@dataclass(frozen=True)
class RunConfig:
    """Run-wide settings: where the lock lives."""

    lock_file: Path = Path("var/mailtriage.lock")


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    database: DatabaseConfig = DatabaseConfig()
    storage: StorageConfig = StorageConfig()
    mailboxes: tuple[MailboxConfig, ...] = ()
    smtp: SmtpConfig = SmtpConfig()
    calendar: CalendarConfig = CalendarConfig()
    sla: SlaConfig = SlaConfig()
    classify: ClassifyConfig = ClassifyConfig()
    notify: NotifyConfig = NotifyConfig()
    lifecycle: LifecycleConfig = LifecycleConfig()
    web: WebConfig = WebConfig()
    run: RunConfig = RunConfig()
    source: Path | None = None


def default_config() -> Config:
    """The embedded defaults: SQLite under ./var, the bundled sample mailbox, file transport.

    Two of the sample's customers have an SLA, so the demo shows both the guaranteed and the
    aim-only wording; a real installation lists its customers in ``[[customer]]``. The sample's
    mail is dated in the past, so the age limit of automatic replies is off: the demo answers it.
    """
    return Config(
        mailboxes=(MailboxConfig(name="sample", kind="emldir", path=SAMPLE_MAILBOX),),
        notify=NotifyConfig(reply_max_age_hours=0),
        sla=SlaConfig(customers=(
            CustomerConfig("bakkerij-jansen.example", "guaranteed", "Bakkerij Jansen"),
            CustomerConfig("acme-logistics.test", "guaranteed", "Acme Logistics"),
        )),
    )


# ---------------------------------------------------------------------------------------------
# Loading


def find_config_path(explicit: str | None) -> Path | None:
    """``--config``, else ``$MAILTRIAGE_CONFIG``, else ``./mailtriage.toml`` if it exists."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("MAILTRIAGE_CONFIG")
    if env:
        return Path(env)
    local = Path("mailtriage.toml")
    return local if local.exists() else None


def load_config(explicit: str | None = None) -> Config:
    """Find, read and validate the configuration; the embedded defaults when there is none."""
    path = find_config_path(explicit)
    if path is None:
        return default_config()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"The configuration file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The configuration file {path} cannot be read: {exc}.") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The configuration file {path} is not valid TOML: {exc}.") from None
    return parse_config(data, base=path.parent, source=path)


T = TypeVar("T")


class _Section:
    """Reads typed keys from one table, remembering which keys were used."""

    def __init__(self, data: Mapping[str, Any], prefix: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"'{prefix}' must be a table.", prefix)
        self.data = data
        self.prefix = prefix
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def get(self, name: str, kind: type[T] | tuple[type, ...], default: T) -> T:
        self.used.add(name)
        if name not in self.data:
            return default
        value = self.data[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and bool not in kinds:
            raise ConfigError(f"'{self.key(name)}' must be {_kind_name(kinds)}, not a boolean.",
                              self.key(name))
        if not isinstance(value, kinds):
            raise ConfigError(
                f"'{self.key(name)}' must be {_kind_name(kinds)}, not {type(value).__name__}.",
                self.key(name),
            )
        return value  # type: ignore[return-value]

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.get(name, str, default)
        if value not in choices:
            allowed = ", ".join(f'"{c}"' for c in choices)
            raise ConfigError(f"'{self.key(name)}' must be one of {allowed}, not \"{value}\".",
                              self.key(name))
        return value

    def positive(self, name: str, kind: type[T], default: T) -> T:
        value = self.get(name, kind, default)
        if value <= 0:  # type: ignore[operator]
            raise ConfigError(f"'{self.key(name)}' must be greater than zero.", self.key(name))
        return value

    def at_least_zero(self, name: str, kind: type[T], default: T, zero_means: str) -> T:
        value = self.get(name, kind, default)
        if value < 0:  # type: ignore[operator]
            raise ConfigError(f"'{self.key(name)}' must be zero ({zero_means}) or more.",
                              self.key(name))
        return value

    def strings(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.get(name, list, list(default))
        for item in value:
            if not isinstance(item, str):
                raise ConfigError(f"'{self.key(name)}' must be a list of strings.", self.key(name))
        return tuple(value)

    def path(self, name: str, base: Path, default: Path | None) -> Path | None:
        value = self.get(name, str, None if default is None else str(default))
        if value is None:
            return None
        p = Path(value).expanduser()
        return p if p.is_absolute() else (base / p)

    def secret(self, name: str) -> str | None:
        """``name`` itself, or ``name_env`` naming an environment variable."""
        direct = self.get(name, str, None)
        env_name = self.get(f"{name}_env", str, None)
        if direct is not None and env_name is not None:
            raise ConfigError(f"'{self.key(name)}' and '{self.key(name + '_env')}' cannot both be "
                              "set.", self.key(name))
        if env_name is not None:
            value = os.environ.get(env_name)
            if value is None:
                raise ConfigError(f"'{self.key(name + '_env')}' names the environment variable "
                                  f"{env_name}, which is not set.", self.key(name + "_env"))
            return value
        return direct

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ConfigError(f"'{self.key(unknown[0])}' is not a known key.", self.key(unknown[0]))


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {str: "a string", int: "a whole number", float: "a number", bool: "true or false",
             list: "a list", dict: "a table"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names the loopback interface (a literal address or ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _parse_time(value: str, key: str) -> time:
    m = _HHMM.match(value.strip())
    if not m:
        raise ConfigError(f"'{key}' must hold times as HH:MM, not \"{value}\".", key)
    return time(int(m.group(1)), int(m.group(2)))


def _parse_intervals(values: list[Any], key: str) -> tuple[tuple[time, time], ...]:
    out: list[tuple[time, time]] = []
    for item in values:
        if not isinstance(item, str) or "-" not in item:
            raise ConfigError(f"'{key}' must be a list of \"HH:MM-HH:MM\" intervals.", key)
        start_s, end_s = item.split("-", 1)
        start, end = _parse_time(start_s, key), _parse_time(end_s, key)
        if end <= start:
            raise ConfigError(f"'{key}' has an interval \"{item}\" that ends before it starts.",
                              key)
        if out and start < out[-1][1]:
            raise ConfigError(f"'{key}' has overlapping or unsorted intervals.", key)
        out.append((start, end))
    return tuple(out)


def _parse_date(value: Any, key: str) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(f"'{key}' must hold dates as YYYY-MM-DD, not \"{value}\".", key)


def _sub(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"'{name}' must be a table.", name)
    return value


def parse_config(data: Mapping[str, Any], base: Path, source: Path | None = None) -> Config:
    """Validate a parsed TOML document; relative paths are taken from ``base``."""
    top = _Section(data, "")
    for name in ("database", "storage", "mailbox", "smtp", "calendar", "sla", "customer",
                 "classify", "notify", "lifecycle", "web", "run"):
        top.used.add(name)
    top.finish()

    defaults = Config()

    db = _Section(_sub(data, "database"), "database")
    url = db.get("url", str, "sqlite:///" + str(base / "var" / "mailtriage.db"))
    if not url or "://" not in url:
        raise ConfigError("'database.url' must be an SQLAlchemy URL such as "
                          "\"sqlite:///var/mailtriage.db\".", "database.url")
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and ":memory:" not in url:
        rel = url[len("sqlite:///"):]
        url = "sqlite:///" + str(base / rel)
    db.finish()
    database = DatabaseConfig(url=url)

    st = _Section(_sub(data, "storage"), "storage")
    storage = StorageConfig(
        directory=st.path("directory", base, Path("var/files")) or base / "var/files",
        inline_limit=st.positive("inline_limit", int, defaults.storage.inline_limit),
    )
    st.finish()

    mailboxes = _parse_mailboxes(data.get("mailbox", []), base)
    smtp = _parse_smtp(_sub(data, "smtp"), base)
    calendar = _parse_calendar(_sub(data, "calendar"))
    sla = _parse_sla(_sub(data, "sla"), data.get("customer", []))

    cl = _Section(_sub(data, "classify"), "classify")
    threshold = cl.get("review_threshold", float, defaults.classify.review_threshold)
    if not 0.0 <= threshold <= 1.0:
        raise ConfigError("'classify.review_threshold' must lie between 0 and 1.",
                          "classify.review_threshold")
    classify = ClassifyConfig(
        rules_file=cl.path("rules_file", base, None),
        model_dir=cl.path("model_dir", base, Path("var/model")) or base / "var/model",
        review_threshold=threshold,
        correction_weight=cl.positive("correction_weight", float,
                                      defaults.classify.correction_weight),
    )
    cl.finish()

    nt = _Section(_sub(data, "notify"), "notify")
    notify = NotifyConfig(
        auto_reply=nt.get("auto_reply", bool, True),
        reply_to_followups=nt.get("reply_to_followups", bool, False),
        rate_limit_count=nt.positive("rate_limit_count", int, defaults.notify.rate_limit_count),
        rate_limit_window_minutes=nt.positive("rate_limit_window_minutes", int,
                                              defaults.notify.rate_limit_window_minutes),
        reply_max_age_hours=nt.at_least_zero("reply_max_age_hours", int,
                                             defaults.notify.reply_max_age_hours, "no limit"),
        template_dir=nt.path("template_dir", base, None),
        default_language=nt.choice("default_language", ("nl", "en"), "nl"),  # type: ignore[arg-type]
        update_on_correction=nt.get("update_on_correction", bool, True),
        staff_alert_address=nt.get("staff_alert_address", str, None),
        helpdesk_name=nt.get("helpdesk_name", str, defaults.notify.helpdesk_name),
        own_addresses=tuple(a.lower() for a in nt.strings("own_addresses", ())),
    )
    nt.finish()

    lc = _Section(_sub(data, "lifecycle"), "lifecycle")
    lifecycle = LifecycleConfig(
        staff_addresses=tuple(a.lower() for a in lc.strings("staff_addresses", ())),
        reopen_window_days=lc.positive("reopen_window_days", int,
                                       defaults.lifecycle.reopen_window_days),
    )
    lc.finish()

    wb = _Section(_sub(data, "web"), "web")
    web = WebConfig(
        host=wb.get("host", str, "127.0.0.1"),
        port=wb.positive("port", int, 8080),
        secret_key=wb.secret("secret_key"),
        secure_cookies=wb.get("secure_cookies", bool, False),
    )
    wb.finish()

    rn = _Section(_sub(data, "run"), "run")
    run = RunConfig(lock_file=rn.path("lock_file", base, Path("var/mailtriage.lock"))
                    or base / "var/mailtriage.lock")
    rn.finish()

    return Config(database=database, storage=storage, mailboxes=mailboxes, smtp=smtp,
                  calendar=calendar, sla=sla, classify=classify, notify=notify,
                  lifecycle=lifecycle, web=web, run=run, source=source)


def _parse_mailboxes(raw: Any, base: Path) -> tuple[MailboxConfig, ...]:
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list):
        raise ConfigError("'mailbox' must be an array of tables ([[mailbox]]).", "mailbox")
    seen: set[str] = set()
    out: list[MailboxConfig] = []
    for i, item in enumerate(raw):
        s = _Section(item, f"mailbox[{i}]")
        name = s.get("name", str, f"mailbox{i + 1}")
        if name in seen:
            raise ConfigError(f"'mailbox[{i}].name' repeats the name \"{name}\"; names must be "
                              "unique.", f"mailbox[{i}].name")
        seen.add(name)
        s.prefix = f"mailbox.{name}"
        kind = s.choice("kind", ("imap", "maildir", "mbox", "emldir"), "imap")
        security = s.choice("security", ("tls", "starttls", "none"), "tls")
        host = s.get("host", str, "")
        default_port = {"tls": 993, "starttls": 143, "none": 143}[security]
        port = s.positive("port", int, default_port)
        if port > 65535:
            raise ConfigError(f"'{s.key('port')}' must be a port number up to 65535.",
                              s.key("port"))
        username = s.get("username", str, "")
        password = s.secret("password")
        token_cmd = s.get("oauth2_token_command", str, None)
        path = s.path("path", base, None)
        if kind == "imap":
            if not host:
                raise ConfigError(f"'{s.key('host')}' is required for an IMAP mailbox.",
                                  s.key("host"))
            if security == "none" and not is_loopback(host):
                raise ConfigError(f"'{s.key('security')}' = \"none\" is refused for host {host}: "
                                  "plaintext is only allowed on loopback.", s.key("security"))
            if not username:
                raise ConfigError(f"'{s.key('username')}' is required for an IMAP mailbox.",
                                  s.key("username"))
            if password is None and token_cmd is None:
                raise ConfigError(f"'{s.key('password')}' (or password_env, or "
                                  "oauth2_token_command) is required for an IMAP mailbox.",
                                  s.key("password"))
        elif path is None:
            raise ConfigError(f"'{s.key('path')}' is required for a {kind} mailbox.",
                              s.key("path"))
        action = s.choice("processed_action", ("none", "flag", "move"), "none")
        out.append(MailboxConfig(
            name=name, kind=kind, host=host, port=port, security=security,  # type: ignore[arg-type]
            username=username, password=password, oauth2_token_command=token_cmd,
            folder=s.get("folder", str, "INBOX"),
            sent_folder=s.get("sent_folder", str, None),
            path=path, processed_action=action,  # type: ignore[arg-type]
            processed_folder=s.get("processed_folder", str, "Processed"),
            processed_flag=s.get("processed_flag", str, "$Mailtriage"),
            batch_size=s.positive("batch_size", int, 200),
            max_message_bytes=s.positive("max_message_bytes", int, 25 * 1024 * 1024),
            connect_timeout=s.positive("connect_timeout", float, 15.0),
            read_timeout=s.positive("read_timeout", float, 60.0),
            reconnect_attempts=s.positive("reconnect_attempts", int, 3),
            ca_file=s.path("ca_file", base, None),
        ))
        s.finish()
    return tuple(out)


def _parse_smtp(raw: Mapping[str, Any], base: Path) -> SmtpConfig:
    s = _Section(raw, "smtp")
    transport = s.choice("transport", ("smtp", "file"), "smtp" if "host" in raw else "file")
    security = s.choice("security", ("tls", "starttls", "none"), "starttls")
    host = s.get("host", str, "127.0.0.1")
    if transport == "smtp" and security == "none" and not is_loopback(host):
        raise ConfigError(f"'smtp.security' = \"none\" is refused for host {host}: plaintext is "
                          "only allowed on loopback.", "smtp.security")
    from_address = s.get("from_address", str, "helpdesk@example.test")
    if "@" not in from_address or any(c in from_address for c in "\r\n <>"):
        raise ConfigError("'smtp.from_address' must be a plain address such as "
                          "helpdesk@example.test.", "smtp.from_address")
    cfg = SmtpConfig(
        transport=transport,  # type: ignore[arg-type]
        directory=s.path("directory", base, Path("var/outbox")) or base / "var/outbox",
        host=host,
        port=s.positive("port", int, {"tls": 465, "starttls": 587, "none": 25}[security]),
        security=security,  # type: ignore[arg-type]
        username=s.get("username", str, ""),
        password=s.secret("password"),
        from_address=from_address,
        from_name=s.get("from_name", str, "Helpdesk"),
        timeout=s.positive("timeout", float, 30.0),
        ca_file=s.path("ca_file", base, None),
        max_attempts=s.positive("max_attempts", int, 8),
    )
    s.finish()
    return cfg


def _parse_calendar(raw: Mapping[str, Any]) -> CalendarConfig:
    s = _Section(raw, "calendar")
    d = CalendarConfig()
    tz = s.get("timezone", str, d.timezone)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"'calendar.timezone' names an unknown zone \"{tz}\".",
                          "calendar.timezone") from None
    hours = []
    for i, day in enumerate(WEEKDAYS):
        if day in raw:
            hours.append(_parse_intervals(s.get(day, list, []), s.key(day)))
        else:
            s.used.add(day)
            hours.append(d.hours[i])
    closed = tuple(_parse_date(v, "calendar.closed_days")
                   for v in s.get("closed_days", list, []))
    part_days: list[PartDay] = []
    pd_raw = s.get("part_days", dict, {"12-24": "15:00"})
    for key, value in pd_raw.items():
        k = f"calendar.part_days.{key}"
        if not re.match(r"^(\d{4}-)?\d{2}-\d{2}$", key):
            raise ConfigError(f"'{k}' must be named MM-DD or YYYY-MM-DD.", k)
        if not isinstance(value, str):
            raise ConfigError(f"'{k}' must be a closing time as HH:MM.", k)
        part_days.append(PartDay(key, _parse_time(value, k)))
    cfg = CalendarConfig(
        timezone=tz,
        hours=tuple(hours),
        holiday_country=s.get("holiday_country", str, d.holiday_country),
        holidays_exclude=s.strings("holidays_exclude", d.holidays_exclude),
        holidays_include=s.strings("holidays_include", d.holidays_include),
        closed_days=closed,
        part_days=tuple(part_days),
    )
    if not any(cfg.hours):
        raise ConfigError("'calendar' has no office hours on any weekday.", "calendar.monday")
    s.finish()
    return cfg


def _parse_sla(raw: Mapping[str, Any], customers_raw: Any) -> SlaConfig:
    s = _Section(raw, "sla")
    d = SlaConfig()
    targets = dict(d.targets)
    tr = s.get("targets", dict, {})
    for prio, value in tr.items():
        key = f"sla.targets.{prio}"
        if prio not in ("high", "medium", "low"):
            raise ConfigError(f"'{key}' is not a priority; use high, medium or low.", key)
        t = _Section(value, key)
        resp = t.positive("response_hours", float, targets[prio].response_hours)
        res_h = t.get("resolution_hours", float, None)
        res_d = t.get("resolution_working_days", float, None)
        if res_h is not None and res_d is not None:
            raise ConfigError(f"'{key}' sets both resolution_hours and resolution_working_days; "
                              "choose one.", key)
        if res_h is None and res_d is None:
            res_h, res_d = targets[prio].resolution_hours, targets[prio].resolution_working_days
        for name, v in (("resolution_hours", res_h), ("resolution_working_days", res_d)):
            if v is not None and v <= 0:
                raise ConfigError(f"'{key}.{name}' must be greater than zero.", f"{key}.{name}")
        t.finish()
        targets[prio] = Target(resp, res_h, res_d)
    at_risk = s.get("at_risk_fraction", float, d.at_risk_fraction)
    if not 0.0 < at_risk < 1.0:
        raise ConfigError("'sla.at_risk_fraction' must lie between 0 and 1.",
                          "sla.at_risk_fraction")
    if isinstance(customers_raw, Mapping):
        customers_raw = [customers_raw]
    if not isinstance(customers_raw, list):
        raise ConfigError("'customer' must be an array of tables ([[customer]]).", "customer")
    customers = []
    for i, item in enumerate(customers_raw):
        c = _Section(item, f"customer[{i}]")
        match = c.get("match", str, "").strip().lower()
        if not match:
            raise ConfigError(f"'customer[{i}].match' is required: an address or a domain.",
                              f"customer[{i}].match")
        customers.append(CustomerConfig(
            match=match,
            sla=c.choice("sla", ("guaranteed", "aim", "none"), "guaranteed"),  # type: ignore[arg-type]
            name=c.get("name", str, ""),
        ))
        c.finish()
    cfg = SlaConfig(
        targets=targets,
        response_target_percent=s.get("response_target_percent", float, 100.0),
        resolution_target_percent=s.get("resolution_target_percent", float, 85.0),
        at_risk_fraction=at_risk,
        customers=tuple(customers),
        default_sla=s.choice("default_sla", ("guaranteed", "aim", "none"), "none"),  # type: ignore[arg-type]
        workload=s.choice("workload", ("low", "high", "auto"), "auto"),  # type: ignore[arg-type]
        change_capacity_hours=s.positive("change_capacity_hours", float, 40.0),
    )
    s.finish()
    return cfg
