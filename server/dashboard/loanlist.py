"""Active loans for the loans page: overdue first, filtered by digibank or asset tag."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Connection, and_, func, select

from server.models import Borrower, Device, Digibank, Loan, Location, Municipality


@dataclass(frozen=True)
class LoanRow:
    """One active loan as the page lists it."""

    id: int
    device_id: int
    asset_tag: str
    location: str
    location_id: int
    digibank: str | None
    started_at: datetime
    due_date: date
    extended_count: int
    adult: bool
    days_late: int


def active_loans(
    conn: Connection,
    today: date,
    *,
    digibank_id: int | None = None,
    tag: str | None = None,
    overdue_only: bool = False,
    limit: int = 200,
    offset: int = 0,
) -> tuple[list[LoanRow], int]:
    """Active loans by due date (so overdue ones come first) and how many match."""
    clauses: list[ColumnElement[bool]] = [Loan.returned_at.is_(None)]
    if overdue_only:
        clauses.append(Loan.due_date < today)
    if digibank_id is not None:
        clauses.append(Borrower.digibank_id == digibank_id)
    if tag:
        clauses.append(Device.asset_tag.contains(tag.strip(), autoescape=True))
    base = (
        select(Loan.id)
        .join(Borrower, Borrower.id == Loan.borrower_id)
        .join(Device, Device.id == Loan.device_id)
        .where(and_(*clauses))
    )
    total = conn.scalar(select(func.count()).select_from(base.subquery())) or 0
    stmt = (
        select(
            Loan.id,
            Loan.device_id,
            Device.asset_tag,
            Location.name,
            Location.id,
            Digibank.name,
            Loan.started_at,
            Loan.due_date,
            Loan.extended_count,
            Borrower.adult,
        )
        .join(Borrower, Borrower.id == Loan.borrower_id)
        .join(Device, Device.id == Loan.device_id)
        .join(Location, Location.id == Loan.location_id)
        .outerjoin(Digibank, Digibank.id == Borrower.digibank_id)
        .where(and_(*clauses))
        .order_by(Loan.due_date, Loan.id)
        .offset(offset)
        .limit(limit)
    )
    rows = [
        LoanRow(
            id=r[0],
            device_id=r[1],
            asset_tag=r[2],
            location=r[3],
            location_id=r[4],
            digibank=r[5],
            started_at=r[6],
            due_date=r[7],
            extended_count=r[8],
            adult=r[9],
            days_late=max(0, (today - r[7]).days),
        )
        for r in conn.execute(stmt)
    ]
    return rows, total


def location_choices(conn: Connection) -> list[tuple[int, str]]:
    """Places a device can be returned to: the hub first, then digipunten by name."""
    stmt = (
        select(Location.id, Location.name)
        .outerjoin(Municipality, Municipality.id == Location.municipality_id)
        .order_by(Location.kind.desc(), Location.name)
    )
    return [(r[0], r[1]) for r in conn.execute(stmt)]
