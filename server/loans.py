"""Loans: lend a ready device to a pseudonymous borrower, return it, extend it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server import lifecycle
from server.devices import get_device, get_location
from server.errors import Conflict, InvalidInput, NotFound
from server.models import Borrower, Device, DeviceEvent, Loan, Location, Municipality, ReachFact
from server.timeutil import local_today, utcnow


def get_loan(session: Session, loan_id: int) -> Loan:
    """The loan with this id, or NotFound."""
    loan = session.get(Loan, loan_id)
    if loan is None:
        raise NotFound(f"loan {loan_id} not found")
    return loan


def _digipunt(session: Session, location_id: int) -> Location:
    loc = get_location(session, location_id)
    if loc.kind != "digipunt" or loc.municipality is None:
        raise InvalidInput(f"location {location_id} ({loc.name}) is not a digipunt")
    return loc


def _borrower(session: Session, ref: str, adult: bool, digibank_id: int) -> Borrower:
    borrower = session.scalar(select(Borrower).where(Borrower.ref == ref))
    if borrower is None:
        borrower = Borrower(ref=ref, adult=adult, digibank_id=digibank_id)
        session.add(borrower)
        session.flush()
    elif borrower.adult != adult:
        # A borrower can come of age; the latest answer counts, in the reach facts too.
        borrower.adult = adult
        session.execute(
            update(ReachFact).where(ReachFact.borrower_id == borrower.id).values(adult=adult)
        )
    return borrower


def _record_reach(session: Session, borrower: Borrower, municipality: Municipality) -> None:
    """Remember that this borrower was reached in this municipality (once)."""
    if session.get(ReachFact, (borrower.id, municipality.id)) is not None:
        return
    fact = ReachFact(
        borrower_id=borrower.id,
        municipality_id=municipality.id,
        digibank_id=municipality.digibank_id,
        adult=borrower.adult,
        first_loan_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(fact)
    except IntegrityError:
        pass  # a concurrent loan of the same borrower here recorded it first


def lend(
    session: Session,
    *,
    device_id: int,
    borrower_ref: str,
    borrower_adult: bool,
    location_id: int,
    due_date: date,
    actor: str,
) -> Loan:
    """Lend a ready device; the device moves to `on_loan` at the digipunt."""
    if due_date < local_today():
        raise InvalidInput("due_date: must not be in the past")
    # Lock the device row so that two concurrent loans of it serialise (PostgreSQL);
    # SQLite serialises writers itself, and the partial unique index backs both.
    locked = session.scalar(select(Device.id).where(Device.id == device_id).with_for_update())
    device = session.get(Device, locked) if locked is not None else None
    if device is None:
        raise NotFound(f"device {device_id} not found")
    if device.state != "ready":
        raise Conflict(
            f"device {device.asset_tag} is {device.state}, only a ready device can be lent"
        )
    location = _digipunt(session, location_id)
    municipality = location.municipality
    assert municipality is not None
    borrower = _borrower(session, borrower_ref, borrower_adult, municipality.digibank_id)
    loan = Loan(
        device_id=device.id,
        borrower_id=borrower.id,
        location_id=location.id,
        due_date=due_date,
        started_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(loan)
            session.flush()
    except IntegrityError:
        raise Conflict(f"device {device.asset_tag} is already on loan") from None
    lifecycle.transition(
        session, device, "on_loan", actor=actor, reason=f"loan {loan.id}", via_loan=True
    )
    _record_reach(session, borrower, municipality)
    device.location_id = location.id
    return loan


def return_loan(
    session: Session,
    loan: Loan,
    *,
    actor: str,
    condition: str | None = None,
    location_id: int | None = None,
) -> Loan:
    """Take a device back; it moves to `returned` at the digipunt (or hub) it came back to."""
    if loan.returned_at is not None:
        raise Conflict(f"loan {loan.id} was already returned")
    location = get_location(session, location_id) if location_id else loan.location
    now = utcnow()
    loan.returned_at = now
    loan.return_location_id = location.id
    loan.return_condition = condition
    loan.borrower.last_return_at = now
    device = get_device(session, loan.device_id)
    lifecycle.transition(
        session, device, "returned", actor=actor, reason=f"loan {loan.id} returned", via_loan=True
    )
    device.location_id = location.id
    return loan


def extend_loan(session: Session, loan: Loan, *, actor: str, due_date: date) -> Loan:
    """Move a loan's due date later."""
    if loan.returned_at is not None:
        raise Conflict(f"loan {loan.id} was already returned")
    if due_date <= loan.due_date:
        raise InvalidInput(f"due_date: must be after the current due date {loan.due_date}")
    old = loan.due_date
    loan.due_date = due_date
    loan.extended_count += 1
    loan.reminded_at = None
    session.add(
        DeviceEvent(
            device_id=loan.device_id,
            actor=actor,
            kind="loan_extended",
            reason=f"loan {loan.id}: due {old} -> {due_date}",
        )
    )
    return loan


def is_overdue(loan: Loan, today: date | None = None) -> bool:
    """Whether an active loan is past its due date."""
    return loan.returned_at is None and loan.due_date < (today or local_today())
