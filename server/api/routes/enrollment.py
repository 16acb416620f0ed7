"""Enrollment: one-time codes for devices, the agent's trade of a code, revocation."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from server import enrollment
from server.api.deps import Manager, SessionDep, SettingsDep, StaffOrStation
from server.api.schemas import PathId
from server.core.db import writing
from server.devices import get_device

router = APIRouter(tags=["enrollment"])


class CodeOut(BaseModel):
    """A one-time enrollment code: shown once, never stored in clear."""

    device_id: int
    code: str = Field(description="Type it on the device: `digibank-agent enroll --code …`.")
    expires_at: datetime


class EnrollIn(BaseModel):
    """What the agent sends: the code, nothing else."""

    code: str = Field(min_length=1, max_length=enrollment.MAX_CODE_CHARS)


class EnrollOut(BaseModel):
    """The device's broker settings and its own account."""

    device_id: str = Field(description="The device's id in MQTT topics: str(Device.id).")
    mqtt_host: str
    mqtt_port: int
    mqtt_tls: bool
    mqtt_username: str
    mqtt_password: str
    mqtt_client_id: str = Field(description="The client id the broker binds to this account.")
    ca_cert: str | None = Field(description="PEM of the broker's CA when TLS uses the hub's own.")


class RevokeOut(BaseModel):
    """Whether a broker account was revoked (False: the device had none)."""

    device_id: int
    revoked: bool


@router.post(
    "/devices/{device_id}/enrollment",
    response_model=CodeOut,
    status_code=201,
    responses={404: {}, 409: {}},
)
def create_enrollment_code(
    device_id: PathId, session: SessionDep, settings: SettingsDep, who: StaffOrStation
) -> CodeOut:
    """A new one-time code for the device, valid `enrollment_code_ttl_minutes`."""
    device = get_device(writing(session), device_id)
    new = enrollment.create_code(
        session, device, actor=who.name, ttl_minutes=settings.enrollment_code_ttl_minutes
    )
    session.commit()
    return CodeOut(device_id=new.device_id, code=new.code, expires_at=new.expires_at)


@router.post("/enroll", response_model=EnrollOut, responses={403: {}, 409: {}, 429: {}, 503: {}})
def enroll(
    body: EnrollIn, request: Request, session: SessionDep, settings: SettingsDep
) -> EnrollOut:
    """Trade a one-time code for the device's MQTT account (no login: the code is the proof)."""
    address = request.client.host if request.client else "unknown"
    link = enrollment.broker_link(settings)
    result = enrollment.redeem_code(session, body.code, link, address=address)
    session.commit()
    return EnrollOut(**asdict(result))


@router.post("/devices/{device_id}/revoke", response_model=RevokeOut, responses={404: {}, 503: {}})
def revoke(
    device_id: PathId, session: SessionDep, settings: SettingsDep, who: Manager
) -> RevokeOut:
    """Delete the device's broker account: it is disconnected and cannot log in again."""
    device = get_device(writing(session), device_id)
    done = enrollment.revoke_with_settings(
        session, device, settings, actor=who.name, reason="revoked by a manager"
    )
    session.commit()
    return RevokeOut(device_id=device.id, revoked=done)
