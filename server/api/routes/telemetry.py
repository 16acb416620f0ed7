"""Telemetry: ingest counts, a device's stored health reports, commands to a device's agent."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from agent.report import Command, ReportError
from server.api.deps import SessionDep, SettingsDep, Staff
from server.api.schemas import PathId
from server.commands import publish_command
from server.core.db import writing
from server.devices import get_device
from server.errors import Conflict, InvalidInput
from server.ingest_batch import DROP_REASONS
from server.models import DeviceEvent, HealthReportRow, IngestCounter
from server.presence import PresenceRules, presence, presence_counts
from server.timeutil import utcnow

router = APIRouter(tags=["telemetry"])


class IngestStats(BaseModel):
    """Ingest counts summed over every ingest process, and this process's services."""

    stored: int
    duplicates: int
    dropped: dict[str, int]
    devices_by_presence: dict[str, int]
    services: dict[str, dict[str, Any]]


class HealthItem(BaseModel):
    """One stored health report."""

    seq: int
    measured_at: datetime
    received_at: datetime
    report: dict[str, Any]


class HealthPage(BaseModel):
    """A device's reports, newest first; pass `next_before_seq` as `before_seq` for more."""

    device_id: int
    presence: str
    last_seen_at: datetime | None
    items: list[HealthItem]
    next_before_seq: int | None


class CommandIn(BaseModel):
    """A command for the device's agent (the wire contract validates it again)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["set_interval", "report_now", "notify"]
    interval_s: int | None = Field(None, description="For set_interval: 60 s to 7 days.")
    title: str | None = Field(None, max_length=100, description="For notify.")
    message: str | None = Field(None, max_length=500, description="For notify.")


class CommandOut(BaseModel):
    """What was sent, to which device."""

    device_id: int
    sent: dict[str, Any]


@router.get("/ingest/stats", response_model=IngestStats)
def ingest_stats(
    request: Request, session: SessionDep, settings: SettingsDep, _: Staff
) -> IngestStats:
    """Reports stored, duplicates skipped and drops by reason, over all ingest processes."""
    counts = dict(session.execute(select(IngestCounter.name, IngestCounter.count)).tuples().all())
    dropped = {reason: counts.get(f"dropped.{reason}", 0) for reason in DROP_REASONS}
    dropped.update(
        {k.removeprefix("dropped."): v for k, v in counts.items() if k.startswith("dropped.")}
    )
    services = {s.name: s.health() for s in getattr(request.app.state, "services", [])}
    return IngestStats(
        stored=counts.get("stored", 0),
        duplicates=counts.get("duplicate", 0),
        dropped=dropped,
        devices_by_presence=presence_counts(
            session, PresenceRules.from_settings(settings), utcnow()
        ),
        services=services,
    )


@router.get("/devices/{device_id}/health", response_model=HealthPage)
def device_health(
    device_id: PathId,
    session: SessionDep,
    settings: SettingsDep,
    _: Staff,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_seq: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
) -> HealthPage:
    """The device's stored health reports, newest (highest sequence) first."""
    device = get_device(session, device_id)
    stmt = select(HealthReportRow).where(HealthReportRow.device_id == device.id)
    if before_seq is not None:
        stmt = stmt.where(HealthReportRow.seq < before_seq)
    rows = session.scalars(stmt.order_by(HealthReportRow.seq.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    state = presence(
        device.last_seen_at,
        device.report_interval_s,
        utcnow(),
        PresenceRules.from_settings(settings),
    )
    return HealthPage(
        device_id=device.id,
        presence=state,
        last_seen_at=device.last_seen_at,
        items=[
            HealthItem(
                seq=r.seq, measured_at=r.measured_at, received_at=r.received_at, report=r.payload
            )
            for r in rows
        ],
        next_before_seq=rows[-1].seq if more and rows else None,
    )


@router.post(
    "/devices/{device_id}/commands",
    response_model=CommandOut,
    status_code=202,
    responses={409: {}, 503: {}},
)
def send_command(
    device_id: PathId, body: CommandIn, session: SessionDep, settings: SettingsDep, who: Staff
) -> CommandOut:
    """Send a command to the device's agent now (e.g. a return reminder on a manager's request)."""
    device = get_device(writing(session), device_id)
    if device.state == "retired":
        raise Conflict(f"device {device.id} is retired: its agent no longer listens")
    try:
        command = Command.from_json(json.dumps(body.model_dump(exclude_none=True)))
    except ReportError as exc:
        raise InvalidInput(str(exc)) from None
    publish_command(settings, device.id, command)
    session.add(
        DeviceEvent(
            device_id=device.id,
            at=utcnow(),
            actor=who.name,
            kind="command",
            reason=f"sent {command.type}",
        )
    )
    session.commit()
    return CommandOut(device_id=device.id, sent=json.loads(command.to_json()))
