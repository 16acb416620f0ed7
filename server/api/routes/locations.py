"""Locations: the hub and the digipunten, with municipality and digibank."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from sqlalchemy import select

from server.api.convert import location_out
from server.api.deps import Manager, SessionDep, StaffOrStation
from server.api.schemas import LocationIn, LocationOut
from server.errors import Conflict, NotFound
from server.models import Location, Municipality

router = APIRouter(prefix="/locations", tags=["locations"])


@router.get("", response_model=list[LocationOut])
def list_locations(
    session: SessionDep, _: StaffOrStation, kind: Literal["hub", "digipunt"] | None = None
) -> list[LocationOut]:
    """The hub and every digipunt."""
    stmt = select(Location).order_by(Location.kind.desc(), Location.name)
    if kind:
        stmt = stmt.where(Location.kind == kind)
    return [location_out(x) for x in session.scalars(stmt)]


@router.post("", response_model=LocationOut, status_code=201)
def create_digipunt(body: LocationIn, session: SessionDep, _: Manager) -> LocationOut:
    """Open a new digipunt in a municipality of the region."""
    muni = session.scalar(select(Municipality).where(Municipality.name == body.municipality))
    if muni is None:
        raise NotFound(f"municipality {body.municipality!r} is not in the region (seed-region)")
    if session.scalar(select(Location.id).where(Location.name == body.name)):
        raise Conflict(f"a location named {body.name!r} exists")
    loc = Location(kind="digipunt", name=body.name, municipality_id=muni.id, address=body.address)
    session.add(loc)
    session.commit()
    session.refresh(loc)
    return location_out(loc)
