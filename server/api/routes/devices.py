"""Devices: intake, search, history, lifecycle transitions, station results."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from server import devices as svc
from server import enrollment, lifecycle
from server.api.convert import device_detail, device_out, device_row_fields
from server.api.deps import (
    STAFF_OR_STATION,
    SessionDep,
    SettingsDep,
    Staff,
    StaffOrStation,
    oauth2_scheme,
    read_in_one_trip,
)
from server.api.schemas import (
    MAX_ID,
    ConditionIn,
    ConditionOut,
    DestructionIn,
    DeviceDetail,
    DeviceIn,
    DeviceOut,
    DevicePage,
    DeviceUpdate,
    EventOut,
    JobIn,
    JobOut,
    MoveIn,
    PathId,
    State,
    TransitionIn,
)
from server.models import ConditionRecord, JobResult
from server.security import Principal

router = APIRouter(prefix="/devices", tags=["devices"])


@router.post("", response_model=DeviceOut, status_code=201)
def create_device(body: DeviceIn, session: SessionDep, who: StaffOrStation) -> DeviceOut:
    """Take a device in: it gets an asset tag and state `intake`, at the hub unless told."""
    device = svc.create_device(
        session,
        actor=who.name,
        location_id=body.location_id,
        kind=body.kind,
        make=body.make,
        model=body.model,
        serial=body.serial,
        cpu=body.specs.cpu,
        ram_gb=body.specs.ram_gb,
        storage_gb=body.specs.storage_gb,
    )
    session.commit()
    return device_out(device)


@router.get("", response_model=DevicePage)
async def list_devices(
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    state: State | None = None,
    kind: Literal["laptop", "tablet"] | None = None,
    location_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    digibank: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[
        str | None, Query(max_length=128, description="serial, asset tag or model")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**7)] = 0,
) -> Response:
    """Devices matching the filters, newest first, one page at a time."""
    f = svc.DeviceFilter(state=state, kind=kind, location_id=location_id, digibank=digibank, q=q)

    def work(session: Session, _: Principal) -> Response:
        rows, total = svc.list_devices(session, f, limit, offset)
        # Encoded as is (msgspec writes datetimes and floats as pydantic does), not validated
        # again against response_model: the rows are typed by their columns.
        items = [device_row_fields(r) for r in rows]
        page = {"items": items, "total": total, "limit": limit, "offset": offset}
        return Response(msgspec.json.encode(page), media_type="application/json")

    return await read_in_one_trip(request, token, STAFF_OR_STATION, work)


@router.get("/{device_id}", response_model=DeviceDetail)
def get_device(device_id: PathId, session: SessionDep, _: StaffOrStation) -> DeviceDetail:
    """One device with its history: events, jobs, condition records, loans, open flags."""
    return device_detail(session, svc.get_device(session, device_id))


@router.patch("/{device_id}", response_model=DeviceOut)
def update_device(
    device_id: PathId, body: DeviceUpdate, session: SessionDep, _: StaffOrStation
) -> DeviceOut:
    """Correct a device's identity or specs, or set its grade."""
    device = svc.get_device(session, device_id)
    for name in ("make", "model", "serial", "grade"):
        value = getattr(body, name)
        if value is not None:
            setattr(device, name, value)
    if body.specs is not None:
        for name, value in body.specs.model_dump(exclude_none=True).items():
            setattr(device, name, value)
    session.commit()
    return device_out(device)


@router.post("/{device_id}/transition", response_model=EventOut, responses={409: {}})
def transition(
    device_id: PathId,
    body: TransitionIn,
    session: SessionDep,
    settings: SettingsDep,
    who: StaffOrStation,
) -> EventOut:
    """Move the device along its lifecycle; 409 names the allowed states when refused."""
    device = svc.get_device(session, device_id)
    event = lifecycle.transition(session, device, body.to, actor=who.name, reason=body.reason)
    if body.to == "retired":
        # A retired device must not keep a working broker account: revoke before committing
        # (a broker that cannot be reached makes this a 503 and nothing changes).
        enrollment.revoke_with_settings(session, device, settings, actor=who.name, reason="retired")
    session.commit()
    return EventOut.model_validate(event, from_attributes=True)


@router.post("/{device_id}/move", response_model=DeviceOut)
def move(device_id: PathId, body: MoveIn, session: SessionDep, who: Staff) -> DeviceOut:
    """Change where the device is (the hub or a digipunt)."""
    device = svc.get_device(session, device_id)
    svc.move_device(
        session,
        device,
        svc.get_location(session, body.location_id),
        actor=who.name,
        reason=body.reason,
    )
    session.commit()
    session.refresh(device)
    return device_out(device)


@router.post("/{device_id}/jobs", response_model=JobOut, status_code=201)
def post_job(device_id: PathId, body: JobIn, session: SessionDep, who: StaffOrStation) -> JobResult:
    """Record a station's wipe or diagnostics result (with the certificate for a wipe)."""
    device = svc.get_device(session, device_id)
    job = svc.record_job(session, device, actor=who.name, **body.model_dump())
    session.commit()
    return job


@router.get("/{device_id}/jobs", response_model=list[JobOut])
def list_jobs(device_id: PathId, session: SessionDep, _: StaffOrStation) -> list[JobOut]:
    """The device's wipe and diagnostics results, oldest first."""
    return device_detail(session, svc.get_device(session, device_id)).jobs


@router.post("/{device_id}/conditions", response_model=ConditionOut, status_code=201)
def post_condition(
    device_id: PathId, body: ConditionIn, session: SessionDep, who: StaffOrStation
) -> ConditionRecord:
    """Record the device's condition: cosmetic, functional and battery grades, checklist, notes."""
    device = svc.get_device(session, device_id)
    record = svc.record_condition(session, device, actor=who.name, **body.model_dump())
    session.commit()
    return record


@router.post("/{device_id}/destruction", status_code=201)
def post_destruction(
    device_id: PathId, body: DestructionIn, session: SessionDep, who: Staff
) -> dict[str, int]:
    """Record that the device's storage was physically destroyed (allows retiring it)."""
    device = svc.get_device(session, device_id)
    rec = svc.record_destruction(
        session,
        device,
        actor=who.name,
        method=body.method,
        reference=body.reference,
        destroyed_at=body.destroyed_at,
    )
    session.commit()
    return {"id": rec.id}
