"""Opens the database, runs the Alembic migrations and hands out short-lived sessions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from mailtriage.errors import StoreError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The sqlite3 module opens transactions only before DML and never before SAVEPOINT, so a
    # savepoint taken first became the outermost transaction and its RELEASE committed on the
    # spot. SQLAlchemy's recipe: the driver in autocommit, BEGIN emitted by ``_sqlite_begin``.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before the run flags the mail on the server or sends the reply
    # it recorded. NORMAL would let a power loss roll back a commit whose mail was already
    # flagged, or a ``sending`` mark whose reply went out (sent twice after the restart).
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


READ_ONLY = "mailtriage_read_only"
"""Execution option of the connections behind ``Database.session(read_only=True)``."""


def _sqlite_begin(conn: Any) -> None:
    # In WAL mode a transaction that read first and writes later fails at once ("database is
    # locked", no busy wait) when another connection committed in between: a staff
    # correction in the web UI while a run stores a batch, or the other way round. BEGIN
    # IMMEDIATE takes the write lock up front, so writers queue behind each other (within
    # the busy timeout) instead. Sessions that only read begin deferred and never wait.
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY)
                         else "BEGIN IMMEDIATE")


def _refuse_writes(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise StoreError("A read-only database session was asked to write (a programming "
                         "error: open it without read_only).")


class Database:
    """An engine plus a session factory for one database URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                try:
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(f"The directory of the database {path} cannot be "
                                     f"created: {exc}") from None
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StoreError(f"The database URL {url!r} cannot be used: {exc}") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.engine.execution_options(**{READ_ONLY: True}),
                                           expire_on_commit=False)
        event.listen(self._read_sessions, "before_flush", _refuse_writes)
        if self.engine.dialect.name in ("sqlite", "postgresql"):
            from mailtriage.store.rowids import number_new_rows

            event.listen(self.sessions, "before_flush", number_new_rows)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self, *, read_only: bool = False) -> Iterator[Session]:
        """One short transaction: committed on success, rolled back on any error.

        On SQLite a transaction takes the write lock when it begins (see ``_sqlite_begin``);
        ``read_only`` sessions do not, and must not write.
        """
        session = (self._read_sessions if read_only else self.sessions)()
        try:
            yield session
            session.commit()
        except SQLAlchemyError as exc:
            session.rollback()
            raise StoreError(f"Database error: {exc.__class__.__name__}: {exc}") from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def migrate(self) -> str:
        """Create or upgrade the schema to the newest revision; safe to repeat. Returns it."""
        from alembic import command
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
            return self.current_revision() or ""
        except SQLAlchemyError as exc:
            raise StoreError(f"The database could not be migrated: {exc}") from exc

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def is_initialised(self) -> bool:
        try:
            return inspect(self.engine).has_table("tickets")
        except SQLAlchemyError as exc:
            raise StoreError(f"The database at {self.url!r} cannot be reached: {exc}") from None

    def dispose(self) -> None:
        self.engine.dispose()
