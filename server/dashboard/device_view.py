"""One device as its page shows it: identity, current loan, timeline and health history.

Every query selects only the columns the page shows, as tuples, run on the driver
(`DriverQuery`): ORM objects would load columns it never shows (job details, certificates
as JSON), and SQLAlchemy's execution costs more in Python than these queries themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Connection, Integer, and_, bindparam, select
from sqlalchemy.orm import aliased

from server.core.driver_query import DriverQuery
from server.dashboard.health_sql import report_figures
from server.dashboard.timeline import DeviceFlag, Entry, device_timeline
from server.models import Borrower, Device, HealthDaily, Loan, Location

RAW_POINTS = 500
"""Raw reports drawn at most; older history comes from the daily roll-ups."""

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


@dataclass
class DeviceView:
    """Everything the device page shows."""

    device: DeviceFacts
    loan: CurrentLoan | None
    timeline: list[Entry]
    # Per figure: (Unix seconds, value) points, oldest first.
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    open_flags: list[DeviceFlag] = field(default_factory=list)


_LoanPlace = aliased(Location)
_ID = bindparam("device_id", type_=Integer())

# The device, its place and its active loan (at most one: a partial unique index) in one row.
_DEVICE = DriverQuery(
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
_DAILY = DriverQuery(
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


def load(conn: Connection, device_id: int) -> DeviceView | None:
    """The device's page data, or None when there is no such device."""
    row = _DEVICE.first(conn, {"device_id": device_id})
    if row is None:
        return None
    device = DeviceFacts(*row[:11])
    loan = CurrentLoan(*row[11:]) if row[11] is not None else None
    timeline, flags = device_timeline(conn, device_id, device.intake_at)
    view = DeviceView(device=device, loan=loan, timeline=timeline)
    view.open_flags = [f for f in flags if f.status != "resolved"]
    view.series = health_series(conn, device_id)
    return view


def health_series(conn: Connection, device_id: int) -> dict[str, list[tuple[float, float]]]:
    """The five plotted figures over time (Unix seconds): daily roll-ups, then the latest
    raw reports."""
    raw = report_figures(conn, device_id, RAW_POINTS)
    oldest_raw = raw[-1][0] if raw else None
    rows: list[Any] = []
    for day, *values in _DAILY.rows(conn, {"device_id": device_id}):
        at = datetime.combine(day, time(12), tzinfo=UTC).timestamp()
        if oldest_raw is not None and at >= oldest_raw:
            break
        rows.append((at, *values))
    rows.extend(reversed(raw))
    # One pass per figure over the rows; a report lacking a fact (or holding text) skips it.
    return {
        name: [(r[0], float(r[i])) for r in rows if type(r[i]) in _NUMBER]
        for i, name in enumerate(SERIES, start=1)
    }


_NUMBER = (float, int)
