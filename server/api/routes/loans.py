"""Loans: lend, return, extend, list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from server import loans as svc
from server.api.convert import loan_out
from server.api.deps import SessionDep, Staff
from server.api.schemas import MAX_ID, ExtendIn, LoanIn, LoanOut, PathId, ReturnIn
from server.models import Loan
from server.timeutil import local_today

router = APIRouter(prefix="/loans", tags=["loans"])


@router.post("", response_model=LoanOut, status_code=201, responses={409: {}})
def lend(body: LoanIn, session: SessionDep, who: Staff) -> LoanOut:
    """Lend a ready device to a pseudonymous borrower at a digipunt; the device goes on loan."""
    loan = svc.lend(session, actor=who.name, **body.model_dump())
    session.commit()
    return loan_out(loan)


@router.get("", response_model=list[LoanOut])
def list_loans(
    session: SessionDep,
    _: Staff,
    active: bool = True,
    overdue: bool = False,
    location_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    device_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=10**7)] = 0,
) -> list[LoanOut]:
    """Loans, overdue first then by due date (active ones unless active=false)."""
    stmt = select(Loan)
    if active:
        stmt = stmt.where(Loan.returned_at.is_(None))
    if overdue:
        stmt = stmt.where(Loan.returned_at.is_(None), Loan.due_date < local_today())
    if location_id:
        stmt = stmt.where(Loan.location_id == location_id)
    if device_id:
        stmt = stmt.where(Loan.device_id == device_id)
    stmt = stmt.order_by(Loan.due_date, Loan.id).limit(limit).offset(offset)
    return [loan_out(x) for x in session.scalars(stmt)]


@router.get("/count")
def count_loans(session: SessionDep, _: Staff) -> dict[str, int]:
    """Active and overdue loan counts."""
    active = session.scalar(select(func.count()).where(Loan.returned_at.is_(None))) or 0
    overdue = (
        session.scalar(
            select(func.count()).where(Loan.returned_at.is_(None), Loan.due_date < local_today())
        )
        or 0
    )
    return {"active": active, "overdue": overdue}


@router.get("/{loan_id}", response_model=LoanOut)
def get_loan(loan_id: PathId, session: SessionDep, _: Staff) -> LoanOut:
    """One loan."""
    return loan_out(svc.get_loan(session, loan_id))


@router.post("/{loan_id}/return", response_model=LoanOut, responses={409: {}})
def return_loan(loan_id: PathId, body: ReturnIn, session: SessionDep, who: Staff) -> LoanOut:
    """Take the device back; it moves to `returned` where it was brought."""
    loan = svc.return_loan(
        session,
        svc.get_loan(session, loan_id),
        actor=who.name,
        condition=body.condition,
        location_id=body.location_id,
    )
    session.commit()
    return loan_out(loan)


@router.post("/{loan_id}/extend", response_model=LoanOut, responses={409: {}})
def extend_loan(loan_id: PathId, body: ExtendIn, session: SessionDep, who: Staff) -> LoanOut:
    """Move the due date later."""
    loan = svc.extend_loan(
        session, svc.get_loan(session, loan_id), actor=who.name, due_date=body.due_date
    )
    session.commit()
    return loan_out(loan)
