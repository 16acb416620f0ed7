"""Health retention: raw reports past the retention period become daily figures per device."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.models import HealthDaily, HealthReportRow
from server.rules import battery_health_pct, max_temperature
from server.timeutil import BRUSSELS, utcnow

log = logging.getLogger(__name__)

CHUNK = 5000


@dataclass
class _Day:
    reports: int = 0
    battery_health_pct: float | None = None
    battery_charge_min: float | None = None
    disk_free_pct_min: float | None = None
    disk_wear_pct_max: float | None = None
    temperature_max: float | None = None


def _lo(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _hi(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def _figures(payload: dict[str, Any]) -> _Day:
    """One report's contribution to its day."""
    disks = payload.get("disks") or []
    free = [
        100.0 * d["free_bytes"] / d["size_bytes"]
        for d in disks
        if d.get("size_bytes") and d.get("free_bytes") is not None
    ]
    wear = [float(d["percentage_used"]) for d in disks if d.get("percentage_used") is not None]
    charge = (payload.get("battery") or {}).get("charge_pct")
    return _Day(
        reports=1,
        battery_health_pct=battery_health_pct(payload),
        battery_charge_min=float(charge) if charge is not None else None,
        disk_free_pct_min=round(min(free), 1) if free else None,
        disk_wear_pct_max=max(wear) if wear else None,
        temperature_max=max_temperature(payload),
    )


def _merge(day: _Day, add: _Day) -> None:
    day.reports += add.reports
    day.battery_health_pct = _lo(day.battery_health_pct, add.battery_health_pct)
    day.battery_charge_min = _lo(day.battery_charge_min, add.battery_charge_min)
    day.disk_free_pct_min = _lo(day.disk_free_pct_min, add.disk_free_pct_min)
    day.disk_wear_pct_max = _hi(day.disk_wear_pct_max, add.disk_wear_pct_max)
    day.temperature_max = _hi(day.temperature_max, add.temperature_max)


def roll_up_old_reports(
    session: Session, retention_days: int, now: datetime | None = None, chunk: int = CHUNK
) -> int:
    """Fold one chunk of reports older than the retention period into HealthDaily and delete
    them; returns how many were rolled up (call until 0). The caller commits."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    query = (
        select(HealthReportRow.id, HealthReportRow.device_id, HealthReportRow.measured_at,
               HealthReportRow.payload)
        .where(HealthReportRow.measured_at < cutoff)
        .order_by(HealthReportRow.id)
        .limit(chunk)
    )  # fmt: skip
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # two schedulers never fold a row twice
    rows = session.execute(query).all()
    if not rows:
        return 0
    days: dict[tuple[int, date], _Day] = {}
    for _id, device_id, measured_at, payload in rows:
        key = (device_id, measured_at.astimezone(BRUSSELS).date())
        _merge(days.setdefault(key, _Day()), _figures(payload or {}))
    for (device_id, day), figures in days.items():
        row = session.scalar(
            select(HealthDaily).where(HealthDaily.device_id == device_id, HealthDaily.day == day)
        )
        if row is None:
            session.add(HealthDaily(device_id=device_id, day=day, **vars(figures)))
            continue
        merged = _Day(
            reports=row.reports,
            battery_health_pct=row.battery_health_pct,
            battery_charge_min=row.battery_charge_min,
            disk_free_pct_min=row.disk_free_pct_min,
            disk_wear_pct_max=row.disk_wear_pct_max,
            temperature_max=row.temperature_max,
        )
        _merge(merged, figures)
        for name, value in vars(merged).items():
            setattr(row, name, value)
    session.execute(
        delete(HealthReportRow).where(HealthReportRow.id.in_([r[0] for r in rows])),
        execution_options={"synchronize_session": False},
    )
    session.flush()
    log.info("health retention: %d reports rolled into %d daily rows", len(rows), len(days))
    return len(rows)
