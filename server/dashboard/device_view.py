"""One device as its page shows it: identity, current loan, timeline and health history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from server.dashboard.health_sql import report_figures
from server.models import (
    ConditionRecord,
    Device,
    DeviceEvent,
    Flag,
    HealthDaily,
    JobResult,
    Loan,
)

RAW_POINTS = 500
"""Raw reports drawn at most; older history comes from the daily roll-ups."""

TIMELINE_PER_SOURCE = 200

SERIES = ("battery_health", "battery_charge", "disk_wear", "free_space", "temperature")


@dataclass(frozen=True)
class Entry:
    """One line of a device's timeline."""

    at: datetime
    kind: str  # ev_* text key
    detail: str
    status: str | None = None
    job_id: int | None = None  # set for wipes with a certificate
    flag_id: int | None = None


@dataclass
class DeviceView:
    """Everything the device page shows."""

    device: Device
    loan: Loan | None
    timeline: list[Entry]
    series: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)
    open_flags: list[Flag] = field(default_factory=list)


def load(session: Session, device_id: int) -> DeviceView | None:
    """The device's page data, or None when there is no such device."""
    device = session.get(Device, device_id)
    if device is None:
        return None
    loan = session.scalar(
        select(Loan)
        .options(lazyload(Loan.device))  # the device is loaded already; skip its joins
        .where(Loan.device_id == device_id, Loan.returned_at.is_(None))
    )
    flags = list(
        session.scalars(
            select(Flag)
            .options(lazyload(Flag.device))
            .where(Flag.device_id == device_id)
            .order_by(Flag.opened_at.desc())
            .limit(TIMELINE_PER_SOURCE)
        )
    )
    view = DeviceView(device=device, loan=loan, timeline=_timeline(session, device, flags))
    view.open_flags = [f for f in flags if f.status != "resolved"]
    view.series = health_series(session, device_id)
    return view


def _timeline(session: Session, device: Device, flags: list[Flag]) -> list[Entry]:
    entries = [Entry(device.intake_at, "ev_intake", "")]
    for ev in session.scalars(
        select(DeviceEvent)
        .where(DeviceEvent.device_id == device.id)
        .order_by(DeviceEvent.at.desc())
        .limit(TIMELINE_PER_SOURCE)
    ):
        if ev.kind == "transition":
            detail = f"{ev.from_state or '–'} → {ev.to_state or '–'} · {ev.actor}"
            entries.append(Entry(ev.at, "ev_transition", detail + _note(ev.reason)))
        elif ev.kind != "flag":  # flag events duplicate the flag entries below
            entries.append(Entry(ev.at, "ev_event", f"{ev.kind} · {ev.actor}" + _note(ev.reason)))
    for job in session.scalars(
        select(JobResult)
        .where(JobResult.device_id == device.id)
        .order_by(JobResult.id.desc())
        .limit(TIMELINE_PER_SOURCE)
    ):
        detail = " · ".join(x for x in (job.method, job.station, job.recorded_by) if x)
        entries.append(
            Entry(
                job.ended_at or job.started_at,
                "ev_wipe" if job.kind == "wipe" else "ev_diagnostics",
                detail,
                status=job.status,
                job_id=job.id if job.kind == "wipe" and job.certificate else None,
            )
        )
    for rec in session.scalars(
        select(ConditionRecord)
        .where(ConditionRecord.device_id == device.id)
        .order_by(ConditionRecord.recorded_at.desc())
        .limit(TIMELINE_PER_SOURCE)
    ):
        battery = f" · battery {rec.battery_grade}" if rec.battery_grade else ""
        detail = f"{rec.cosmetic_grade}/{rec.functional_grade}{battery} · {rec.technician}"
        entries.append(Entry(rec.recorded_at, "ev_condition", detail + _note(rec.notes)))
    for loan in session.scalars(
        select(Loan)
        .where(Loan.device_id == device.id)
        .order_by(Loan.started_at.desc())
        .limit(TIMELINE_PER_SOURCE)
    ):
        entries.append(Entry(loan.started_at, "ev_loan", f"{loan.location.name} · #{loan.id}"))
        if loan.returned_at is not None:
            entries.append(
                Entry(
                    loan.returned_at, "ev_loan_return", f"#{loan.id}" + _note(loan.return_condition)
                )
            )
    for flag in flags:
        entries.append(
            Entry(
                flag.opened_at,
                "ev_flag",
                f"{flag.kind} · {flag.reason}" + _note(flag.note),
                status=flag.status,
                flag_id=flag.id,
            )
        )
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries


def _note(text: str | None) -> str:
    return f" · {text}" if text else ""


def health_series(session: Session, device_id: int) -> dict[str, list[tuple[datetime, float]]]:
    """The five plotted figures over time: daily roll-ups, then the latest raw reports."""
    raw = report_figures(session, device_id, RAW_POINTS)
    series: dict[str, list[tuple[datetime, float]]] = {k: [] for k in SERIES}
    oldest_raw = raw[-1][0] if raw else None
    daily = select(HealthDaily).where(HealthDaily.device_id == device_id).order_by(HealthDaily.day)
    for day in session.scalars(daily):
        at = datetime.combine(day.day, time(12), tzinfo=UTC)
        if oldest_raw is not None and at >= oldest_raw:
            break
        _add(
            series,
            at,
            day.battery_health_pct,
            day.battery_charge_min,
            day.disk_wear_pct_max,
            day.disk_free_pct_min,
            day.temperature_max,
        )
    for measured_at, *values in reversed(raw):
        _add(series, measured_at, *values)
    return series


def _add(series: dict[str, list[tuple[datetime, float]]], at: datetime, *values: Any) -> None:
    for name, value in zip(SERIES, values, strict=True):
        if isinstance(value, int | float):
            series[name].append((at, float(value)))
