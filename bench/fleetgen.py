"""Bulk generation of a large fleet for the dashboard benchmark (executemany / COPY).

Devices, borrowers, loans, flags, wipes, audit events and health reports are written in
large batches straight to the tables (no ORM objects): SQLite through executemany in one
transaction, PostgreSQL through COPY for the health reports.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session

from server.models import (
    Borrower,
    Device,
    DeviceEvent,
    Flag,
    HealthReportRow,
    JobResult,
    Loan,
    Location,
    Municipality,
)
from server.reach import rebuild_facts
from server.region import seed_region

log = logging.getLogger(__name__)

STATES = [
    ("intake", 3),
    ("refurbishing", 5),
    ("repair", 4),
    ("ready", 15),
    ("returned", 5),
    ("retired", 8),
    ("on_loan", 60),
]
REASONS = [
    ("battery_worn", "repair", "warning"),
    ("disk_failing", "repair", "critical"),
    ("disk_nearly_full", "repair", "warning"),
    ("overdue", "return", "warning"),
    ("silent", "return", "info"),
    ("overheating", "repair", "critical"),
]
CHUNK = 50_000


def _chunks(rows: list[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def generate(engine: Engine, devices: int, reports: int, seed: int = 1) -> dict[str, float]:
    """Fill a migrated, empty database; returns seconds spent per table."""
    rng = random.Random(seed)
    timings: dict[str, float] = {}
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    with Session(engine) as session:
        seed_region(session)
        session.commit()
        hub = session.scalar(select(Location.id).where(Location.kind == "hub"))
        points = session.execute(
            select(Location.id, Municipality.digibank_id).join(
                Municipality, Municipality.id == Location.municipality_id
            )
        ).all()
    weights = [w for _, w in STATES]
    names = [s for s, _ in STATES]
    t0 = time.perf_counter()
    dev_rows, loan_rows, borrower_rows, event_rows, job_rows, flag_rows = [], [], [], [], [], []
    for i in range(1, devices + 1):
        state = rng.choices(names, weights)[0]
        at_hub = state in ("intake", "refurbishing", "repair", "retired")
        loc, bank = (hub, None) if at_hub else rng.choice(points)
        intake = now - timedelta(days=rng.randint(30, 700))
        seen = now - timedelta(seconds=rng.randint(0, 3 * 86400 if rng.random() < 0.1 else 1200))
        dev_rows.append(
            {
                "id": i,
                "asset_tag": f"DB-{i:06d}",
                "kind": "laptop",
                "make": "Lenovo",
                "model": "ThinkPad T480",
                "serial": f"SN{i:09d}",
                "cpu": "i5-8350U",
                "ram_gb": 8,
                "storage_gb": 256,
                "state": state,
                "location_id": loc,
                "grade": "B",
                "created_at": intake,
                "updated_at": intake,
                "intake_at": intake,
                "last_seen_at": seen if state == "on_loan" else None,
                "last_report_seq": None,
                "report_interval_s": 900,
            }
        )
        for k, to in enumerate(("refurbishing", "ready", "on_loan")):
            event_rows.append(
                {
                    "device_id": i,
                    "at": intake + timedelta(days=k + 1),
                    "actor": "bench",
                    "kind": "transition",
                    "from_state": None,
                    "to_state": to,
                    "reason": None,
                }
            )
        job_rows.append(
            {
                "device_id": i,
                "kind": "wipe",
                "status": "passed",
                "started_at": intake + timedelta(days=1),
                "ended_at": intake + timedelta(days=1, hours=2),
                "method": "clear",
                "details": {},
                "certificate": {"id": f"C{i}"},
                "station": "s1",
                "recorded_by": "bench",
                "recorded_at": intake + timedelta(days=1),
            }
        )
        if state in ("on_loan", "returned") or rng.random() < 0.3:
            _loans(i, state, loc, bank, points, now, today, rng, borrower_rows, loan_rows)
        if rng.random() < 0.06:
            reason, kind, severity = rng.choice(REASONS)
            status = rng.choice(("open", "open", "acknowledged", "resolved"))
            flag_rows.append(
                {
                    "device_id": i,
                    "kind": kind,
                    "reason": reason,
                    "severity": severity,
                    "evidence": {"value": rng.randint(1, 99)},
                    "status": status,
                    "opened_at": now - timedelta(hours=rng.randint(1, 900)),
                    "updated_at": now,
                    "clear_streak": 0,
                }
            )
    timings["build rows"] = time.perf_counter() - t0
    tables: list[tuple[Any, list[dict[str, Any]]]] = [
        (Device, dev_rows),
        (Borrower, borrower_rows),
        (Loan, loan_rows),
        (DeviceEvent, event_rows),
        (JobResult, job_rows),
        (Flag, flag_rows),
    ]
    for model, rows in tables:
        t0 = time.perf_counter()
        with engine.begin() as conn:
            for chunk in _chunks(rows):
                conn.execute(insert(model.__table__), chunk)
        timings[model.__tablename__] = time.perf_counter() - t0
    with engine.begin() as conn:
        rebuild_facts(conn)  # loans were written in bulk, not lent
    t0 = time.perf_counter()
    _health_reports(engine, devices, reports, now, rng)
    timings["health_reports"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if engine.dialect.name == "postgresql":
        # What autovacuum does on a running hub: statistics and the visibility map
        # (without it, index-only scans still visit the table).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    timings["analyze"] = time.perf_counter() - t0
    return timings


def _loans(
    device_id: int,
    state: str,
    loc: int,
    bank: int | None,
    points: list[Any],
    now: datetime,
    today: date,
    rng: random.Random,
    borrowers: list[dict[str, Any]],
    loans: list[dict[str, Any]],
) -> None:
    """One or two past loans, plus the active one for a device on loan."""
    count = rng.randint(1, 2)
    for k in range(count):
        active = state == "on_loan" and k == count - 1
        point, point_bank = (loc, bank) if active else rng.choice(points)
        bid = len(borrowers) + 1
        borrowers.append(
            {
                "id": bid,
                "ref": f"r{bid}",
                "adult": rng.random() < 0.85,
                "digibank_id": point_bank,
                "created_at": now,
            }
        )
        started = now - timedelta(days=rng.randint(10, 600))
        due = today + timedelta(days=rng.randint(-20, 60)) if active else started.date()
        loans.append(
            {
                "device_id": device_id,
                "borrower_id": bid,
                "location_id": point,
                "started_at": started,
                "due_date": due,
                "extended_count": 0,
                "returned_at": None if active else started + timedelta(days=60),
                "return_location_id": None if active else point,
            }
        )


def _payload(device_id: int, seq: int, at: datetime, rng: random.Random) -> str:
    wear = seq / 100
    return json.dumps(
        {
            "schema": 1,
            "device_id": f"d{device_id}",
            "seq": seq,
            "measured_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "agent_version": "1.0.0",
            "os_name": "Linux",
            "os_version": "6.1",
            "uptime_s": 3600 * (seq % 50),
            "battery": {
                "charge_pct": rng.randint(5, 100),
                "plugged_in": False,
                "design_capacity_wh": 50.0,
                "full_capacity_wh": round(50 - 10 * wear, 1),
                "cycle_count": 100 + seq,
                "health_pct": round(100 - 20 * wear, 1),
                "status": "Discharging",
            },
            "disks": [
                {
                    "kind": "nvme",
                    "size_bytes": 256000000000,
                    "free_bytes": int(200e9 - 1.5e9 * seq),
                    "smart_passed": True,
                    "power_on_hours": 5000 + seq,
                    "temperature_c": 38 + seq % 9,
                    "percentage_used": 5 + seq // 10,
                }
            ],
            "memory": {"total_bytes": 8589934592, "available_bytes": 4294967296},
            "temperatures": {"cpu_c": 45 + seq % 20, "disk_c": 38},
            "errors": [],
        },
        separators=(",", ":"),
    )


def _health_reports(
    engine: Engine, devices: int, reports: int, now: datetime, rng: random.Random
) -> None:
    """`reports` reports spread evenly over the devices, hourly, ending now."""
    per_device = max(1, reports // devices)
    # A few payload shapes reused: generating 5M distinct JSON texts would dominate the run.
    templates = [_payload(1, s, now, rng) for s in range(per_device)]
    start = now - timedelta(hours=per_device)
    moments = [start + timedelta(hours=s) for s in range(per_device)]
    if engine.dialect.name == "postgresql":
        _copy_reports(engine, devices, per_device, moments, templates, now)
        return
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("BEGIN")
        stamp = [m.strftime("%Y-%m-%d %H:%M:%S.000000") for m in moments]
        received = now.strftime("%Y-%m-%d %H:%M:%S.000000")
        sql = (
            "INSERT INTO health_reports (device_id, seq, measured_at, received_at, payload)"
            " VALUES (?, ?, ?, ?, ?)"
        )
        batch: list[tuple[int, int, str, str, str]] = []
        for d in range(1, devices + 1):
            for s in range(per_device):
                batch.append((d, s, stamp[s], received, templates[s]))
            if len(batch) >= 200_000:
                cur.executemany(sql, batch)
                batch.clear()
        cur.executemany(sql, batch)
        cur.execute("COMMIT")
    finally:
        raw.close()


def _copy_reports(
    engine: Engine,
    devices: int,
    per_device: int,
    moments: list[datetime],
    templates: list[str],
    now: datetime,
) -> None:
    stamp = [m.isoformat() for m in moments]
    received = now.isoformat()
    lines = [f"\t{s}\t{stamp[s]}\t{received}\t{templates[s]}\n" for s in range(per_device)]
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cols = "device_id, seq, measured_at, received_at, payload"
        with cur.copy(f"COPY {HealthReportRow.__tablename__} ({cols}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            buf: list[str] = []
            for d in range(1, devices + 1):
                prefix = str(d)
                buf.extend(prefix + line for line in lines)
                if len(buf) >= 100_000:
                    copy.write("".join(buf))
                    buf.clear()
            copy.write("".join(buf))
        raw.commit()
    finally:
        raw.close()
