"""Reads what a run with nothing new needs to know, with the database driver alone.

Importing SQLAlchemy and mapping the models costs a cron run about a quarter of a second, most
of a run that finds nothing. This module answers three questions in one short read-only
connection, through ``sqlite3`` or ``psycopg`` directly: the schema revision, the mailbox
cursors, and whether the outbox holds mail that a run would send or must look at; with
``alerts`` also the staff-alert watch the last alert pass left (``ALERT_WATCH_KEY`` in the
settings) and the current ``FACTS`` counts it is compared with. Any URL it does not fully
understand, or any error, gives ``None``: the caller then takes the full path.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

BUSY_OUTBOX = ("pending", "claimed", "sending")
"""Outbox states a run acts on: due or retrying mail, and mail an interrupted run left."""


@dataclass(frozen=True)
class CursorRow:
    uidvalidity: int
    last_uid: int
    marked_uid: int


ALERT_WATCH_KEY = "alerts.watch"
"""The settings row in which the alert pass leaves when the next alert can fall due."""

FACTS = ("SELECT (SELECT count(*) FROM tickets), (SELECT max(id) FROM tickets), "
         "(SELECT count(*) FROM ticket_events), (SELECT max(id) FROM ticket_events), "
         "(SELECT count(*) FROM corrections), (SELECT max(id) FROM corrections)")
"""Counts and highest ids of the rows every clock fact lives in. A new ticket, event or
correction changes them, also one committed late with a lower id (the count moves)."""


def facts_fingerprint(row: Any) -> tuple[int, ...]:
    """The ``FACTS`` row as plain integers (an empty table's max is 0)."""
    return tuple(int(value or 0) for value in row)


@dataclass(frozen=True)
class StoreState:
    """The schema revision, every cursor by (mailbox, folder), the busy outbox rows and, when
    asked for, the alert watch (its stored value, None when absent) and the current facts."""

    revision: str | None
    cursors: dict[tuple[str, str], CursorRow]
    busy_outbox: int
    alert_watch: dict[str, Any] | None = None
    facts: tuple[int, ...] | None = None


_QUERIES = (
    "SELECT version_num FROM alembic_version",
    "SELECT mailbox, folder, uidvalidity, last_uid, marked_uid FROM cursors",
    "SELECT count(*) FROM outbox WHERE status IN ("
    + ", ".join(f"'{status}'" for status in BUSY_OUTBOX) + ")",
    f"SELECT value FROM settings WHERE key = '{ALERT_WATCH_KEY}'",
    FACTS,
)


def read_state(url: str, *, alerts: bool = False) -> StoreState | None:
    """The state behind ``url``, or None when this module cannot tell (see the docstring)."""
    try:
        connection = _connect(url)
    except Exception:
        return None
    if connection is None:
        return None
    try:
        cur = connection.cursor()
        cur.execute(_QUERIES[0])
        row = cur.fetchone()
        revision = None if row is None else str(row[0])
        cur.execute(_QUERIES[1])
        cursors = {(str(m), str(f)): CursorRow(int(v), int(last), int(marked))
                   for m, f, v, last, marked in cur.fetchall()}
        cur.execute(_QUERIES[2])
        busy = cur.fetchone()
        state = StoreState(revision, cursors, int(busy[0]) if busy else 0)
        if not alerts:
            return state
        cur.execute(_QUERIES[3])
        row = cur.fetchone()
        watch = None if row is None else row[0]
        if isinstance(watch, str | bytes):  # SQLite keeps JSON as text; psycopg decodes it
            watch = json.loads(watch)
        cur.execute(_QUERIES[4])
        facts = facts_fingerprint(cur.fetchone())
        return replace(state, alert_watch=watch if isinstance(watch, dict) else None,
                       facts=facts)
    except Exception:  # no schema yet, a locked file, a dropped connection: the full path
        return None
    finally:
        with contextlib.suppress(Exception):
            connection.close()


def _connect(url: str) -> Any:
    scheme, _, rest = url.partition("://")
    if scheme == "sqlite":
        return _sqlite(rest)
    if scheme in ("postgresql+psycopg", "postgresql+psycopg3"):
        return _postgresql(url)
    return None


def _sqlite(rest: str) -> Any:
    import sqlite3

    if not rest.startswith("/") or rest in ("/", "/:memory:") or "?" in rest:
        return None
    path = Path(rest[1:])
    if not path.is_file():
        return None
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    connection.execute("PRAGMA busy_timeout=5000")
    return connection


def _postgresql(url: str) -> Any:
    parts = urlsplit(url)
    params: dict[str, Any] = dict(parse_qsl(parts.query))
    if parts.hostname:
        params["host"] = unquote(parts.hostname)
    if parts.port:
        params["port"] = parts.port
    if parts.username:
        params["user"] = unquote(parts.username)
    if parts.password:
        params["password"] = unquote(parts.password)
    if parts.path.strip("/"):
        params["dbname"] = unquote(parts.path.strip("/"))
    params.setdefault("connect_timeout", 10)
    import psycopg

    connection = psycopg.connect(**params)
    connection.read_only = True
    return connection
