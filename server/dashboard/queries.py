"""The dashboard's read queries: every figure is aggregated in SQL, Python only arranges them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import ColumnElement, Connection, bindparam, case, func, or_, select

from server.core.driver_query import DriverQuery
from server.lifecycle import STATES
from server.models import Device, Digibank, Flag, Loan, Location, Municipality
from server.reach import ReachFigure


@dataclass(frozen=True)
class Place:
    """A location with its municipality and digibank names (None for the hub)."""

    id: int
    kind: str
    name: str
    municipality: str | None
    digibank_id: int | None
    digibank: str | None


@dataclass
class PlaceCounts:
    """Devices per state at one place, plus its active and overdue loans."""

    place: Place
    by_state: dict[str, int] = field(default_factory=dict)
    loans_active: int = 0
    loans_overdue: int = 0

    @property
    def total(self) -> int:
        """All devices at this place."""
        return sum(self.by_state.values())


@dataclass(frozen=True)
class Overview:
    """Everything the overview page shows."""

    by_state: dict[str, int]
    by_group: list[tuple[str, dict[str, int]]]
    flags: dict[str, dict[str, int]]
    loans_overdue: int
    loans_due_week: int
    silent_on_loan: int
    reach: list[ReachFigure]
    ready_stock: list[tuple[Place, int]]


def places(conn: Connection) -> dict[int, Place]:
    """All locations with their municipality and digibank, by id (a small table)."""
    rows = conn.execute(
        select(
            Location.id,
            Location.kind,
            Location.name,
            Municipality.name,
            Digibank.id,
            Digibank.name,
        )
        .select_from(Location)
        .outerjoin(Municipality, Municipality.id == Location.municipality_id)
        .outerjoin(Digibank, Digibank.id == Municipality.digibank_id)
        .order_by(Location.kind.desc(), Municipality.name, Location.name)
    ).all()
    return {r[0]: Place(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows}


_DIGIBANKS = DriverQuery(select(Digibank.id, Digibank.name).order_by(Digibank.name))


def digibanks(conn: Connection) -> list[tuple[int, str]]:
    """All digibanks as (id, name), by name."""
    return [(r[0], r[1]) for r in _DIGIBANKS.rows(conn, {})]


def device_counts(conn: Connection) -> dict[int, dict[str, int]]:
    """Devices per location and state, one grouped scan of the devices table."""
    out: dict[int, dict[str, int]] = {}
    # Grouped in the order of the (state, location_id) index: a streaming, index-only count.
    stmt = select(Device.location_id, Device.state, func.count()).group_by(
        Device.state, Device.location_id
    )
    for loc, state, n in conn.execute(stmt):
        out.setdefault(loc, {})[state] = n
    return out


def silent_on_loan(conn: Connection, now: datetime, grace_s: int) -> int:
    """Devices on loan not heard from within their report interval plus the grace (or never).

    Counted per distinct interval with a plain range on last_seen_at, so each count reads the
    (state, report_interval_s) index's range and compares a time, with no per-row arithmetic.
    (last_seen_at is in no index: every stored report moves it; migration 0008.)
    """
    on_loan = Device.state == "on_loan"
    intervals = conn.scalars(
        select(Device.report_interval_s).where(on_loan).group_by(Device.report_interval_s)
    ).all()
    total = 0
    for interval in intervals:
        bound = now - timedelta(seconds=interval + grace_s)
        total += (
            conn.scalar(
                select(func.count())
                .select_from(Device)
                .where(
                    on_loan,
                    Device.report_interval_s == interval,
                    or_(Device.last_seen_at.is_(None), Device.last_seen_at < bound),
                )
            )
            or 0
        )
    return total


def open_flag_counts(conn: Connection) -> dict[str, dict[str, int]]:
    """Unresolved flags per kind and status: {'repair': {'open': 3, 'acknowledged': 1}, ...}."""
    out: dict[str, dict[str, int]] = {"repair": {}, "return": {}}
    stmt = (
        select(Flag.kind, Flag.status, func.count())
        .where(Flag.status.in_(("open", "acknowledged")))
        .group_by(Flag.kind, Flag.status)
    )
    for kind, status, n in conn.execute(stmt):
        out.setdefault(kind, {})[status] = n
    return out


def loan_due_counts(conn: Connection, today: date, days: int = 7) -> tuple[int, int]:
    """(overdue, due within `days`) among active loans."""
    active = Loan.returned_at.is_(None)
    overdue = conn.scalar(
        select(func.count()).select_from(Loan).where(active, Loan.due_date < today)
    )
    soon = conn.scalar(
        select(func.count())
        .select_from(Loan)
        .where(active, Loan.due_date >= today, Loan.due_date <= today + timedelta(days=days))
    )
    return overdue or 0, soon or 0


def overview(
    conn: Connection,
    *,
    now: datetime,
    today: date,
    grace_s: int,
    reach_figures: list[ReachFigure],
) -> Overview:
    """All overview figures; a handful of grouped queries whatever the fleet's size."""
    where = places(conn)
    counts = device_counts(conn)
    by_state = dict.fromkeys(STATES, 0)
    groups: dict[str, dict[str, int]] = {}
    for loc, states in counts.items():
        place = where.get(loc)
        label = (place.municipality or place.name) if place and place.kind == "digipunt" else "hub"
        group = groups.setdefault(label, {})
        for state, n in states.items():
            by_state[state] = by_state.get(state, 0) + n
            group[state] = group.get(state, 0) + n
    ordered = sorted(groups.items(), key=lambda kv: (kv[0] != "hub", kv[0]))
    overdue, soon = loan_due_counts(conn, today)
    stock = [
        (p, counts.get(p.id, {}).get("ready", 0)) for p in where.values() if p.kind == "digipunt"
    ]
    return Overview(
        by_state=by_state,
        by_group=ordered,
        flags=open_flag_counts(conn),
        loans_overdue=overdue,
        loans_due_week=soon,
        silent_on_loan=silent_on_loan(conn, now, grace_s),
        reach=reach_figures,
        ready_stock=stock,
    )


def place_table(conn: Connection, today: date) -> list[PlaceCounts]:
    """Per location: devices per state, active and overdue loans (for the digipunten page)."""
    where = places(conn)
    counts = device_counts(conn)
    loans = conn.execute(
        select(
            Loan.location_id,
            func.count(),
            func.sum(case((Loan.due_date < today, 1), else_=0)),
        )
        .where(Loan.returned_at.is_(None))
        .group_by(Loan.location_id)
    ).all()
    loan_by_loc = {loc: (n, int(late or 0)) for loc, n, late in loans}
    out = []
    for place in where.values():
        active, late = loan_by_loc.get(place.id, (0, 0))
        out.append(PlaceCounts(place, counts.get(place.id, {}), active, late))
    return out


_UNRESOLVED = ("open", "acknowledged")
_STATUSES = ("open", "acknowledged", "resolved")


@dataclass(frozen=True)
class FlagRow:
    """One line of the flags queue."""

    id: int
    device_id: int
    asset_tag: str
    kind: str
    reason: str
    severity: str
    status: str
    evidence: dict[str, object]
    opened_at: datetime
    note: str | None
    location: str
    digibank: str | None


def flag_queue(
    conn: Connection,
    *,
    kind: str | None = None,
    reason: str | None = None,
    digibank_id: int | None = None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[FlagRow], int]:
    """The flags matching the filter, most severe and oldest first, and how many match.

    Unresolved flags unless a status is chosen; an unknown kind or status is no filter.
    """
    one_status = status in _STATUSES
    by_kind = kind in ("repair", "return")
    shape = (one_status, by_kind, bool(reason), digibank_id is not None)
    page_stmt, count_stmt = _queue_statements(*shape)
    params = {
        "status": status,
        "kind": kind,
        "reason": reason,
        "bank": digibank_id,
        "limit": limit,
        "offset": offset,
    }
    found = page_stmt.rows(conn, params)
    rows = [FlagRow(*r[1:]) for r in found]
    if found:
        return rows, found[0][0]
    # Past the last page (or nothing matches): the count comes on its own.
    counted = count_stmt.first(conn, params)
    return rows, counted[0] if counted else 0


@lru_cache(maxsize=16)
def _queue_statements(
    one_status: bool, by_kind: bool, by_reason: bool, by_bank: bool
) -> tuple[DriverQuery, DriverQuery]:
    """The page and count statements for one shape of filter, built once; values are bound."""
    where: list[ColumnElement[bool]] = [
        Flag.status == bindparam("status")
        if one_status
        else or_(*(Flag.status == s for s in _UNRESOLVED))  # plain binds, no IN expansion
    ]
    if by_kind:
        where.append(Flag.kind == bindparam("kind"))
    if by_reason:
        where.append(Flag.reason == bindparam("reason"))
    picked = select(Flag.id).where(*where)
    if by_bank:
        picked = (
            picked.join(Device, Device.id == Flag.device_id)
            .join(Location, Location.id == Device.location_id)
            .join(Municipality, Municipality.id == Location.municipality_id)
            .where(Municipality.digibank_id == bindparam("bank"))
        )
    rank = case({"critical": 0, "warning": 1}, value=Flag.severity, else_=2)
    # Pick the page on the flags table alone (joining only for a digibank filter), counting
    # every match in the same pass (the sort reads them all anyway); then join the 50 rows.
    page = (
        picked.add_columns(func.count().over().label("total"))
        .order_by(rank, Flag.opened_at, Flag.id)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
        .subquery()
    )
    page_stmt = (
        select(
            page.c.total,
            Flag.id,
            Flag.device_id,
            Device.asset_tag,
            Flag.kind,
            Flag.reason,
            Flag.severity,
            Flag.status,
            Flag.evidence,
            Flag.opened_at,
            Flag.note,
            Location.name,
            Digibank.name,
        )
        .join(page, page.c.id == Flag.id)
        .join(Device, Device.id == Flag.device_id)
        .join(Location, Location.id == Device.location_id)
        .outerjoin(Municipality, Municipality.id == Location.municipality_id)
        .outerjoin(Digibank, Digibank.id == Municipality.digibank_id)
        .order_by(rank, Flag.opened_at, Flag.id)
    )
    count_stmt = select(func.count()).select_from(picked.subquery())
    return DriverQuery(page_stmt), DriverQuery(count_stmt)


_REASONS = DriverQuery(
    select(Flag.reason)
    .where(or_(*(Flag.status == s for s in _UNRESOLVED)))
    .group_by(Flag.reason)
    .order_by(Flag.reason)
)


def flag_reasons(conn: Connection) -> list[str]:
    """Reason codes of unresolved flags, for the filter."""
    return [r[0] for r in _REASONS.rows(conn, {})]
