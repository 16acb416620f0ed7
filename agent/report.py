"""The wire contract between device agents and the hub: topics, health reports, commands.

Standard library only: the server imports this module, and it must stay importable on a
loaned laptop with nothing but the agent installed. Every field a report may carry is
declared here; anything personal (user names, host names, addresses, locations, file or
program names) has no field, so it cannot be sent.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, TypeGuard

SCHEMA_VERSION = 1
MAX_REPORT_BYTES = 16 * 1024
"""Largest health payload the broker and the server accept (the broker enforces it too)."""

# Limits of the report's fields (the server's fast validator is built from the same figures).
MAX_DISKS = 16
MAX_ERROR_CHARS = 200
MAX_AGENT_VERSION_CHARS = 32
MAX_OS_CHARS = 64
MAX_FIELD_CHARS = 32  # short strings inside battery, disks, memory and temperatures
FIGURE_RANGE = (-100, 1e15)  # any float figure (temperatures may be below zero)

TOPIC_ROOT = "digibank/v1/devices"
SHARED_GROUP = "ingest"
DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ReportError(ValueError):
    """A payload that does not satisfy the contract; the message says which field and why."""


# --- topics -----------------------------------------------------------------------------


def _check_id(device_id: str) -> str:
    if not isinstance(device_id, str) or not DEVICE_ID_RE.match(device_id):
        raise ReportError(f"device_id: {device_id!r} is not 1-64 of [A-Za-z0-9_-]")
    return device_id


def health_topic(device_id: str) -> str:
    """Topic an agent publishes its health reports to (QoS 1)."""
    return f"{TOPIC_ROOT}/{_check_id(device_id)}/health"


def status_topic(device_id: str) -> str:
    """Retained `online`/`offline` topic, also the agent's Last Will."""
    return f"{TOPIC_ROOT}/{_check_id(device_id)}/status"


def commands_topic(device_id: str) -> str:
    """Topic the server sends commands to one agent on."""
    return f"{TOPIC_ROOT}/{_check_id(device_id)}/commands"


def shared_subscription(kind: str, group: str = SHARED_GROUP) -> str:
    """MQTT 5 shared subscription for all devices' `kind` topics (health or status)."""
    return f"$share/{group}/{TOPIC_ROOT}/+/{kind}"


def device_id_from_topic(topic: str) -> tuple[str, str]:
    """Split `digibank/v1/devices/{id}/{kind}` into (id, kind); ReportError otherwise."""
    prefix = TOPIC_ROOT + "/"
    if not topic.startswith(prefix):
        raise ReportError(f"topic {topic!r} is not under {TOPIC_ROOT}")
    parts = topic[len(prefix) :].split("/")
    if len(parts) != 2:
        raise ReportError(f"topic {topic!r} is not {TOPIC_ROOT}/ID/KIND")
    return _check_id(parts[0]), parts[1]


# --- the report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Battery:
    """Battery facts; None where the OS does not tell."""

    charge_pct: float | None = None
    plugged_in: bool | None = None
    design_capacity_wh: float | None = None
    full_capacity_wh: float | None = None
    cycle_count: int | None = None
    health_pct: float | None = None
    status: str | None = None


@dataclass(frozen=True)
class Disk:
    """One physical disk: size, filesystem free space and SMART figures where available."""

    kind: str = "unknown"  # nvme, ata, scsi, unknown
    size_bytes: int | None = None
    free_bytes: int | None = None
    smart_passed: bool | None = None
    power_on_hours: int | None = None
    temperature_c: float | None = None
    reallocated_sectors: int | None = None
    pending_sectors: int | None = None
    uncorrectable_sectors: int | None = None
    nvme_critical_warning: int | None = None
    percentage_used: int | None = None
    media_errors: int | None = None


@dataclass(frozen=True)
class Memory:
    """Installed and available memory."""

    total_bytes: int | None = None
    available_bytes: int | None = None


@dataclass(frozen=True)
class Temperatures:
    """Highest CPU and disk temperatures seen by the OS."""

    cpu_c: float | None = None
    disk_c: float | None = None


@dataclass(frozen=True)
class HealthReport:
    """One health report, as published on the health topic."""

    device_id: str
    seq: int
    measured_at: datetime
    agent_version: str
    os_name: str | None = None
    os_version: str | None = None
    uptime_s: int | None = None
    battery: Battery | None = None
    disks: tuple[Disk, ...] = ()
    memory: Memory | None = None
    temperatures: Temperatures | None = None
    errors: tuple[str, ...] = ()
    schema: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        # The wire carries whole seconds in UTC; keep the object equal to its round trip.
        moment = self.measured_at
        if moment.tzinfo is None:
            raise ReportError("measured_at: must be timezone-aware")
        object.__setattr__(self, "measured_at", moment.astimezone(UTC).replace(microsecond=0))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict; `measured_at` as ISO 8601 UTC with a Z."""
        d = asdict(self)
        d["measured_at"] = format_time(self.measured_at)
        d["disks"] = [asdict(x) for x in self.disks]
        d["errors"] = list(self.errors)
        return d

    def to_json(self) -> bytes:
        """Compact UTF-8 JSON, as sent on the wire."""
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_json(cls, payload: bytes | str) -> HealthReport:
        """Parse and validate a payload; raises ReportError naming what is wrong."""
        if isinstance(payload, str):
            payload = payload.encode()
        if len(payload) > MAX_REPORT_BYTES:
            raise ReportError(f"payload: {len(payload)} bytes exceeds {MAX_REPORT_BYTES}")
        try:
            data = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ReportError(f"payload: not JSON ({exc})") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> HealthReport:
        """Validate a decoded JSON object; raises ReportError naming what is wrong."""
        if not isinstance(data, dict):
            raise ReportError("payload: not a JSON object")
        if data.get("schema") != SCHEMA_VERSION:
            raise ReportError(f"schema: {data.get('schema')!r} is not {SCHEMA_VERSION}")
        _no_unknown(data, cls, "report")
        seq = data.get("seq")
        if not _is_int(seq) or seq < 0:
            raise ReportError("seq: must be a non-negative integer")
        version = data.get("agent_version")
        if not isinstance(version, str) or not 0 < len(version) <= MAX_AGENT_VERSION_CHARS:
            raise ReportError(
                f"agent_version: must be a string of 1-{MAX_AGENT_VERSION_CHARS} characters"
            )
        errors = data.get("errors", [])
        if not isinstance(errors, list) or not all(
            isinstance(e, str) and len(e) <= MAX_ERROR_CHARS for e in errors
        ):
            raise ReportError(
                f"errors: must be a list of strings of at most {MAX_ERROR_CHARS} characters"
            )
        disks = data.get("disks", [])
        if not isinstance(disks, list) or len(disks) > MAX_DISKS:
            raise ReportError(f"disks: must be a list of at most {MAX_DISKS} disks")
        return cls(
            device_id=_check_id(data.get("device_id")),  # type: ignore[arg-type]
            seq=seq,
            measured_at=parse_time(data.get("measured_at"), "measured_at"),
            agent_version=version,
            os_name=_opt_str(data, "os_name", MAX_OS_CHARS),
            os_version=_opt_str(data, "os_version", MAX_OS_CHARS),
            uptime_s=_opt_int(data, "uptime_s"),
            battery=_sub(data.get("battery"), Battery, "battery"),
            disks=tuple(_sub(d, Disk, f"disks[{i}]") for i, d in enumerate(disks)),
            memory=_sub(data.get("memory"), Memory, "memory"),
            temperatures=_sub(data.get("temperatures"), Temperatures, "temperatures"),
            errors=tuple(errors),
        )


# --- commands -----------------------------------------------------------------------------

COMMAND_TYPES = ("set_interval", "report_now", "notify")
MIN_INTERVAL_S = 60
MAX_INTERVAL_S = 7 * 24 * 3600


@dataclass(frozen=True)
class Command:
    """A server command to one agent: change the interval, report now, or notify the borrower."""

    type: str
    interval_s: int | None = None
    title: str | None = None
    message: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        """Compact JSON, without empty fields."""
        d = {k: v for k, v in asdict(self).items() if v not in (None, {})}
        return json.dumps(d, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, payload: bytes | str) -> Command:
        """Parse and validate a command; raises ReportError naming what is wrong."""
        try:
            data = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ReportError(f"command: not JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("type") not in COMMAND_TYPES:
            raise ReportError(f"command: type must be one of {', '.join(COMMAND_TYPES)}")
        kind = data["type"]
        if kind == "set_interval":
            secs = data.get("interval_s")
            if not _is_int(secs) or not MIN_INTERVAL_S <= secs <= MAX_INTERVAL_S:
                raise ReportError(
                    f"interval_s: must be an integer from {MIN_INTERVAL_S} to {MAX_INTERVAL_S}"
                )
            return cls(type=kind, interval_s=secs)
        if kind == "notify":
            message = data.get("message")
            if not isinstance(message, str) or not 0 < len(message) <= 500:
                raise ReportError("message: must be a string of 1-500 characters")
            title = data.get("title")
            if title is not None and (not isinstance(title, str) or len(title) > 100):
                raise ReportError("title: must be a string of at most 100 characters")
            return cls(type=kind, title=title, message=message)
        return cls(type=kind)


# --- helpers --------------------------------------------------------------------------------


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC with a trailing Z, to the second."""
    if moment.tzinfo is None:
        raise ReportError("time: must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any, name: str) -> datetime:
    """Parse an ISO 8601 time with an explicit offset into an aware UTC datetime."""
    if not isinstance(value, str) or len(value) > 40:
        raise ReportError(f"{name}: must be an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ReportError(f"{name}: {value!r} is not ISO 8601") from None
    if moment.tzinfo is None:
        raise ReportError(f"{name}: must carry a UTC offset")
    return moment.astimezone(UTC)


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _opt_str(data: dict[str, Any], key: str, limit: int) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ReportError(f"{key}: must be a string of at most {limit} characters")
    return value


def _opt_int(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if not _is_int(value) or value < 0:
        raise ReportError(f"{key}: must be a non-negative integer")
    return int(value)


@functools.cache
def field_kinds(cls: type) -> tuple[frozenset[str], tuple[tuple[str, str], ...]]:
    """A dataclass's field names and each field's kind (bool, int, float or str), once per class."""
    declared = fields(cls)
    kinds = []
    for f in declared:
        hint = str(f.type).split(" ")[0]
        kind = next((k for k in ("bool", "int", "float") if hint.startswith(k)), "str")
        kinds.append((f.name, kind))
    return frozenset(f.name for f in declared), tuple(kinds)


def _no_unknown(data: dict[str, Any], cls: type, where: str) -> None:
    known = field_kinds(cls)[0]
    if data.keys() <= known:
        return
    unknown = sorted(set(data) - known)
    raise ReportError(f"{where}: unknown field(s) {', '.join(unknown)}")


def _sub(value: Any, cls: type, where: str) -> Any:
    """Validate a nested object whose fields are all optional numbers, bools or short strings."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ReportError(f"{where}: must be an object")
    _no_unknown(value, cls, where)
    out: dict[str, Any] = {}
    # The field kinds are computed once per class: this runs for every report the hub ingests.
    for name, kind in field_kinds(cls)[1]:
        v = value.get(name)
        if v is None:
            continue
        if kind == "float":
            low, high = FIGURE_RANGE
            ok = isinstance(v, int | float) and not isinstance(v, bool) and low <= v <= high
        elif kind == "int":
            ok = isinstance(v, int) and not isinstance(v, bool) and v >= 0
        elif kind == "bool":
            ok = isinstance(v, bool)
        else:
            ok = isinstance(v, str) and len(v) <= MAX_FIELD_CHARS
        if not ok:
            raise ReportError(f"{where}.{name}: {v!r} is not a valid {kind}")
        out[name] = v
    return cls(**out)
