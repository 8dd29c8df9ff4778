"""A lease row in the database so runs on different hosts sharing one database never overlap."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError

from mailtriage.errors import LockHeldError
from mailtriage.store.database import Database
from mailtriage.store.models import RunLease


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def acquire(db: Database, name: str, holder: str, now: datetime, ttl: timedelta) -> None:
    """Take the lease ``name`` or raise LockHeldError while another holder's lease is valid."""
    with db.engine.begin() as conn:
        taken = conn.execute(
            update(RunLease)
            .where(RunLease.name == name)
            .where((RunLease.expires_at < now) | (RunLease.holder == holder))
            .values(holder=holder, expires_at=now + ttl)
        ).rowcount
    if taken:
        return
    try:
        with db.engine.begin() as conn:
            conn.execute(insert(RunLease).values(name=name, holder=holder, expires_at=now + ttl))
    except IntegrityError:
        raise LockHeldError(
            f"Another mailtriage run (on another host) holds the lease {name!r}; this run stops."
        ) from None


def renew(db: Database, name: str, holder: str, now: datetime, ttl: timedelta) -> None:
    with db.engine.begin() as conn:
        conn.execute(update(RunLease).where(RunLease.name == name, RunLease.holder == holder)
                     .values(expires_at=now + ttl))


def release(db: Database, name: str, holder: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(delete(RunLease).where(RunLease.name == name, RunLease.holder == holder))
