"""Reach: distinct adult borrowers per digibank and municipality, against the target."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from server.models import Borrower, Digibank, Loan, Location, Municipality
from server.timeutil import BRUSSELS


@dataclass(frozen=True)
class ReachFigure:
    """Adults reached by one digibank (municipality None) or one municipality."""

    digibank: str
    municipality: str | None
    adults: int
    target: int | None

    @property
    def pct_of_target(self) -> float | None:
        """Share of the target reached, in percent."""
        return round(100.0 * self.adults / self.target, 1) if self.target else None


def reach(
    session: Session, target: int, since: date | None = None, until: date | None = None
) -> tuple[list[ReachFigure], list[ReachFigure]]:
    """Per digibank and per municipality: distinct adult borrowers with a loan in the period.

    Borrowers count by their row, not their reference, so erasing a reference (retention)
    leaves the figures unchanged.
    """
    base = (
        select(Digibank.name, Municipality.name, func.count(distinct(Loan.borrower_id)))
        .select_from(Loan)
        .join(Borrower, Loan.borrower_id == Borrower.id)
        .join(Location, Loan.location_id == Location.id)
        .join(Municipality, Location.municipality_id == Municipality.id)
        .join(Digibank, Municipality.digibank_id == Digibank.id)
        .where(Borrower.adult.is_(True))
    )
    if since:
        base = base.where(Loan.started_at >= datetime.combine(since, time(), BRUSSELS))
    if until:
        base = base.where(Loan.started_at < datetime.combine(until, time(), BRUSSELS))
    per_muni = {
        (b, m): n for b, m, n in session.execute(base.group_by(Digibank.name, Municipality.name))
    }
    bank_stmt = base.with_only_columns(
        Digibank.name, func.count(distinct(Loan.borrower_id))
    ).group_by(Digibank.name)
    per_bank = dict(session.execute(bank_stmt).tuples().all())
    banks = session.execute(select(Digibank.name).order_by(Digibank.name)).scalars().all()
    munis = (
        session.execute(
            select(Digibank.name, Municipality.name)
            .join(Digibank, Municipality.digibank_id == Digibank.id)
            .order_by(Digibank.name, Municipality.name)
        )
        .tuples()
        .all()
    )
    bank_rows = [ReachFigure(b, None, per_bank.get(b, 0), target) for b in banks]
    muni_rows = [ReachFigure(b, m, per_muni.get((b, m), 0), None) for b, m in munis]
    return bank_rows, muni_rows


def reach_csv(banks: list[ReachFigure], munis: list[ReachFigure]) -> str:
    """Reach as CSV for subsidy reports: one row per digibank, then per municipality."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["level", "digibank", "municipality", "adults_reached", "target", "pct_of_target"]
    )
    for r in banks:
        writer.writerow(["digibank", r.digibank, "", r.adults, r.target, r.pct_of_target])
    for r in munis:
        writer.writerow(["municipality", r.digibank, r.municipality, r.adults, "", ""])
    return out.getvalue()
