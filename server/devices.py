"""Devices: intake with a printable asset tag, search, station results and history."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Executable, Row, Select, String, bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.errors import InvalidInput, NotFound
from server.models import (
    ConditionRecord,
    DestructionRecord,
    Device,
    DeviceEvent,
    Digibank,
    JobResult,
    Location,
    Municipality,
)
from server.timeutil import utcnow

# Crockford base32 without I, L, O, U: nothing a technician can misread on a label.
_TAG_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_asset_tag() -> str:
    """A random printable asset tag like DB-4F7K-2M9Q, with a check character at the end."""
    body = "".join(secrets.choice(_TAG_ALPHABET) for _ in range(7))
    check = _TAG_ALPHABET[sum((i + 1) * _TAG_ALPHABET.index(c) for i, c in enumerate(body)) % 32]
    code = body + check
    return f"DB-{code[:4]}-{code[4:]}"


def hub(session: Session) -> Location:
    """The hub location (created by seed-region, or on first need)."""
    loc = session.scalar(select(Location).where(Location.kind == "hub").limit(1))
    if loc is None:
        loc = Location(kind="hub", name="Hub")
        session.add(loc)
        session.flush()
    return loc


def get_device(session: Session, device_id: int) -> Device:
    """The device with this id, or NotFound."""
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound(f"device {device_id} not found")
    return device


def get_location(session: Session, location_id: int) -> Location:
    """The location with this id, or NotFound."""
    loc = session.get(Location, location_id)
    if loc is None:
        raise NotFound(f"location {location_id} not found")
    return loc


def create_device(
    session: Session, *, actor: str, location_id: int | None, **fields: Any
) -> Device:
    """Take a device in: state `intake`, a fresh asset tag, an audit event."""
    location = get_location(session, location_id) if location_id else hub(session)
    for _attempt in range(5):
        device = Device(
            asset_tag=new_asset_tag(), state="intake", location_id=location.id, **fields
        )
        try:
            with session.begin_nested():
                session.add(device)
                session.flush()
            break
        except IntegrityError:  # an asset tag collision: draw again
            continue
    else:
        raise InvalidInput("could not allocate a unique asset tag")
    session.add(
        DeviceEvent(
            device_id=device.id, actor=actor, kind="intake", to_state="intake", reason="intake"
        )
    )
    return device


def locations_in_digibank(name: str) -> Select[int]:
    """The ids of the locations in a digibank (by name, any case)."""
    return (
        select(Location.id)
        .join(Municipality, Location.municipality_id == Municipality.id)
        .join(Digibank, Municipality.digibank_id == Digibank.id)
        .where(func.lower(Digibank.name) == name.lower())
    )


@dataclass(frozen=True)
class DeviceFilter:
    """Filters of the device list."""

    state: str | None = None
    kind: str | None = None
    location_id: int | None = None
    digibank: str | None = None
    q: str | None = None

    def params(self) -> dict[str, Any]:
        """The values of the filters that are set, as bound parameters of `_list_statements`."""
        out: dict[str, Any] = {}
        if self.state:
            out["state"] = self.state
        if self.kind:
            out["kind"] = self.kind
        if self.location_id:
            out["location_id"] = self.location_id
        if self.digibank:
            out["digibank"] = self.digibank.lower()
        if self.q:
            out["like"] = f"%{self.q.lower()}%"
        return out


# What a row of the device list shows: the device's own columns and its place's names.
LIST_COLUMNS = (
    Device.id,
    Device.asset_tag,
    Device.kind,
    Device.make,
    Device.model,
    Device.serial,
    Device.cpu,
    Device.ram_gb,
    Device.storage_gb,
    Device.state,
    Device.location_id,
    Location.name.label("location_name"),
    Digibank.name.label("digibank"),
    Device.grade,
    Device.created_at,
    Device.updated_at,
    Device.last_seen_at,
)


def _where(names: frozenset[str]) -> list[ColumnElement[bool]]:
    """The conditions of the filters in `names`, on bound parameters of the same names."""
    conditions: list[ColumnElement[bool]] = []
    if "state" in names:
        conditions.append(Device.state == bindparam("state"))
    if "kind" in names:
        conditions.append(Device.kind == bindparam("kind"))
    if "location_id" in names:
        conditions.append(Device.location_id == bindparam("location_id"))
    if "digibank" in names:
        in_bank = (
            select(Location.id)
            .join(Municipality, Location.municipality_id == Municipality.id)
            .join(Digibank, Municipality.digibank_id == Digibank.id)
            .where(func.lower(Digibank.name) == bindparam("digibank"))
        )
        conditions.append(Device.location_id.in_(in_bank))
    if "like" in names:
        like = bindparam("like", type_=String)
        conditions.append(
            or_(
                func.lower(Device.serial).like(like),
                func.lower(Device.asset_tag).like(like),
                func.lower(Device.model).like(like),
            )
        )
    return conditions


@functools.lru_cache(maxsize=64)
def _list_statements(names: frozenset[str]) -> tuple[Executable, Executable]:
    """The count and the page statement for one combination of filters, built once.

    Building a statement costs more than SQLite takes to run it; the values come as bound
    parameters.
    """
    conditions = _where(names)
    count = select(func.count()).select_from(Device).where(*conditions)
    page = (
        select(*LIST_COLUMNS)
        .join(Location, Location.id == Device.location_id)
        .outerjoin(Municipality, Municipality.id == Location.municipality_id)
        .outerjoin(Digibank, Digibank.id == Municipality.digibank_id)
        .where(*conditions)
        .order_by(Device.id.desc())
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    return count, page


def list_devices(
    session: Session, f: DeviceFilter, limit: int, offset: int
) -> tuple[list[Row[Any]], int]:
    """One page of devices, newest first, as rows of LIST_COLUMNS, and the total matching.

    Rows, not Device objects: a page of 50 through the ORM (device, place, municipality and
    digibank objects each) cost several times the query itself.
    """
    params = f.params()
    count, page = _list_statements(frozenset(params))
    # Two queries on purpose: a window count would make SQLite materialise and sort every
    # matching row instead of walking the primary key backwards to the page.
    total = session.scalar(count, params) or 0
    rows = session.execute(page, {**params, "limit": limit, "offset": offset}).all()
    return list(rows), total


def record_job(session: Session, device: Device, *, actor: str, **fields: Any) -> JobResult:
    """Store a station's wipe or diagnostics result, with an audit event."""
    job = JobResult(device_id=device.id, recorded_by=actor, recorded_at=utcnow(), **fields)
    session.add(job)
    session.flush()
    session.add(
        DeviceEvent(
            device_id=device.id,
            actor=actor,
            kind=f"job:{job.kind}",
            reason=f"{job.kind} {job.status}" + (f" ({job.method})" if job.method else ""),
        )
    )
    return job


def record_condition(
    session: Session, device: Device, *, actor: str, **fields: Any
) -> ConditionRecord:
    """Store a condition record and take its grades as the device's grade."""
    fields.setdefault("technician", None)
    if not fields["technician"]:
        fields["technician"] = actor
    record = ConditionRecord(device_id=device.id, recorded_at=utcnow(), **fields)
    session.add(record)
    device.grade = f"{record.cosmetic_grade}{record.functional_grade}"
    session.add(
        DeviceEvent(
            device_id=device.id,
            actor=actor,
            kind="condition",
            reason=f"graded cosmetic {record.cosmetic_grade}, functional {record.functional_grade}",
        )
    )
    session.flush()
    return record


def record_destruction(
    session: Session,
    device: Device,
    *,
    actor: str,
    method: str,
    reference: str | None,
    destroyed_at: datetime,
) -> DestructionRecord:
    """Record that the device's storage was physically destroyed."""
    rec = DestructionRecord(
        device_id=device.id,
        method=method,
        reference=reference,
        performed_by=actor,
        destroyed_at=destroyed_at,
    )
    session.add(rec)
    session.add(DeviceEvent(device_id=device.id, actor=actor, kind="destruction", reason=method))
    session.flush()
    return rec


def move_device(
    session: Session, device: Device, location: Location, *, actor: str, reason: str | None
) -> None:
    """Change where a device is (state is separate), with an audit event."""
    if device.state == "on_loan":
        raise InvalidInput("a device on loan is with its borrower; return the loan to move it")
    old = device.location.name if device.location else str(device.location_id)
    device.location_id = location.id
    session.add(
        DeviceEvent(
            device_id=device.id,
            actor=actor,
            kind="move",
            reason=f"{old} -> {location.name}" + (f": {reason}" if reason else ""),
        )
    )
