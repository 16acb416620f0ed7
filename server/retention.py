"""GDPR retention: erase a borrower's reference a set time after their last return."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from server.models import Borrower, Loan
from server.timeutil import utcnow


def erase_expired_borrowers(
    session: Session, retention_days: int, now: datetime | None = None
) -> int:
    """Null the reference of borrowers whose last return is older than the retention period.

    A borrower with a loan still running keeps the reference. The row stays (adult, digibank),
    so reach figures do not change. Returns how many references were erased.
    """
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    active = exists(
        select(Loan.id).where(Loan.borrower_id == Borrower.id, Loan.returned_at.is_(None))
    )
    result = session.execute(
        update(Borrower)
        .where(
            Borrower.ref.is_not(None),
            Borrower.last_return_at.is_not(None),
            Borrower.last_return_at < cutoff,
            ~active,
        )
        .values(ref=None, erased_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
