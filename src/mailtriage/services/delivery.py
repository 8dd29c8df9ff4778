"""Delivers the outbox: each row at most once, temporary failures retried with backoff.

A row is claimed by a conditional update (pending → claimed), so two overlapping senders can never
take the same row. Once the SMTP server has accepted the DATA command, right before the message
itself goes out, the row becomes ``sending`` (committed); after the server's answer it is
``sent``. A crash leaves either ``claimed`` (nothing can have been delivered: back to pending,
sent by the next run) or ``sending`` (the server may have it: ``uncertain``, never resent blindly;
staff can requeue it).

Rows are claimed a chunk at a time (one conditional UPDATE … RETURNING for up to
``CLAIM_CHUNK`` rows); each row still becomes ``sending`` on its own, committed, right before its
DATA. The outcome of a row is written in that same transaction, the one that marks the next
row ``sending`` (or on its own after the last row): one commit per row instead of two, and
still never more than one row in ``sending`` at a time. Rows of a chunk that a broken setup
stops before their turn go back to pending at once, their attempt not counted; after a crash
``mark_interrupted`` does the same for them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, CursorResult, Update, select, update
from sqlalchemy.exc import SQLAlchemyError

from mailtriage.errors import (
    DeliverySetupError,
    PermanentDeliveryError,
    StoreError,
    TemporaryDeliveryError,
)
from mailtriage.notify.transport import Transport, UncertainDeliveryError, next_attempt_delay
from mailtriage.store.database import Database
from mailtriage.store.models import OutboxItem

CLAIM_CHUNK = 50
"""Rows claimed in one statement; a crash leaves at most this many ``claimed`` (harmless)."""


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    sent: int = 0
    retry_later: int = 0
    failed: int = 0
    uncertain: int = 0
    setup_error: str = ""

    def add(self, other: DeliveryReport) -> None:
        """Count ``other`` (a later pass) in as well."""
        self.sent += other.sent
        self.retry_later += other.retry_later
        self.failed += other.failed
        self.uncertain += other.uncertain
        self.setup_error = other.setup_error or self.setup_error


def mark_interrupted(db: Database) -> int:
    """After a crash: ``claimed`` rows go back to pending (nothing was handed over), rows left
    in ``sending`` become ``uncertain``. Returns how many became uncertain."""
    with db.session() as s:
        s.execute(update(OutboxItem).where(OutboxItem.status == "claimed")
                  .values(status="pending", attempts=OutboxItem.attempts - 1))
        result = s.execute(
            update(OutboxItem).where(OutboxItem.status == "sending")
            .values(status="uncertain",
                    last_error="interrupted during sending; not resent automatically"))
        return _rowcount(result)


class _Ledger:
    """Writes what became of each row: the outcome of the row just sent is held until the
    next row is marked ``sending`` and goes into the same commit, or is written on its own
    by ``flush``. One connection serves the whole pass (no checkout per row)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._held: tuple[int, dict[str, object]] | None = None
        self._conn: Connection | None = None
        self._one_statement = db.dialect == "postgresql"
        """PostgreSQL: the outcome rides along as a CTE, on an autocommit connection."""

    def hold(self, row_id: int, values: dict[str, object]) -> None:
        self.flush()
        self._held = (row_id, values)

    def sending(self, row_id: int) -> Callable[[], None]:
        """The transport's ``before_data`` for ``row_id``."""
        def mark() -> None:
            self._commit(update(OutboxItem).where(OutboxItem.id == row_id)
                         .values(status="sending"))
        return mark

    def flush(self) -> None:
        if self._held is not None:
            self._commit()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _commit(self, *then: Update) -> None:
        """The held outcome and ``then`` in one transaction. On PostgreSQL that is one
        autocommitted statement (the outcome as a data-modifying CTE): one round trip
        instead of BEGIN, two UPDATEs and COMMIT."""
        statements = list(then)
        if self._held is not None:
            row_id, values = self._held
            self._held = None
            statements.insert(0, update(OutboxItem).where(OutboxItem.id == row_id)
                              .values(**values))
        try:
            if self._conn is None:
                self._conn = self.db.engine.connect()
                if self._one_statement:
                    self._conn = self._conn.execution_options(isolation_level="AUTOCOMMIT")
            if self._one_statement and len(statements) == 2:
                statements = [statements[1].add_cte(statements[0].cte("outcome"))]
            for statement in statements:
                self._conn.execute(statement)
            self._conn.commit()
        except SQLAlchemyError as exc:
            self.close()  # rolls back what this transaction did
            raise StoreError(f"Database error: {exc.__class__.__name__}: {exc}") from exc


def _claim(db: Database, ids: Sequence[int]) -> list[tuple[int, bytes, str, list[str], int]]:
    """Claim those of ``ids`` still pending (pending → claimed, one attempt more), in one
    statement; what was claimed, in id order. A row another sender took is not returned."""
    with db.session() as s:
        rows = s.execute(
            update(OutboxItem).where(OutboxItem.id.in_(list(ids)),
                                     OutboxItem.status == "pending")
            .values(status="claimed", attempts=OutboxItem.attempts + 1)
            .returning(OutboxItem.id, OutboxItem.body, OutboxItem.sender,
                       OutboxItem.recipients, OutboxItem.attempts)).all()
    return sorted((int(r[0]), bytes(r[1]), str(r[2]), [str(x) for x in r[3]], int(r[4]))
                  for r in rows)


def _unclaim(db: Database, ids: Sequence[int]) -> None:
    """Claimed rows whose turn did not come: pending again, the attempt not counted."""
    if not ids:
        return
    with db.session() as s:
        s.execute(update(OutboxItem).where(OutboxItem.id.in_(list(ids)),
                                           OutboxItem.status == "claimed")
                  .values(status="pending", attempts=OutboxItem.attempts - 1))


def deliver_due(db: Database, transport: Transport, now: Callable[[], datetime],
                *, max_attempts: int, limit: int = 500) -> DeliveryReport:
    """Send every pending row whose time has come."""
    report = DeliveryReport()
    with db.session(read_only=True) as s:
        due = s.scalars(
            select(OutboxItem.id).where(OutboxItem.status == "pending",
                                        OutboxItem.next_attempt_at <= now())
            .order_by(OutboxItem.id).limit(limit)
        ).all()
    ledger = _Ledger(db)
    try:
        for start in range(0, len(due), CLAIM_CHUNK):
            claimed = _claim(db, due[start:start + CLAIM_CHUNK])
            for index, (row_id, body, sender, recipients, attempts) in enumerate(claimed):
                if not _send_one(ledger, transport, now, report, row_id, body, sender,
                                 recipients, attempts, max_attempts):
                    ledger.flush()
                    _unclaim(db, [c[0] for c in claimed[index + 1:]])
                    return report
    finally:
        try:
            ledger.flush()
        finally:
            ledger.close()
    return report


def _send_one(ledger: _Ledger, transport: Transport, now: Callable[[], datetime],
              report: DeliveryReport, row_id: int, body: bytes, sender: str,
              recipients: list[str], attempts: int, max_attempts: int) -> bool:
    """Send one claimed row and hold its result for the ledger; False when a broken setup
    stops the pass."""
    status, error, next_at = "sent", "", None
    stop = False
    try:
        transport.send(body, sender, recipients, before_data=ledger.sending(row_id))
    except DeliverySetupError as exc:
        # Our side is broken (TLS, login): no row is at fault; try again next run.
        status, error, stop = "pending", str(exc), True
        next_at = now() + next_attempt_delay(1)
    except UncertainDeliveryError as exc:
        status, error = "uncertain", str(exc)
    except TemporaryDeliveryError as exc:
        if attempts >= max_attempts:
            status, error = "failed", f"gave up after {attempts} attempts: {exc}"
        else:
            status, error = "pending", str(exc)
            next_at = now() + next_attempt_delay(attempts)
    except PermanentDeliveryError as exc:
        status, error = "failed", str(exc)
    values: dict[str, object] = {"status": status, "last_error": error}
    if stop:
        # Not this message's attempt: a broken setup must not use up its retries.
        values["attempts"] = OutboxItem.attempts - 1
    if status == "sent":
        values["sent_at"] = now()
    if next_at is not None:
        values["next_attempt_at"] = next_at
    ledger.hold(row_id, values)
    if status == "sent":
        report.sent += 1
    elif status == "pending":
        report.retry_later += 1
    elif status == "uncertain":
        report.uncertain += 1
    else:
        report.failed += 1
    if stop:
        report.setup_error = error
    return not stop


def requeue(db: Database, row_id: int, now: datetime) -> bool:
    """Staff decision: send an ``uncertain`` or ``failed`` row again."""
    with db.session() as s:
        return bool(_rowcount(s.execute(
            update(OutboxItem)
            .where(OutboxItem.id == row_id, OutboxItem.status.in_(("uncertain", "failed")))
            .values(status="pending", next_attempt_at=now, last_error="requeued by staff"))))


def _rowcount(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


