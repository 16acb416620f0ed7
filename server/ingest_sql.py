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


class HotSQL:
    """The ingest statements for one dialect (`sqlite` or `postgresql`)."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"
        self.p = "%s" if self.pg else "?"

    def time(self, moment: datetime) -> Any:
        """A UTC time as the driver should receive it (SQLite: SQLAlchemy's text format)."""
        if self.pg:
            return moment
        # str() of a naive datetime is SQLAlchemy's SQLite format, bar zero microseconds
        # (and several times faster than strftime, which ran twice per report).
        text = str(moment.astimezone(UTC).replace(tzinfo=None))
        return text if len(text) > 19 else text + ".000000"

    def _in(self, n: int) -> str:
        return ",".join([self.p] * n)

    def lock_devices(
        self, conn: Connection, ids: Sequence[int]
    ) -> dict[int, tuple[str, int | None]]:
        """(state, last report seq) of the known devices among `ids`, locked on PostgreSQL."""
        # Locked in id order, so two ingest processes never wait on each other in a cycle;
        # SQLite's BEGIN IMMEDIATE already serialises writers.
        lock = " ORDER BY id FOR UPDATE" if self.pg else ""
        where = f"id IN ({self._in(len(ids))})"
        sql = f"SELECT id, state, last_report_seq FROM devices WHERE {where}{lock}"
        return {r[0]: (r[1], r[2]) for r in conn.exec_driver_sql(sql, tuple(ids))}

    def insert_reports(
        self, conn: Connection, rows: Sequence[tuple[int, int, Any, Any, str]]
    ) -> set[tuple[int, int]]:
        """Insert (device_id, seq, measured_at, received_at, payload) rows, skipping stored
        ones; returns the keys actually inserted."""
        payload = f"{self.p}::json" if self.pg else self.p
        one = f"({self.p},{self.p},{self.p},{self.p},{payload})"
        inserted: set[tuple[int, int]] = set()
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            sql = (
                "INSERT INTO health_reports (device_id, seq, measured_at, received_at, payload)"
                f" VALUES {','.join([one] * len(chunk))}"
                " ON CONFLICT (device_id, seq) DO NOTHING RETURNING device_id, seq"
            )
            flat = tuple(v for row in chunk for v in row)
            inserted.update((r[0], r[1]) for r in conn.exec_driver_sql(sql, flat))
        return inserted

    def latest_reports(self, conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The stored latest report of each of these devices (that has one)."""
        if not ids:
            return {}
        sql = f"SELECT id, latest_report FROM devices WHERE id IN ({self._in(len(ids))})"
        out = {}
        for device_id, value in conn.exec_driver_sql(sql, tuple(ids)):
            if value is not None:
                out[device_id] = json.loads(value) if isinstance(value, str) else value
        return out

    def flagged_devices(self, conn: Connection, ids: Sequence[int]) -> set[int]:
        """Which of these devices have an unresolved flag."""
        if not ids:
            return set()
        sql = (
            "SELECT DISTINCT device_id FROM flags WHERE status != 'resolved'"
            f" AND device_id IN ({self._in(len(ids))})"
        )
        return {r[0] for r in conn.exec_driver_sql(sql, tuple(ids))}

    def update_devices(
        self,
        conn: Connection,
        fresh: Iterable[tuple[Any, int, str, int]],
        seen_only: Iterable[tuple[Any, int]],
    ) -> None:
        """Refresh devices: (seen, seq, report, id) with a newer snapshot; (seen, id) without.

        The last-seen time only ever moves forward, whatever order batches commit in.
        """
        p = self.p
        seen = (
            f"last_seen_at = CASE WHEN last_seen_at IS NULL OR last_seen_at < {p}"
            f" THEN {p} ELSE last_seen_at END"
        )
        report = f"{p}::json" if self.pg else p
        fresh_rows = [(s, s, q, r, i) for s, q, r, i in fresh]
        if fresh_rows:
            conn.exec_driver_sql(
                f"UPDATE devices SET {seen}, last_report_seq = {p}, latest_report = {report}"
                f" WHERE id = {p}",
                fresh_rows,
            )
        seen_rows = [(s, s, i) for s, i in seen_only]
        if seen_rows:
            conn.exec_driver_sql(f"UPDATE devices SET {seen} WHERE id = {p}", seen_rows)
