"""Which incoming message is a valid health report, and why the others are dropped.

The contract is `agent.report` (standard library only, so a loaned laptop can import it).
Validating with it costs about 40 µs a report in pure Python, most of ingest's own time, so
ingest first tries a compiled validator (msgspec) built from the same dataclasses and
limits; a message it accepts is valid under the contract as well, and every message it does
not accept goes to the contract's own validator, which decides the reason. The fast path
never decides a drop, it only saves time on good reports; tests/telemetry/test_classify.py
checks on thousands of altered reports that both paths agree.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Annotated, Any

import msgspec

from agent.report import (
    FIGURE_RANGE,
    MAX_AGENT_VERSION_CHARS,
    MAX_DISKS,
    MAX_ERROR_CHARS,
    MAX_FIELD_CHARS,
    MAX_OS_CHARS,
    MAX_REPORT_BYTES,
    SCHEMA_VERSION,
    Battery,
    Disk,
    HealthReport,
    Memory,
    ReportError,
    Temperatures,
    device_id_from_topic,
    field_kinds,
    parse_time,
)

log = logging.getLogger(__name__)

MAX_SEQ = 2**63 - 1  # the column is a signed 64-bit integer


@dataclass
class Valid:
    """A valid report: its device, sequence number and time, the decoded object, the text."""

    device_id: int
    seq: int
    measured_at: datetime
    data: dict[str, Any]
    text: str


# --- the compiled validator, built from the contract's dataclasses ---------------------------

_Figure = Annotated[float, msgspec.Meta(ge=FIGURE_RANGE[0], le=FIGURE_RANGE[1])]
_Count = Annotated[int, msgspec.Meta(ge=0)]
_Short = Annotated[str, msgspec.Meta(max_length=MAX_FIELD_CHARS)]
_KINDS: dict[str, Any] = {"float": _Figure, "int": _Count, "bool": bool, "str": _Short}


def _struct_of(cls: type) -> type[msgspec.Struct]:
    """A msgspec Struct with the fields of one of the report's nested dataclasses.

    Every nested field is optional (null means "the OS did not tell"), typed as the contract
    types it (`field_kinds`), with the contract's limits; unknown fields are refused.
    """
    kinds = dict(field_kinds(cls)[1])
    spec = [(f.name, _KINDS[kinds[f.name]] | None, None) for f in fields(cls)]
    return msgspec.defstruct(f"Fast{cls.__name__}", spec, forbid_unknown_fields=True)


_FastBattery = _struct_of(Battery)
_FastDisk = _struct_of(Disk)
_FastMemory = _struct_of(Memory)
_FastTemperatures = _struct_of(Temperatures)


class _FastReport(msgspec.Struct, forbid_unknown_fields=True):
    schema: int
    device_id: str
    seq: Annotated[int, msgspec.Meta(ge=0, le=MAX_SEQ)]
    measured_at: Annotated[str, msgspec.Meta(max_length=40)]
    agent_version: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_AGENT_VERSION_CHARS)]
    os_name: Annotated[str, msgspec.Meta(max_length=MAX_OS_CHARS)] | None = None
    os_version: Annotated[str, msgspec.Meta(max_length=MAX_OS_CHARS)] | None = None
    uptime_s: _Count | None = None
    battery: _FastBattery | None = None  # type: ignore[valid-type]
    disks: Annotated[list[_FastDisk], msgspec.Meta(max_length=MAX_DISKS)] = []  # type: ignore[valid-type]
    memory: _FastMemory | None = None  # type: ignore[valid-type]
    temperatures: _FastTemperatures | None = None  # type: ignore[valid-type]
    errors: list[Annotated[str, msgspec.Meta(max_length=MAX_ERROR_CHARS)]] = []


# The report's top-level fields are declared by hand above; fail at import, not in
# production, if the contract gained or lost one.
assert set(_FastReport.__struct_fields__) == {f.name for f in fields(HealthReport)}, (
    "server.ingest_classify is out of step with agent.report.HealthReport"
)

_typed = msgspec.json.Decoder(_FastReport)
_plain = msgspec.json.Decoder()


def _fast(topic_id: str, payload: bytes | bytearray) -> Valid | None:
    """The report if the compiled validator and the remaining checks accept it, else None."""
    try:
        checked = _typed.decode(payload)
    except (msgspec.MsgspecError, ValueError):  # ValueError: bytes that are not UTF-8
        return None
    if checked.schema != SCHEMA_VERSION or type(checked.schema) is not int:
        return None
    if checked.device_id != topic_id or not topic_id.isdigit() or len(topic_id) > 18:
        return None
    if topic_id != str(int(topic_id)):
        return None
    try:
        measured_at = parse_time(checked.measured_at, "measured_at")
        text = payload.decode()
    except (ReportError, UnicodeDecodeError):
        return None
    data = _plain.decode(payload)
    return Valid(int(topic_id), checked.seq, measured_at.replace(microsecond=0), data, text)


# --- the verdict ------------------------------------------------------------------------------


def classify(topic: str, payload: bytes | bytearray) -> Valid | str:
    """A validated report, or the reason (one of `DROP_REASONS`) to drop the message."""
    try:
        topic_id, kind = device_id_from_topic(topic)
    except ReportError:
        return "bad_topic"
    if kind != "health":
        return "bad_topic"
    if len(payload) > MAX_REPORT_BYTES:
        return "oversized"
    return _fast(topic_id, payload) or classify_by_contract(topic_id, payload)


def classify_by_contract(topic_id: str, payload: bytes | bytearray) -> Valid | str:
    """The verdict of the contract's own validator (`HealthReport.from_dict`)."""
    try:
        text = payload.decode()
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "malformed"
    if not isinstance(data, dict):
        return "malformed"
    if data.get("schema") != SCHEMA_VERSION:
        return "schema_version"
    try:
        report = HealthReport.from_dict(data)
    except ReportError as exc:
        log.debug("invalid report on device %s: %s", topic_id, exc)
        return "invalid"
    if report.seq > MAX_SEQ:
        return "invalid"
    if report.device_id != topic_id:
        return "spoofed"
    if not topic_id.isdigit() or len(topic_id) > 18 or topic_id != str(int(topic_id)):
        return "unknown_device"  # device ids on the wire are str(Device.id), nothing else
    return Valid(int(topic_id), report.seq, report.measured_at, data, text)
