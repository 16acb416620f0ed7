"""One device as its page shows it: identity, current loan, timeline and health history.

Every query selects only the columns the page shows, as tuples: ORM objects would load
columns it never shows (the device's latest report, job details, certificates as JSON)
and cost more in Python than the queries themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Integer, and_, bindparam, select
from sqlalchemy.orm import Session, aliased

from server.dashboard.health_sql import report_figures
from server.models import (
    Borrower,
    ConditionRecord,
    Device,
    DeviceEvent,
    Flag,
    HealthDaily,
    JobResult,
    Loan,
    Location,
)

RAW_POINTS = 500
"""Raw reports drawn at most; older history comes from the daily roll-ups."""

TIMELINE_PER_SOURCE = 200

SERIES = ("battery_health", "battery_charge", "disk_wear", "free_space", "temperature")


@dataclass(frozen=True)
class DeviceFacts:
    """The device's identity and whereabouts."""

    id: int
    asset_tag: str
    kind: str
    make: str | None
    model: str | None
    serial: str | None
    state: str
    grade: str | None
    last_seen_at: datetime | None
    intake_at: datetime
    location: str


@dataclass(frozen=True)
class CurrentLoan:
    """The device's active loan."""

    id: int
    location: str
    started_at: datetime
    due_date: date
    adult: bool


@dataclass(frozen=True)
class OpenFlag:
    """An unresolved flag, with the actions the page offers on it."""

    id: int
    reason: str
    severity: str
    status: str


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

    device: DeviceFacts
    loan: CurrentLoan | None
    timeline: list[Entry]
    series: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)
    open_flags: list[OpenFlag] = field(default_factory=list)


_LoanPlace = aliased(Location)
_ID = bindparam("device_id", type_=Integer())

# The device, its place and its active loan (at most one: a partial unique index) in one row.
_DEVICE = (
    select(
        Device.id,
        Device.asset_tag,
        Device.kind,
        Device.make,
        Device.model,
        Device.serial,
        Device.state,
        Device.grade,
        Device.last_seen_at,
        Device.intake_at,
        Location.name,
        Loan.id,
        _LoanPlace.name,
        Loan.started_at,
        Loan.due_date,
        Borrower.adult,
    )
    .join(Location, Location.id == Device.location_id)
    .outerjoin(Loan, and_(Loan.device_id == Device.id, Loan.returned_at.is_(None)))
    .outerjoin(_LoanPlace, _LoanPlace.id == Loan.location_id)
    .outerjoin(Borrower, Borrower.id == Loan.borrower_id)
    .where(Device.id == _ID)
)
_FLAGS = (
    select(Flag.id, Flag.kind, Flag.reason, Flag.severity, Flag.status, Flag.opened_at, Flag.note)
    .where(Flag.device_id == _ID)
    .order_by(Flag.opened_at.desc())
    .limit(TIMELINE_PER_SOURCE)
)
_EVENTS = (
    select(
        DeviceEvent.at,
        DeviceEvent.kind,
        DeviceEvent.from_state,
        DeviceEvent.to_state,
        DeviceEvent.actor,
        DeviceEvent.reason,
    )
    .where(DeviceEvent.device_id == _ID)
    .order_by(DeviceEvent.at.desc())
    .limit(TIMELINE_PER_SOURCE)
)
_JOBS = (
    select(
        JobResult.id,
        JobResult.kind,
        JobResult.status,
        JobResult.started_at,
        JobResult.ended_at,
        JobResult.method,
        JobResult.station,
        JobResult.recorded_by,
        JobResult.certificate.is_not(None),
    )
    .where(JobResult.device_id == _ID)
    .order_by(JobResult.id.desc())
    .limit(TIMELINE_PER_SOURCE)
)
_CONDITIONS = (
    select(
        ConditionRecord.recorded_at,
        ConditionRecord.cosmetic_grade,
        ConditionRecord.functional_grade,
        ConditionRecord.battery_grade,
        ConditionRecord.technician,
        ConditionRecord.notes,
    )
    .where(ConditionRecord.device_id == _ID)
    .order_by(ConditionRecord.recorded_at.desc())
    .limit(TIMELINE_PER_SOURCE)
)
_LOANS = (
    select(Loan.id, Loan.started_at, Loan.returned_at, Loan.return_condition, Location.name)
    .join(Location, Location.id == Loan.location_id)
    .where(Loan.device_id == _ID)
    .order_by(Loan.started_at.desc())
    .limit(TIMELINE_PER_SOURCE)
)
_DAILY = (
    select(
        HealthDaily.day,
        HealthDaily.battery_health_pct,
        HealthDaily.battery_charge_min,
        HealthDaily.disk_wear_pct_max,
        HealthDaily.disk_free_pct_min,
        HealthDaily.temperature_max,
    )
    .where(HealthDaily.device_id == _ID)
    .order_by(HealthDaily.day)
)


def load(session: Session, device_id: int) -> DeviceView | None:
    """The device's page data, or None when there is no such device."""
    conn = session.connection()
    params = {"device_id": device_id}
    row: Any = conn.execute(_DEVICE, params).first()  # typed per column; unpacked below
    if row is None:
        return None
    device = DeviceFacts(*row[:11])
    loan = CurrentLoan(*row[11:]) if row[11] is not None else None
    flags: list[Any] = list(conn.execute(_FLAGS, params))
    view = DeviceView(device=device, loan=loan, timeline=_timeline(session, device, flags))
    view.open_flags = [
        OpenFlag(f.id, f.reason, f.severity, f.status) for f in flags if f.status != "resolved"
    ]
    view.series = health_series(session, device_id)
    return view


def _timeline(session: Session, device: DeviceFacts, flags: list[Any]) -> list[Entry]:
    conn = session.connection()
    params = {"device_id": device.id}
    entries = [Entry(device.intake_at, "ev_intake", "")]
    for at, kind, from_state, to_state, actor, reason in conn.execute(_EVENTS, params):
        if kind == "transition":
            detail = f"{from_state or '–'} → {to_state or '–'} · {actor}"
            entries.append(Entry(at, "ev_transition", detail + _note(reason)))
        elif kind != "flag":  # flag events duplicate the flag entries below
            entries.append(Entry(at, "ev_event", f"{kind} · {actor}" + _note(reason)))
    for job_id, kind, status, started, ended, method, station, by, certified in conn.execute(
        _JOBS, params
    ):
        wipe = kind == "wipe"
        entries.append(
            Entry(
                ended or started,
                "ev_wipe" if wipe else "ev_diagnostics",
                " · ".join(x for x in (method, station, by) if x),
                status=status,
                job_id=job_id if wipe and certified else None,
            )
        )
    for at, cosmetic, functional, battery, technician, notes in conn.execute(_CONDITIONS, params):
        battery_text = f" · battery {battery}" if battery else ""
        detail = f"{cosmetic}/{functional}{battery_text} · {technician}"
        entries.append(Entry(at, "ev_condition", detail + _note(notes)))
    for loan_id, started, returned, condition, place in conn.execute(_LOANS, params):
        entries.append(Entry(started, "ev_loan", f"{place} · #{loan_id}"))
        if returned is not None:
            entries.append(Entry(returned, "ev_loan_return", f"#{loan_id}" + _note(condition)))
    for flag_id, kind, reason, _severity, status, opened, note in flags:
        entries.append(
            Entry(
                opened,
                "ev_flag",
                f"{kind} · {reason}" + _note(note),
                status=status,
                flag_id=flag_id,
            )
        )
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries


def _note(text: str | None) -> str:
    return f" · {text}" if text else ""


def health_series(session: Session, device_id: int) -> dict[str, list[tuple[datetime, float]]]:
    """The five plotted figures over time: daily roll-ups, then the latest raw reports."""
    raw = report_figures(session, device_id, RAW_POINTS)
    oldest_raw = raw[-1][0] if raw else None
    rows: list[Any] = []
    for day, *values in session.connection().execute(_DAILY, {"device_id": device_id}):
        at = datetime.combine(day, time(12), tzinfo=UTC)
        if oldest_raw is not None and at >= oldest_raw:
            break
        rows.append((at, *values))
    rows.extend(reversed(raw))
    # One pass per figure over the rows; a report lacking a fact (or holding text) skips it.
    return {
        name: [(r[0], float(r[i])) for r in rows if isinstance(r[i], int | float)]
        for i, name in enumerate(SERIES, start=1)
    }
