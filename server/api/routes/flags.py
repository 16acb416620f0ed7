"""Flags raised by the rules: list, acknowledge, resolve."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy import case, func, select

from server import flags as flag_service
from server.api.convert import flag_out
from server.api.deps import SessionDep, Staff
from server.api.schemas import MAX_ID, FlagActionIn, FlagOut, FlagPage, PathId
from server.devices import locations_in_digibank
from server.errors import NotFound
from server.models import Device, Flag

router = APIRouter(prefix="/flags", tags=["flags"])


@router.get("", response_model=FlagPage)
def list_flags(
    session: SessionDep,
    _: Staff,
    kind: Literal["repair", "return"] | None = None,
    status: Literal["open", "acknowledged", "resolved", "unresolved"] = "unresolved",
    reason: Annotated[str | None, Query(max_length=64)] = None,
    digibank: Annotated[str | None, Query(max_length=64)] = None,
    device_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**7)] = 0,
) -> FlagPage:
    """Flags, most severe and oldest first; by default those not yet resolved."""
    stmt = select(Flag)
    if status == "unresolved":
        stmt = stmt.where(Flag.status != "resolved")
    else:
        stmt = stmt.where(Flag.status == status)
    if kind:
        stmt = stmt.where(Flag.kind == kind)
    if reason:
        stmt = stmt.where(Flag.reason == reason)
    if device_id:
        stmt = stmt.where(Flag.device_id == device_id)
    if digibank:
        in_bank = select(Device.id).where(Device.location_id.in_(locations_in_digibank(digibank)))
        stmt = stmt.where(Flag.device_id.in_(in_bank))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    severity_order = case({"critical": 0, "warning": 1, "info": 2}, value=Flag.severity, else_=3)
    rows = session.scalars(
        stmt.order_by(severity_order, Flag.opened_at, Flag.id).limit(limit).offset(offset)
    )
    return FlagPage(items=[flag_out(f) for f in rows], total=total, limit=limit, offset=offset)


def _get(session: SessionDep, flag_id: int) -> Flag:
    flag = session.get(Flag, flag_id)
    if flag is None:
        raise NotFound(f"flag {flag_id} not found")
    return flag


@router.post("/{flag_id}/ack", response_model=FlagOut, responses={409: {}})
def acknowledge(flag_id: PathId, body: FlagActionIn, session: SessionDep, who: Staff) -> FlagOut:
    """Acknowledge an open flag: someone is on it."""
    flag = flag_service.acknowledge(session, _get(session, flag_id), who.name, body.note)
    session.commit()
    return flag_out(flag)


@router.post("/{flag_id}/resolve", response_model=FlagOut, responses={409: {}})
def resolve(flag_id: PathId, body: FlagActionIn, session: SessionDep, who: Staff) -> FlagOut:
    """Resolve a flag with a note."""
    flag = flag_service.resolve(session, _get(session, flag_id), who.name, body.note)
    session.commit()
    return flag_out(flag)
