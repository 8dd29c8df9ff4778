"""Numbers new rows on SQLite before a flush, so a batch is written in one statement per table.

To match generated keys to objects, SQLAlchemy's ORM inserts rows one at a time on SQLite (it
has no way there to order ``RETURNING`` rows by parameter); PostgreSQL gets one multi-row
statement already. SQLite without ``AUTOINCREMENT`` gives a new row the largest rowid plus one,
so handing out the same numbers before the flush changes nothing in the stored data and lets
the ORM use one ``executemany`` per table. Another writer cannot slip in between: SQLite admits
one writer at a time, and a clash would fail the flush (the intake then stores mail by mail).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, func, inspect, select
from sqlalchemy.orm import Session, UOWTransaction

MIN_BATCH = 2
"""Fewer new rows of a table than this are left to SQLite (one query would cost more)."""


def number_new_rows(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    """``before_flush`` hook: give pending rows of integer-keyed tables their ids, in the
    order they were added."""
    pending: dict[Any, list[Any]] = {}
    for obj in session.new:
        state = inspect(obj)
        mapper = state.mapper
        keys = mapper.primary_key
        if len(keys) != 1 or not isinstance(keys[0].type, Integer):
            continue
        pending.setdefault(mapper, []).append(state)
    for mapper, states in pending.items():
        if len(states) < MIN_BATCH:
            continue
        column = mapper.primary_key[0]
        attr = mapper.get_property_by_column(column).key
        taken = [getattr(s.obj(), attr) for s in states]
        if all(v is not None for v in taken):
            continue
        current = session.execute(select(func.max(column))).scalar()
        next_id = max([int(current or 0), *(v for v in taken if v is not None)]) + 1
        for state in sorted(states, key=lambda s: s.insert_order):
            obj = state.obj()
            if getattr(obj, attr) is None:
                setattr(obj, attr, next_id)
                next_id += 1
