"""Delivers the outbox: each row at most once, temporary failures retried with backoff.

A row is claimed by a conditional update (pending → claimed), so two overlapping senders can never
take the same row. Once the SMTP server has accepted the DATA command, right before the message
itself goes out, the row becomes ``sending`` (committed); after the server's answer it is
``sent``. A crash leaves either ``claimed`` (nothing can have been delivered: back to pending,
sent by the next run) or ``sending`` (the server may have it: ``uncertain``, never resent blindly;
staff can requeue it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CursorResult, select, update

from mailtriage.errors import (
    DeliverySetupError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from mailtriage.notify.transport import Transport, UncertainDeliveryError, next_attempt_delay
from mailtriage.store.database import Database
from mailtriage.store.models import OutboxItem


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    sent: int = 0
    retry_later: int = 0
    failed: int = 0
    uncertain: int = 0
    setup_error: str = ""


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


def _mark_sending(db: Database, row_id: int) -> Callable[[], None]:
    def mark() -> None:
        with db.session() as s:
            s.execute(update(OutboxItem).where(OutboxItem.id == row_id)
                      .values(status="sending"))

    return mark


def deliver_due(db: Database, transport: Transport, now: Callable[[], datetime],
                *, max_attempts: int, limit: int = 500) -> DeliveryReport:
    """Send every pending row whose time has come."""
    report = DeliveryReport()
    with db.session() as s:
        due = s.scalars(
            select(OutboxItem.id).where(OutboxItem.status == "pending",
                                        OutboxItem.next_attempt_at <= now())
            .order_by(OutboxItem.id).limit(limit)
        ).all()
    for row_id in due:
        with db.session() as s:
            claimed = _rowcount(s.execute(
                update(OutboxItem).where(OutboxItem.id == row_id, OutboxItem.status == "pending")
                .values(status="claimed", attempts=OutboxItem.attempts + 1)))
            item = s.get(OutboxItem, row_id) if claimed else None
            if item is None:
                continue
            body, sender, recipients, attempts = (item.body, item.sender, list(item.recipients),
                                                  item.attempts)
        status, error, next_at = "sent", "", None
        stop = False
        try:
            transport.send(body, sender, recipients, before_data=_mark_sending(db, row_id))
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
        with db.session() as s:
            values: dict[str, object] = {"status": status, "last_error": error}
            if stop:
                # Not this message's attempt: a broken setup must not use up its retries.
                values["attempts"] = OutboxItem.attempts - 1
            if status == "sent":
                values["sent_at"] = now()
            if next_at is not None:
                values["next_attempt_at"] = next_at
            s.execute(update(OutboxItem).where(OutboxItem.id == row_id).values(**values))
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
            break
    return report


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


