"""Model rows to API bodies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server import lifecycle
from server.api.schemas import (
    ConditionOut,
    DeviceDetail,
    DeviceOut,
    EventOut,
    FlagOut,
    JobOut,
    LoanOut,
    LocationOut,
    Specs,
)
from server.loans import is_overdue
from server.models import ConditionRecord, Device, DeviceEvent, Flag, JobResult, Loan, Location


def location_out(loc: Location) -> LocationOut:
    """A location with its municipality and digibank names."""
    muni = loc.municipality
    return LocationOut(
        id=loc.id,
        kind=loc.kind,
        name=loc.name,
        municipality=muni.name if muni else None,
        digibank=muni.digibank.name if muni else None,
        address=loc.address,
    )


def device_out(d: Device) -> DeviceOut:
    """A device's identity, state and place."""
    muni = d.location.municipality
    return DeviceOut(
        id=d.id,
        asset_tag=d.asset_tag,
        kind=d.kind,
        make=d.make,
        model=d.model,
        serial=d.serial,
        specs=Specs(cpu=d.cpu, ram_gb=d.ram_gb, storage_gb=d.storage_gb),
        state=d.state,
        location_id=d.location_id,
        location_name=d.location.name,
        digibank=muni.digibank.name if muni else None,
        grade=d.grade,
        created_at=d.created_at,
        updated_at=d.updated_at,
        last_seen_at=d.last_seen_at,
    )


def device_row_fields(r: Sequence[Any]) -> dict[str, Any]:
    """DeviceOut's fields from a row of `server.devices.LIST_COLUMNS`, in that order.

    Unpacked by position: `Row._asdict` and a pydantic validation of every page were a fifth
    of the list's server time. The values come typed from the database's columns, and
    tests/server/test_device_list.py checks each page against DeviceOut.
    """
    (id_, tag, kind, make, model, serial, cpu, ram, storage, state, location_id,
     location_name, digibank, grade, created_at, updated_at, last_seen_at) = r  # fmt: skip
    return {
        "id": id_,
        "asset_tag": tag,
        "kind": kind,
        "make": make,
        "model": model,
        "serial": serial,
        "specs": {"cpu": cpu, "ram_gb": ram, "storage_gb": storage},
        "state": state,
        "location_id": location_id,
        "location_name": location_name,
        "digibank": digibank,
        "grade": grade,
        "created_at": created_at,
        "updated_at": updated_at,
        "last_seen_at": last_seen_at,
    }


def loan_out(loan: Loan) -> LoanOut:
    """A loan, pseudonymous."""
    return LoanOut(
        id=loan.id,
        device_id=loan.device_id,
        asset_tag=loan.device.asset_tag,
        borrower_ref=loan.borrower.ref,
        borrower_adult=loan.borrower.adult,
        location_id=loan.location_id,
        location_name=loan.location.name,
        started_at=loan.started_at,
        due_date=loan.due_date,
        extended_count=loan.extended_count,
        returned_at=loan.returned_at,
        return_location_id=loan.return_location_id,
        return_condition=loan.return_condition,
        overdue=is_overdue(loan),
    )


def flag_out(f: Flag) -> FlagOut:
    """A flag with its device's asset tag."""
    return FlagOut(
        id=f.id,
        device_id=f.device_id,
        asset_tag=f.device.asset_tag,
        kind=f.kind,
        reason=f.reason,
        severity=f.severity,
        evidence=f.evidence,
        status=f.status,
        opened_at=f.opened_at,
        acknowledged_at=f.acknowledged_at,
        acknowledged_by=f.acknowledged_by,
        resolved_at=f.resolved_at,
        resolved_by=f.resolved_by,
        note=f.note,
    )


def device_detail(session: Session, d: Device) -> DeviceDetail:
    """A device with its whole history."""
    events = session.scalars(
        select(DeviceEvent).where(DeviceEvent.device_id == d.id).order_by(DeviceEvent.id)
    )
    jobs = session.scalars(
        select(JobResult).where(JobResult.device_id == d.id).order_by(JobResult.id)
    )
    conds = session.scalars(
        select(ConditionRecord)
        .where(ConditionRecord.device_id == d.id)
        .order_by(ConditionRecord.id)
    )
    loans = [
        loan_out(x)
        for x in session.scalars(select(Loan).where(Loan.device_id == d.id).order_by(Loan.id))
    ]
    flags = session.scalars(
        select(Flag).where(Flag.device_id == d.id, Flag.status != "resolved").order_by(Flag.id)
    )
    return DeviceDetail(
        **device_out(d).model_dump(),
        events=[EventOut.model_validate(e, from_attributes=True) for e in events],
        jobs=[JobOut.model_validate(j, from_attributes=True) for j in jobs],
        conditions=[ConditionOut.model_validate(c, from_attributes=True) for c in conds],
        loans=loans,
        current_loan=next((x for x in loans if x.returned_at is None), None),
        open_flags=[flag_out(f).model_dump(mode="json") for f in flags],
        allowed_transitions=lifecycle.allowed_from(d.state),
    )
