"""Reach: distinct adult borrowers per digibank and municipality, against the target."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import Connection, delete, distinct, false, func, literal, select, text, union_all
from sqlalchemy.orm import Session

from server.models import Borrower, Digibank, Loan, Location, Municipality, ReachFact
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
    leaves the figures unchanged. Without a period the counts come from the reach facts
    kept at lending (an index-only count); with one, from the loans themselves.
    """
    if since is None and until is None:
        per_muni, per_bank = _from_facts(session)
    else:
        per_muni, per_bank = _from_loans(session, since, until)
    bank_rows = [
        ReachFigure(name, None, per_bank.get(bank_id, 0), target)
        for bank_id, name in session.execute(
            select(Digibank.id, Digibank.name).order_by(Digibank.name)
        )
    ]
    muni_rows = [
        ReachFigure(bank, name, per_muni.get(muni_id, 0), None)
        for muni_id, bank, name in session.execute(
            select(Municipality.id, Digibank.name, Municipality.name)
            .join(Digibank, Municipality.digibank_id == Digibank.id)
            .order_by(Digibank.name, Municipality.name)
        )
    ]
    return bank_rows, muni_rows


def _from_facts(session: Session) -> tuple[dict[int, int], dict[int, int]]:
    """Adults reached per municipality id and per digibank id, from the reach facts."""
    adult = ReachFact.adult.is_(True)
    per_muni_stmt = (
        select(ReachFact.municipality_id, func.count())
        .where(adult)
        .group_by(ReachFact.municipality_id)
    )
    per_bank_stmt = (
        select(ReachFact.digibank_id, func.count(distinct(ReachFact.borrower_id)))
        .where(adult)
        .group_by(ReachFact.digibank_id)
    )
    per_muni = {m: n for m, n in session.execute(per_muni_stmt)}
    per_bank = {b: n for b, n in session.execute(per_bank_stmt)}
    return per_muni, per_bank


def _from_loans(
    session: Session, since: date | None, until: date | None
) -> tuple[dict[int, int], dict[int, int]]:
    """Adults reached per municipality id and per digibank id, by loans begun in a period."""
    # Who was reached where, once; both counts read it (a CTE used twice is materialised).
    reached = (
        select(Municipality.digibank_id, Location.municipality_id, Loan.borrower_id)
        .distinct()
        .select_from(Loan)
        .join(Borrower, Loan.borrower_id == Borrower.id)
        .join(Location, Loan.location_id == Location.id)
        .join(Municipality, Location.municipality_id == Municipality.id)
        # "!= false", not "IS true" or "= true": SQLite then starts from the few places and
        # reads the loans index (place, borrower, start) alone, instead of visiting the
        # borrowers first and every loan's row after (twice as slow, measured).
        .where(Borrower.adult != false())
    )
    if since:
        reached = reached.where(Loan.started_at >= datetime.combine(since, time(), BRUSSELS))
    if until:
        reached = reached.where(Loan.started_at < datetime.combine(until, time(), BRUSSELS))
    r = reached.cte("reached")
    per_muni_stmt = select(r.c.digibank_id, r.c.municipality_id, func.count()).group_by(
        r.c.digibank_id, r.c.municipality_id
    )
    per_bank_stmt = select(
        r.c.digibank_id,
        literal(None).label("municipality_id"),
        func.count(distinct(r.c.borrower_id)),
    ).group_by(r.c.digibank_id)
    per_muni: dict[int, int] = {}
    per_bank: dict[int, int] = {}
    for bank_id, muni_id, n in session.execute(union_all(per_muni_stmt, per_bank_stmt)):
        if muni_id is None:
            per_bank[bank_id] = n
        else:
            per_muni[muni_id] = n
    return per_muni, per_bank


REBUILD_FACTS = """
INSERT INTO reach_facts (borrower_id, municipality_id, digibank_id, adult, first_loan_at)
SELECT lo.borrower_id, l.municipality_id, m.digibank_id, b.adult, min(lo.started_at)
FROM loans lo
JOIN borrowers b ON b.id = lo.borrower_id
JOIN locations l ON l.id = lo.location_id
JOIN municipalities m ON m.id = l.municipality_id
GROUP BY lo.borrower_id, l.municipality_id, m.digibank_id, b.adult
"""


def rebuild_facts(conn: Session | Connection) -> None:
    """Recompute the reach facts from the loans (after loans were written in bulk, not lent)."""
    conn.execute(delete(ReachFact))
    conn.execute(text(REBUILD_FACTS))


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
