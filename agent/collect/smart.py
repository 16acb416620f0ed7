"""SMART figures from `smartctl --json -a` output: verdict, wear and error counters."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from agent.runner import CommandRunner, RunnerError

log = logging.getLogger(__name__)

SMARTCTL = "smartctl"
SMARTCTL_TIMEOUT_S = 30.0
# ATA attribute ids whose raw value counts bad sectors.
ATA_REALLOCATED, ATA_PENDING, ATA_UNCORRECTABLE = 5, 197, 198
# Exit-status bits 0 and 1: bad command line / device could not be opened (no data at all).
_NO_DATA_BITS = 0b11


class SmartError(Exception):
    """smartctl gave no usable SMART data for a disk; the message says why."""


@dataclass(frozen=True)
class SmartFacts:
    """The SMART figures the report carries for one disk."""

    kind: str = "unknown"
    size_bytes: int | None = None
    smart_passed: bool | None = None
    power_on_hours: int | None = None
    temperature_c: float | None = None
    reallocated_sectors: int | None = None
    pending_sectors: int | None = None
    uncorrectable_sectors: int | None = None
    nvme_critical_warning: int | None = None
    percentage_used: int | None = None
    media_errors: int | None = None


def smartctl_argv(device: str) -> tuple[str, ...]:
    """The one smartctl command line the agent runs; `-n standby` never wakes a sleeping disk."""
    return (SMARTCTL, "--json", "-a", "-n", "standby", device)


def read_smart(runner: CommandRunner, device: str) -> SmartFacts:
    """Run smartctl on `device` through the runner and parse it; SmartError when no data."""
    try:
        result = runner.run(smartctl_argv(device), timeout=SMARTCTL_TIMEOUT_S)
    except RunnerError as exc:
        raise SmartError(str(exc)) from None
    return parse_smartctl(result.stdout, device)


def parse_smartctl(text: str, device: str = "") -> SmartFacts:
    """Parse `smartctl --json` output; SmartError naming the reason when it holds no SMART data."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise SmartError("smartctl output is not JSON") from None
    if not isinstance(data, dict):
        raise SmartError("smartctl output is not a JSON object")
    tool = _obj(data, "smartctl")
    exit_status = _int(tool.get("exit_status")) or 0
    if exit_status & _NO_DATA_BITS and "smart_status" not in data:
        raise SmartError(_first_message(tool, device) or f"smartctl exit status {exit_status}")
    if "smart_status" not in data and "device" not in data:
        raise SmartError("smartctl output holds no SMART data")
    dev = _obj(data, "device")
    protocol = str(dev.get("protocol", "")).lower()
    kind = {"ata": "ata", "nvme": "nvme", "scsi": "scsi"}.get(protocol, "unknown")
    status = _obj(data, "smart_status")
    passed = status.get("passed")
    facts: dict[str, Any] = {
        "kind": kind,
        "size_bytes": _int(_obj(data, "user_capacity").get("bytes")),
        "smart_passed": passed if isinstance(passed, bool) else None,
        "power_on_hours": _int(_obj(data, "power_on_time").get("hours")),
        "temperature_c": _float(_obj(data, "temperature").get("current")),
    }
    if kind == "ata":
        raw = _ata_raw_values(data)
        facts["reallocated_sectors"] = raw.get(ATA_REALLOCATED)
        facts["pending_sectors"] = raw.get(ATA_PENDING)
        facts["uncorrectable_sectors"] = raw.get(ATA_UNCORRECTABLE)
    elif kind == "nvme":
        health = _obj(data, "nvme_smart_health_information_log")
        facts["nvme_critical_warning"] = _int(health.get("critical_warning"))
        facts["percentage_used"] = _int(health.get("percentage_used"))
        facts["media_errors"] = _int(health.get("media_errors"))
        if facts["size_bytes"] is None:
            facts["size_bytes"] = _int(data.get("nvme_total_capacity"))
        if facts["temperature_c"] is None:
            facts["temperature_c"] = _float(health.get("temperature"))
    elif kind == "scsi":
        # A SCSI disk's grown defect list counts the blocks it has remapped, the same fact
        # as ATA attribute 5.
        facts["reallocated_sectors"] = _int(data.get("scsi_grown_defect_list"))
    return SmartFacts(**facts)


def _ata_raw_values(data: dict[str, Any]) -> dict[int, int]:
    table = _obj(data, "ata_smart_attributes").get("table")
    out: dict[int, int] = {}
    if not isinstance(table, list):
        return out
    for attr in table:
        if not isinstance(attr, dict):
            continue
        attr_id = _int(attr.get("id"))
        raw = attr.get("raw")
        value = _int(raw.get("value")) if isinstance(raw, dict) else None
        if attr_id in (ATA_REALLOCATED, ATA_PENDING, ATA_UNCORRECTABLE) and value is not None:
            # Some firmwares pack more counters into the upper raw bytes; the count is the low 32.
            out[attr_id] = value & 0xFFFFFFFF
    return out


def _first_message(tool: dict[str, Any], device: str) -> str | None:
    messages = tool.get("messages")
    if not isinstance(messages, list):
        return None
    for msg in messages:
        if isinstance(msg, dict) and isinstance(msg.get("string"), str):
            # The device path is not a health fact: keep it out of what is reported.
            text: str = msg["string"]
            if device:
                text = text.replace(f"{device}: ", "").replace(device, "disk")
            return text[:120]
    return None


def _obj(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if value >= 0 else None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
