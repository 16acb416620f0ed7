"""The ingest hot path's SQL, written per dialect and run on the driver directly.

Every report costs a row insert and a device update; through the ORM or Core's parameter
processing that was four times slower than the database work itself, so these few
statements go straight to the driver (SQLite's `?` or psycopg's `%s`). Times are stored
exactly as the UTCDateTime column stores them, so the ORM reads them back unchanged.

Each statement does the work of the whole batch at once, and on SQLite returns at most one
row (results gathered with json_group_array): sqlite3 lets go of the GIL for each step, and
ingest's MQTT thread reads on while the database works (`server.ingest_writer`). A row per
step would hand the GIL over once per report.
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


def _one_json(conn: Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    """The list a statement gathered into one JSON array (SQLite's json_group_array)."""
    rows = _query(conn, sql, params)
    return json.loads(rows[0][0]) if rows and rows[0][0] else []


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
        where, params = self._ids("id", ids)
        if self.pg:
            lock = " ORDER BY id FOR UPDATE"
            sql = f"SELECT id, state, last_report_seq FROM devices WHERE {where}{lock}"
            return {r[0]: (r[1], r[2]) for r in _query(conn, sql, params)}
        sql = (
            "SELECT json_group_array(json_array(id, state, last_report_seq))"
            f" FROM devices WHERE {where}"
        )
        return {r[0]: (r[1], r[2]) for r in _one_json(conn, sql, params)}

    def insert_reports(
        self, conn: Connection, rows: Sequence[tuple[int, int, Any, Any, str]]
    ) -> set[tuple[int, int]]:
        """Insert (device_id, seq, measured_at, received_at, payload) rows, skipping stored
        ones; returns the keys actually inserted."""
        if self.pg:
            return self._insert_reports_pg(conn, rows)
        inserted: set[tuple[int, int]] = set()
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            for start in range(0, len(rows), _CHUNK):
                chunk = rows[start : start + _CHUNK]
                sql = (
                    "INSERT INTO health_reports (device_id, seq, measured_at, received_at, payload)"
                    f" VALUES {','.join(['(?,?,?,?,?)'] * len(chunk))}"
                    " ON CONFLICT (device_id, seq) DO NOTHING"
                )
                flat = tuple(v for row in chunk for v in row)
                # Usually every report is new: then one step, no row back. Otherwise (a
                # redelivery) undo it and insert again, this time listing what was new.
                cursor.execute("SAVEPOINT ingest_insert")
                cursor.execute(sql, flat)
                if cursor.rowcount == len(chunk):
                    inserted.update((r[0], r[1]) for r in chunk)
                else:
                    cursor.execute("ROLLBACK TO ingest_insert")
                    cursor.execute(sql + " RETURNING device_id, seq", flat)
                    inserted.update((r[0], r[1]) for r in cursor.fetchall())
                cursor.execute("RELEASE ingest_insert")
        finally:
            cursor.close()
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

    def reports(self, conn: Connection, keys: dict[int, int]) -> dict[int, dict[str, Any]]:
        """The stored report of each device in `keys` ({device id: seq}) that is still kept."""
        if not keys:
            return {}
        if self.pg:
            sql = (
                "SELECT h.device_id, h.payload"
                " FROM unnest(%s::int[], %s::bigint[]) AS k(device_id, seq)"
                " JOIN health_reports h ON h.device_id = k.device_id AND h.seq = k.seq"
            )
            rows = _query(conn, sql, (list(keys), list(keys.values())))
            return {d: json.loads(v) if isinstance(v, str) else v for d, v in rows}
        # A join, not `(device_id, seq) IN (VALUES ...)`: SQLite scans the table for that.
        sql = (
            "SELECT json_group_array(json_array(h.device_id, json(h.payload)))"
            f" FROM (VALUES {','.join(['(?,?)'] * len(keys))}) AS k"
            " JOIN health_reports h ON h.device_id = k.column1 AND h.seq = k.column2"
        )
        params = tuple(v for item in keys.items() for v in item)
        return dict(_one_json(conn, sql, params))

    def flagged_devices(self, conn: Connection, ids: Sequence[int]) -> set[int]:
        """Which of these devices have an unresolved flag."""
        if not ids:
            return set()
        where, params = self._ids("device_id", ids)
        if self.pg:
            sql = f"SELECT DISTINCT device_id FROM flags WHERE status != 'resolved' AND {where}"
            return {r[0] for r in _query(conn, sql, params)}
        sql = (
            "SELECT json_group_array(DISTINCT device_id)"
            f" FROM flags WHERE status != 'resolved' AND {where}"
        )
        return set(_one_json(conn, sql, params))

    def update_devices(
        self,
        conn: Connection,
        fresh: Iterable[tuple[Any, int, int]],
        seen_only: Iterable[tuple[Any, int]],
    ) -> None:
        """Refresh devices: (seen, seq, id) with a newer latest report; (seen, id) without.

        The device's latest snapshot is its report (device, last_report_seq), not a copy.

        The last-seen time only ever moves forward, whatever order batches commit in.
        """
        if self.pg:
            self._update_devices_pg(conn, list(fresh), list(seen_only))
            return
        # One statement over a VALUES list (seen, seq, id); a NULL seq for a device with no
        # newer report, so only its last-seen time moves.
        rows: list[tuple[Any, int | None, int]] = list(fresh)
        rows += [(s, None, i) for s, i in seen_only]
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            _query(
                conn,
                "UPDATE devices SET last_seen_at = CASE WHEN last_seen_at IS NULL"
                " OR last_seen_at < u.column1 THEN u.column1 ELSE last_seen_at END,"
                " last_report_seq = coalesce(u.column2, last_report_seq)"
                f" FROM (VALUES {','.join(['(?,?,?)'] * len(chunk))}) AS u"
                " WHERE devices.id = u.column3",
                tuple(v for row in chunk for v in row),
            )

    def _update_devices_pg(
        self,
        conn: Connection,
        fresh: list[tuple[Any, int, int]],
        seen_only: list[tuple[Any, int]],
    ) -> None:
        # One statement over arrays per kind of update, rather than a statement per device.
        seen = (
            "last_seen_at = CASE WHEN d.last_seen_at IS NULL OR d.last_seen_at < u.seen"
            " THEN u.seen ELSE d.last_seen_at END"
        )
        if fresh:
            seens, seqs, ids = (list(c) for c in zip(*fresh, strict=True))
            _query(
                conn,
                f"UPDATE devices d SET {seen}, last_report_seq = u.seq"
                " FROM unnest(%b::text[]::timestamptz[], %b::bigint[], %b::int[])"
                " AS u(seen, seq, id) WHERE d.id = u.id",
                (seens, seqs, ids),
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
