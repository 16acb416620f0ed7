"""One ingest batch: validate messages, store new reports once, refresh devices, run rules.

Everything here happens in one transaction; the MQTT side acknowledges the batch's messages
only after `store_batch` returned, so a crash at any point loses nothing and a redelivered
message changes nothing ((device id, seq) is unique and inserts skip conflicts).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from server.core.db import writing
from server.flags import apply_report_findings, unresolved_flags
from server.ingest_classify import Valid, classify
from server.ingest_sql import HotSQL
from server.models import Base, IngestCounter
from server.rules import (
    REPORT_REPAIR_REASONS,
    RETIRED_REPORTING,
    Finding,
    Thresholds,
    evaluate_report,
    needs_previous,
)
from server.timeutil import utcnow

log = logging.getLogger(__name__)

# Drop reasons, as counted in IngestCounter ("dropped.<reason>") and in /metrics.
DROP_REASONS = (
    "bad_topic",
    "oversized",
    "malformed",
    "schema_version",
    "invalid",
    "spoofed",
    "unknown_device",
)
STORED = "stored"
DUPLICATE = "duplicate"

_REPORT_REASONS = REPORT_REPAIR_REASONS | {RETIRED_REPORTING}


@dataclass
class Incoming:
    """One received MQTT message, with what is needed to acknowledge it later.

    `checked` holds `classify`'s verdict when it was already taken (ingest does that as each
    message arrives).
    """

    topic: str
    payload: bytes | bytearray
    mid: int = 0
    generation: int = 0
    received: float = 0.0
    checked: Valid | str | None = None


@dataclass
class BatchResult:
    """What one batch did: stored and duplicate counts, drops by reason, newest report time."""

    stored: int = 0
    duplicates: int = 0
    drops: Counter[str] = field(default_factory=Counter)
    newest_measured: datetime | None = None


@dataclass(frozen=True)
class BatchContext:
    """Settings a batch needs, fixed for the life of an ingest process."""

    thresholds: Thresholds
    autoresolve_after: int
    # SQLite: another thread checkpoints the WAL (server.wal_checkpoint), so batches do not.
    own_checkpoints: bool = False


def _nothing() -> None:
    pass


def store_batch(
    factory: sessionmaker[Session],
    messages: list[Incoming],
    ctx: BatchContext,
    *,
    before_lock: Callable[[], None] = _nothing,
    after_lock: Callable[[], None] = _nothing,
) -> BatchResult:
    """Validate, store and evaluate a batch in one transaction; committed on return.

    `before_lock` and `after_lock` run just before and after the batch locks its devices'
    rows: batches stored at once take their locks in the order they came
    (`server.ingest_writer`), so a device's reports are inserted in that order too.
    """
    result = BatchResult()
    valid: dict[tuple[int, int], Valid] = {}
    for message in messages:
        outcome = (
            message.checked
            if message.checked is not None
            else classify(message.topic, message.payload)
        )
        if isinstance(outcome, str):
            result.drops[outcome] += 1
            continue
        key = (outcome.device_id, outcome.seq)
        if key in valid:
            result.duplicates += 1  # the same report twice in one batch (a redelivery)
        else:
            valid[key] = outcome
    with factory() as session:
        # SQLite: a writer from the start (BEGIN IMMEDIATE), so reading the devices and then
        # writing never meets another writer in between.
        writing(session)
        if ctx.own_checkpoints:
            session.connection().exec_driver_sql("PRAGMA wal_autocheckpoint=0")
        if valid:
            _store(session, valid, ctx, result, before_lock, after_lock)
        else:
            after_lock()
        _count(session, result)
        session.commit()
        if ctx.own_checkpoints:  # the connection goes back to the pool as it came
            session.connection().exec_driver_sql("PRAGMA wal_autocheckpoint=1000")
    return result


def _store(
    session: Session,
    valid: dict[tuple[int, int], Valid],
    ctx: BatchContext,
    result: BatchResult,
    before_lock: Callable[[], None],
    after_lock: Callable[[], None],
) -> None:
    sql = HotSQL(session.get_bind().dialect.name)
    conn = session.connection()
    before_lock()
    devices = sql.lock_devices(conn, sorted({k[0] for k in valid}))
    after_lock()
    for key in [k for k in valid if k[0] not in devices]:
        del valid[key]
        result.drops["unknown_device"] += 1
    if not valid:
        return
    now = utcnow()
    received = sql.time(now)
    rows = [(v.device_id, v.seq, sql.time(v.measured_at), received, v.text) for v in valid.values()]
    new_keys = sql.insert_reports(conn, rows)
    result.stored += len(new_keys)
    result.duplicates += len(valid) - len(new_keys)
    by_device: dict[int, list[Valid]] = {}
    for key in sorted(new_keys):
        by_device.setdefault(key[0], []).append(valid[key])
    _apply(session, sql, by_device, devices, ctx, now, result)


def _apply(
    session: Session,
    sql: HotSQL,
    by_device: dict[int, list[Valid]],
    devices: dict[int, tuple[str, int | None]],
    ctx: BatchContext,
    now: datetime,
    result: BatchResult,
) -> None:
    """Run the report rules on each device's new reports in order; refresh its snapshot."""
    conn = session.connection()
    fresh: list[tuple[Any, int, int]] = []
    seen_only: list[tuple[Any, int]] = []
    newer: dict[int, list[Valid]] = {}
    for device_id, items in by_device.items():
        last_seq = devices[device_id][1]
        # An old report arriving late is stored, but rules and snapshot follow the newest.
        items = [v for v in items if last_seq is None or v.seq > last_seq]
        seen = min(max(v.measured_at for v in by_device[device_id]), now)
        if items:
            newer[device_id] = items
            fresh.append((sql.time(seen), items[-1].seq, device_id))
        else:
            seen_only.append((sql.time(seen), device_id))
        newest = max(v.measured_at for v in by_device[device_id])
        if result.newest_measured is None or newest > result.newest_measured:
            result.newest_measured = newest
    findings = _evaluate(conn, sql, newer, devices, ctx)
    need = {d for d, per in findings.items() if any(per)}
    need |= sql.flagged_devices(conn, sorted(newer))
    if need:
        flags = unresolved_flags(session, sorted(need))
        for device_id in sorted(need):
            for per_report in findings[device_id]:
                apply_report_findings(
                    session,
                    device_id,
                    per_report,
                    flags[device_id],
                    report_reasons=_REPORT_REASONS,
                    autoresolve_after=ctx.autoresolve_after,
                    now=now,
                )
        session.flush()
    sql.update_devices(conn, fresh, seen_only)


def _evaluate(
    conn: Connection,
    sql: HotSQL,
    newer: dict[int, list[Valid]],
    devices: dict[int, tuple[str, int | None]],
    ctx: BatchContext,
) -> dict[int, list[list[Finding]]]:
    """Findings of each new report, per device in seq order."""
    th = ctx.thresholds
    # The stored previous report matters only for "growing" and "two in a row": fetch it
    # only for the few devices whose first new report could trigger those.
    # The previous report is the one the device's last_report_seq names (read before this
    # batch): stored unless retention has since removed it.
    want = {
        d: last_seq
        for d, items in newer.items()
        if (last_seq := devices[d][1]) is not None and needs_previous(items[0].data, th)
    }
    stored = sql.reports(conn, want)
    out: dict[int, list[list[Finding]]] = {}
    for device_id, items in newer.items():
        previous = stored.get(device_id)
        state = devices[device_id][0]
        per: list[list[Finding]] = []
        for item in items:
            per.append(evaluate_report(item.data, previous, th, device_state=state))
            previous = item.data
        out[device_id] = per
    return out


def _count(session: Session, result: BatchResult) -> None:
    """Add this batch's counts to the shared counters (summed over all ingest processes)."""
    counts = {STORED: result.stored, DUPLICATE: result.duplicates}
    counts.update({f"dropped.{k}": v for k, v in result.drops.items()})
    rows = [{"name": k, "count": v, "updated_at": utcnow()} for k, v in counts.items() if v]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    counters = Base.metadata.tables[IngestCounter.__tablename__]
    stmt = insert(counters)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={
            "count": counters.c.count + stmt.excluded.count,
            "updated_at": stmt.excluded.updated_at,
        },
    )
    # Sorted names: two processes take the counter rows' locks in the same order.
    session.connection().execute(stmt, sorted(rows, key=lambda r: str(r["name"])))
