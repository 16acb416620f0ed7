"""Request and response bodies of the API; every input is bounded so bad input is a 4xx."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Path as FastAPIPath
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from server.timeutil import utcnow

MAX_ID = 2**31 - 1


def _printable(value: str) -> str:
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise ValueError("must not contain control characters")
    return value


def _json_size(value: dict[str, Any]) -> dict[str, Any]:
    import json

    try:
        encoded = json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not JSON-serialisable: {exc}") from None
    if len(encoded) > 64 * 1024:
        raise ValueError("larger than 64 KiB")
    if "\\u0000" in encoded:
        raise ValueError("must not contain NUL characters")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a UTC offset (e.g. 2026-01-31T10:00:00Z)")
    if not 2000 <= value.year <= 2200:
        raise ValueError("year must be between 2000 and 2200")
    return value


def _sane_date(value: date) -> date:
    if not 2000 <= value.year <= 2200:
        raise ValueError("year must be between 2000 and 2200")
    return value


Str64 = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_printable)]
Str128 = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_printable)]
Text = Annotated[str, Field(max_length=4000), AfterValidator(_printable)]
Json = Annotated[dict[str, Any], AfterValidator(_json_size)]
AwareTime = Annotated[datetime, AfterValidator(_aware)]
SaneDate = Annotated[date, AfterValidator(_sane_date)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
State = Literal["intake", "refurbishing", "repair", "ready", "on_loan", "returned", "retired"]
Grade = Literal["A", "B", "C", "D", "E"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- auth and users -------------------------------------------------------------------------


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime | None


class UserIn(Strict):
    username: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]
    password: Annotated[str, Field(min_length=12, max_length=256)]
    role: Literal["manager", "technician"]


class UserOut(BaseModel):
    id: int
    username: str
    role: str
    active: bool


class StationTokenIn(Strict):
    name: Str64


class StationTokenOut(BaseModel):
    id: int
    name: str
    token: str


# --- devices --------------------------------------------------------------------------------


class Specs(Strict):
    cpu: Str128 | None = None
    ram_gb: Annotated[float, Field(ge=0, le=65536)] | None = None
    storage_gb: Annotated[float, Field(ge=0, le=10**7)] | None = None


class DeviceIn(Strict):
    kind: Literal["laptop", "tablet"]
    make: Str64 | None = None
    model: Str128 | None = None
    serial: Str128 | None = None
    specs: Specs = Field(default_factory=Specs)
    location_id: Id | None = Field(None, description="Where it is; default the hub.")


class DeviceUpdate(Strict):
    make: Str64 | None = None
    model: Str128 | None = None
    serial: Str128 | None = None
    specs: Specs | None = None
    grade: Grade | None = None


class DeviceOut(BaseModel):
    id: int
    asset_tag: str
    kind: str
    make: str | None
    model: str | None
    serial: str | None
    specs: Specs
    state: str
    location_id: int
    location_name: str
    digibank: str | None
    grade: str | None
    created_at: datetime
    updated_at: datetime
    last_seen_at: datetime | None


class DevicePage(BaseModel):
    items: list[DeviceOut]
    total: int
    limit: int
    offset: int


class TransitionIn(Strict):
    to: State
    reason: Text | None = None


class MoveIn(Strict):
    location_id: Id
    reason: Text | None = None


class EventOut(BaseModel):
    id: int
    at: datetime
    actor: str
    kind: str
    from_state: str | None
    to_state: str | None
    reason: str | None


class JobIn(Strict):
    kind: Literal["wipe", "diagnostics"]
    status: Literal["passed", "failed", "incomplete"]
    started_at: AwareTime
    ended_at: AwareTime | None = None
    method: Str64 | None = None
    details: Json = Field(default_factory=dict)
    certificate: Json | None = None
    station: Str128 | None = None

    @field_validator("ended_at")
    @classmethod
    def _after_start(cls, v: datetime | None, info: Any) -> datetime | None:
        start = info.data.get("started_at")
        if v is not None and start is not None and v < start:
            raise ValueError("must not be before started_at")
        return v


class JobOut(BaseModel):
    id: int
    device_id: int
    kind: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    method: str | None
    details: dict[str, Any]
    certificate: dict[str, Any] | None
    station: str | None
    recorded_by: str
    recorded_at: datetime


class ConditionIn(Strict):
    cosmetic_grade: Literal["A", "B", "C", "D", "E"]
    functional_grade: Literal["A", "B", "C", "D"]
    battery_grade: Annotated[str, Field(max_length=8), AfterValidator(_printable)] | None = None
    battery_health_pct: Annotated[float, Field(ge=0, le=200)] | None = None
    checklist: Annotated[dict[str, bool | str | None], AfterValidator(_json_size)] = Field(
        default_factory=dict
    )
    notes: Text | None = None
    technician: Str128 | None = Field(None, description="Default: the caller.")


class ConditionOut(BaseModel):
    id: int
    device_id: int
    cosmetic_grade: str
    functional_grade: str
    battery_grade: str | None
    battery_health_pct: float | None
    checklist: dict[str, Any]
    notes: str | None
    technician: str
    recorded_at: datetime


class DestructionIn(Strict):
    method: Str128
    reference: Str128 | None = None
    destroyed_at: AwareTime = Field(default_factory=utcnow)


# --- loans ----------------------------------------------------------------------------------


class LoanIn(Strict):
    device_id: Id
    borrower_ref: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
    borrower_adult: bool
    location_id: Id = Field(description="The digipunt that lends the device.")
    due_date: SaneDate


class ReturnIn(Strict):
    location_id: Id | None = Field(None, description="Where it came back; default the loan's.")
    condition: Text | None = None


class ExtendIn(Strict):
    due_date: SaneDate


class LoanOut(BaseModel):
    id: int
    device_id: int
    asset_tag: str
    borrower_ref: str | None
    borrower_adult: bool
    location_id: int
    location_name: str
    started_at: datetime
    due_date: date
    extended_count: int
    returned_at: datetime | None
    return_location_id: int | None
    return_condition: str | None
    overdue: bool


class DeviceDetail(DeviceOut):
    events: list[EventOut]
    jobs: list[JobOut]
    conditions: list[ConditionOut]
    loans: list[LoanOut]
    current_loan: LoanOut | None
    open_flags: list[dict[str, Any]]
    allowed_transitions: list[str]


# --- locations and reach --------------------------------------------------------------------


class LocationIn(Strict):
    name: Str128
    municipality: Str64
    address: Text | None = None


class LocationOut(BaseModel):
    id: int
    kind: str
    name: str
    municipality: str | None
    digibank: str | None
    address: str | None


class ReachRow(BaseModel):
    digibank: str
    municipality: str | None
    adults: int
    target: int | None
    pct_of_target: float | None


class ReachOut(BaseModel):
    target_per_digibank: int
    digibanks: list[ReachRow]
    municipalities: list[ReachRow]
    generated_at: datetime


# --- flags ----------------------------------------------------------------------------------


class FlagOut(BaseModel):
    id: int
    device_id: int
    asset_tag: str
    kind: str
    reason: str
    severity: str
    evidence: dict[str, Any]
    status: str
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    note: str | None


class FlagPage(BaseModel):
    items: list[FlagOut]
    total: int
    limit: int
    offset: int


class FlagActionIn(Strict):
    note: Text | None = None


PathId = Annotated[int, FastAPIPath(ge=1, le=MAX_ID)]
