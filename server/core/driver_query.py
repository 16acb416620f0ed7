"""Core statements run straight on the database driver's cursor, for hot read paths.

`Connection.execute` costs 0.05–0.4 ms of Python a statement (execution context, result
metadata, a Row per row, type processing), more than a dashboard page's small indexed reads
take in the database. A DriverQuery compiles its statement once per dialect and runs it on
the connection's own DBAPI cursor, in the connection's transaction, returning plain tuples.

What stays SQLAlchemy's: the SQL (a Core statement, compiled by the dialect), each result
column's conversion (the column type's own result processor, so a UTC datetime comes back
as the same aware datetime `execute` would give; the driver's value as it is where the
type has none) and the engine's cursor events (echo, logging and statement counters see
these statements too). What is refused (a TypeError at the first run), because it needs
SQLAlchemy's own execution: parameters whose type converts values on the way in, expanding
parameters, and a run without every parameter the statement needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.types import TypeEngine

Row = tuple[Any, ...]
_Processor = Callable[[Any], Any]


@dataclass
class _Plan:
    """The statement compiled for one dialect."""

    sql: str
    names: tuple[str, ...]  # bind names, in order for a positional paramstyle
    positional: bool
    defaults: dict[str, Any]  # the binds' own values (LIMIT's, literals')
    required: frozenset[str]  # the binds the caller must give
    types: tuple[TypeEngine[Any], ...]  # the result columns' types for this dialect
    # (column index, result processor), worked out at the first execution: a processor
    # may depend on the driver's type code for the column (psycopg's numerics do).
    processors: tuple[tuple[int, _Processor], ...] | None = None


class DriverQuery:
    """A Core SELECT run on the driver's cursor; rows as plain tuples."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._plans: dict[str, _Plan] = {}

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[Row]:
        """Every row, in the connection's current transaction."""
        plan = self._plan(conn.dialect)
        if not plan.required <= params.keys():
            raise TypeError(f"missing parameters: {sorted(plan.required - params.keys())}")
        values = {**plan.defaults, **params}
        args: Any = (
            tuple(values[n] for n in plan.names)
            if plan.positional
            else {n: values[n] for n in plan.names}
        )
        cursor = conn.connection.cursor()
        try:
            sql = plan.sql
            # The engine's and connection's cursor listeners (no execution context here).
            for before in conn.dispatch.before_cursor_execute:
                sql, args = before(conn, cursor, sql, args, None, False)
            cursor.execute(sql, args)
            rows = cast(list[Row], cursor.fetchall())  # sqlite3 and psycopg give lists
            if plan.processors is None:
                plan.processors = _processors(plan.types, cursor.description, conn.dialect)
            for after in conn.dispatch.after_cursor_execute:
                after(conn, cursor, sql, args, None, False)
        finally:
            cursor.close()
        if plan.processors:
            rows = [_converted(row, plan.processors) for row in rows]
        return rows

    def first(self, conn: Connection, params: Mapping[str, Any]) -> Row | None:
        """The first row, or None."""
        found = self.rows(conn, params)
        return found[0] if found else None

    def _plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is None:
            plan = self._plans[dialect.name] = _compile(self.statement, dialect)
        return plan


def _compile(statement: ClauseElement, dialect: Dialect) -> _Plan:
    compiled: Any = statement.compile(dialect=dialect)
    if "POSTCOMPILE" in compiled.string:
        raise TypeError("a DriverQuery cannot run expanding (IN list) parameters")
    for name, bind in compiled.binds.items():
        if bind.type.dialect_impl(dialect).bind_processor(dialect) is not None:
            raise TypeError(f"parameter {name!r} needs its type's conversion on the way in")
    columns: Sequence[Any] = getattr(statement, "selected_columns", ())
    return _Plan(
        sql=compiled.string,
        names=tuple(compiled.positiontup if compiled.positional else compiled.binds),
        positional=bool(compiled.positional),
        defaults={n: b.effective_value for n, b in compiled.binds.items() if not b.required},
        required=frozenset(n for n, b in compiled.binds.items() if b.required),
        types=tuple(column.type.dialect_impl(dialect) for column in columns),
    )


def _processors(
    types: tuple[TypeEngine[Any], ...], description: Sequence[Any], dialect: Dialect
) -> tuple[tuple[int, _Processor], ...]:
    found = []
    for index, (type_, column) in enumerate(zip(types, description, strict=False)):
        processor = type_.result_processor(dialect, column[1])
        if processor is not None:
            found.append((index, processor))
    return tuple(found)


def _converted(row: Row, processors: tuple[tuple[int, _Processor], ...]) -> Row:
    values = list(row)
    for index, processor in processors:
        values[index] = processor(values[index])
    return tuple(values)
