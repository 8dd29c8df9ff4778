"""Numbers new rows before a flush, so a batch is written in one plain statement per table.

Without ids, SQLAlchemy's ORM must learn the generated keys from the database: on SQLite it
then inserts rows one at a time (it cannot order ``RETURNING`` rows by parameter there), on
PostgreSQL it sends one huge multi-row ``INSERT … RETURNING`` whose placeholders the driver
rewrites on every batch (too long for its statement cache). With the ids known, both get one
``executemany`` of a short statement per table.

SQLite without ``AUTOINCREMENT`` gives a new row the largest rowid plus one, so handing out the
same numbers changes nothing in the stored data; another writer cannot slip in between (SQLite
admits one writer at a time, and a clash would fail the flush: the intake then stores mail by
mail). PostgreSQL hands out the numbers from the column's own sequence, as the default would.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, func, inspect, select, text
from sqlalchemy.orm import Session, UOWTransaction

MIN_BATCH = 2
"""Fewer new rows of a table than this are left to the database (one query would cost more)."""


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
        taken = [v for v in (getattr(s.obj(), attr) for s in states) if v is not None]
        ordered = [s for s in sorted(states, key=lambda s: s.insert_order)
                   if getattr(s.obj(), attr) is None]
        if not ordered:
            continue
        for state, new_id in zip(ordered, _new_ids(session, column, taken, len(ordered)),
                                 strict=True):
            setattr(state.obj(), attr, new_id)


def _new_ids(session: Session, column: Any, taken: list[int], count: int) -> list[int]:
    """``count`` fresh ids for ``column``, above the ones already ``taken`` in this flush."""
    if session.get_bind().dialect.name == "postgresql":
        return [int(v) for v in session.execute(
            text("SELECT nextval(pg_get_serial_sequence(:table, :column)) "
                 "FROM generate_series(1, :count)"),
            {"table": column.table.name, "column": column.name, "count": count}).scalars()]
    current = session.execute(select(func.max(column))).scalar()
    first = max([int(current or 0), *taken]) + 1
    return list(range(first, first + count))
