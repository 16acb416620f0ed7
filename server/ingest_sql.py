"""The ingest hot path's SQL, written per dialect and run on the driver directly.

Every report costs a row insert and a device update; through the ORM or Core's parameter
processing that was four times slower than the database work itself, so these few
statements go straight to the driver (SQLite's `?` or psycopg's `%s`). Times are stored
exactly as the UTCDateTime column stores them, so the ORM reads them back unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

_CHUNK = 1000  # rows per multi-row INSERT: 5,000 parameters, under both drivers' limits


def _query(conn: Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    """Run one statement on the driver's own cursor (inside the session's transaction)."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description else []
    finally:
        cursor.close()


def _execute_many(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run one statement for many parameter rows on the driver's own cursor."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


class HotSQL:
    """The ingest statements for one dialect (`sqlite` or `postgresql`)."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"
        self.p = "%s" if self.pg else "?"

    def time(self, moment: datetime) -> Any:
        """A UTC time as text the statements below take (SQLite: SQLAlchemy's own format)."""
        # isoformat is SQLAlchemy's SQLite format plus the offset, and several times cheaper
        # than strftime or the driver's datetime adaptation.
        if moment.tzinfo is not UTC:
            moment = moment.astimezone(UTC)
        text = moment.isoformat(" ", "microseconds")[:26]
        if self.pg:
            return text + "+00"  # cast with ::timestamptz in the statements
        return text

    def _in(self, n: int) -> str:
        return ",".join([self.p] * n)

    def _ids(self, column: str, ids: Sequence[int]) -> tuple[str, tuple[Any, ...]]:
        """`column IN (...)` and its parameters; one array parameter on PostgreSQL."""
        if self.pg:
            return f"{column} = ANY(%s::int[])", (list(ids),)
        return f"{column} IN ({self._in(len(ids))})", tuple(ids)

    def lock_devices(
        self, conn: Connection, ids: Sequence[int]
    ) -> dict[int, tuple[str, int | None]]:
        """(state, last report seq) of the known devices among `ids`, locked on PostgreSQL."""
        # Locked in id order, so two ingest processes never wait on each other in a cycle;
        # SQLite's BEGIN IMMEDIATE already serialises writers.
        lock = " ORDER BY id FOR UPDATE" if self.pg else ""
        where, params = self._ids("id", ids)
        sql = f"SELECT id, state, last_report_seq FROM devices WHERE {where}{lock}"
        return {r[0]: (r[1], r[2]) for r in _query(conn, sql, params)}

    def insert_reports(
        self, conn: Connection, rows: Sequence[tuple[int, int, Any, Any, str]]
    ) -> set[tuple[int, int]]:
        """Insert (device_id, seq, measured_at, received_at, payload) rows, skipping stored
        ones; returns the keys actually inserted."""
        if self.pg:
            return self._insert_reports_pg(conn, rows)
        payload = f"{self.p}::json" if self.pg else self.p
        ts = f"{self.p}::timestamptz" if self.pg else self.p
        one = f"({self.p},{self.p},{ts},{ts},{payload})"
        inserted: set[tuple[int, int]] = set()
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            sql = (
                "INSERT INTO health_reports (device_id, seq, measured_at, received_at, payload)"
                f" VALUES {','.join([one] * len(chunk))}"
                " ON CONFLICT (device_id, seq) DO NOTHING RETURNING device_id, seq"
            )
            flat = tuple(v for row in chunk for v in row)
            inserted.update((r[0], r[1]) for r in _query(conn, sql, flat))
        return inserted

    def _insert_reports_pg(
        self, conn: Connection, rows: Sequence[tuple[int, int, Any, Any, str]]
    ) -> set[tuple[int, int]]:
        # One array per column: a short statement psycopg parses once and the server
        # prepares once, where a VALUES list of thousands of parameters is parsed anew
        # (in Python) for every batch. Binary arrays (%b): the text format quotes and
        # escapes every JSON string with a regular expression.
        columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[]] * 5
        sql = (
            "INSERT INTO health_reports (device_id, seq, measured_at, received_at, payload)"
            " SELECT * FROM unnest(%b::int[], %b::bigint[], %b::text[]::timestamptz[],"
            " %b::text[]::timestamptz[], %b::text[]::json[])"
            " ON CONFLICT (device_id, seq) DO NOTHING RETURNING device_id, seq"
        )
        return {(r[0], r[1]) for r in _query(conn, sql, columns)}

    def latest_reports(self, conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The stored latest report of each of these devices (that has one)."""
        if not ids:
            return {}
        where, params = self._ids("id", ids)
        out = {}
        sql = f"SELECT id, latest_report FROM devices WHERE {where}"
        for device_id, value in _query(conn, sql, params):
            if value is not None:
                out[device_id] = json.loads(value) if isinstance(value, str) else value
        return out

    def flagged_devices(self, conn: Connection, ids: Sequence[int]) -> set[int]:
        """Which of these devices have an unresolved flag."""
        if not ids:
            return set()
        where, params = self._ids("device_id", ids)
        sql = f"SELECT DISTINCT device_id FROM flags WHERE status != 'resolved' AND {where}"
        return {r[0] for r in _query(conn, sql, params)}

    def update_devices(
        self,
        conn: Connection,
        fresh: Iterable[tuple[Any, int, str, int]],
        seen_only: Iterable[tuple[Any, int]],
    ) -> None:
        """Refresh devices: (seen, seq, report, id) with a newer snapshot; (seen, id) without.

        The last-seen time only ever moves forward, whatever order batches commit in.
        """
        if self.pg:
            self._update_devices_pg(conn, list(fresh), list(seen_only))
            return
        p = self.p
        ts = f"{p}::timestamptz" if self.pg else p
        seen = (
            f"last_seen_at = CASE WHEN last_seen_at IS NULL OR last_seen_at < {ts}"
            f" THEN {ts} ELSE last_seen_at END"
        )
        report = f"{p}::json" if self.pg else p
        fresh_rows = [(s, s, q, r, i) for s, q, r, i in fresh]
        if fresh_rows:
            _execute_many(
                conn,
                f"UPDATE devices SET {seen}, last_report_seq = {p}, latest_report = {report}"
                f" WHERE id = {p}",
                fresh_rows,
            )
        seen_rows = [(s, s, i) for s, i in seen_only]
        if seen_rows:
            _execute_many(conn, f"UPDATE devices SET {seen} WHERE id = {p}", seen_rows)

    def _update_devices_pg(
        self,
        conn: Connection,
        fresh: list[tuple[Any, int, str, int]],
        seen_only: list[tuple[Any, int]],
    ) -> None:
        # One statement over arrays per kind of update, rather than a statement per device.
        seen = (
            "last_seen_at = CASE WHEN d.last_seen_at IS NULL OR d.last_seen_at < u.seen"
            " THEN u.seen ELSE d.last_seen_at END"
        )
        if fresh:
            seens, seqs, reports, ids = (list(c) for c in zip(*fresh, strict=True))
            _query(
                conn,
                f"UPDATE devices d SET {seen}, last_report_seq = u.seq, latest_report = u.report"
                " FROM unnest(%b::text[]::timestamptz[], %b::bigint[], %b::text[]::json[],"
                " %b::int[])"
                " AS u(seen, seq, report, id) WHERE d.id = u.id",
                (seens, seqs, reports, ids),
            )
        if seen_only:
            seens, ids = (list(c) for c in zip(*seen_only, strict=True))
            _query(
                conn,
                f"UPDATE devices d SET {seen}"
                " FROM unnest(%b::text[]::timestamptz[], %b::int[]) AS u(seen, id)"
                " WHERE d.id = u.id",
                (seens, ids),
            )
