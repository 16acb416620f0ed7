"""SMART health from ``smartctl --json``: one summary dataclass for ATA, NVMe and SCSI drives."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from station.errors import ParseError
from station.hw.runner import CommandResult, CommandRunner
from station.reasons import Reason, english, reason

log = logging.getLogger(__name__)

NVME_WEAR_WARN_PCT = 80
SSD_LIFE_LEFT_WARN_PCT = 10


@dataclass(frozen=True)
class SmartSummary:
    """The SMART facts the station shows, grades on and sends to the server."""

    verdict: str  # passed | warning | failed | unknown
    reasons: tuple[str, ...] = ()  # in English, as records keep them
    protocol: str = ""
    device_type: str = ""
    model: str = ""
    serial: str = ""
    firmware: str = ""
    capacity_bytes: int | None = None
    smart_passed: bool | None = None
    power_on_hours: int | None = None
    temperature_c: int | None = None
    reallocated_sectors: int | None = None
    pending_sectors: int | None = None
    uncorrectable_sectors: int | None = None
    nvme_percentage_used: int | None = None
    nvme_media_errors: int | None = None
    nvme_critical_warning: int | None = None
    nvme_available_spare: int | None = None
    grown_defects: int | None = None
    ssd_life_left_pct: int | None = None
    behind_usb_bridge: bool = False
    smartctl_version: str = ""
    exit_status: int | None = None
    messages: tuple[str, ...] = field(default_factory=tuple)
    why: tuple[Reason, ...] = ()  # ``reasons`` as codes, for words in the technician's language


def _attr_raw(data: dict[str, Any], attr_id: int) -> int | None:
    for attr in data.get("ata_smart_attributes", {}).get("table", []):
        if attr.get("id") == attr_id:
            raw = attr.get("raw", {}).get("value")
            return int(raw) if isinstance(raw, int) else None
    return None


def _attr_value(data: dict[str, Any], attr_id: int) -> int | None:
    for attr in data.get("ata_smart_attributes", {}).get("table", []):
        if attr.get("id") == attr_id:
            value = attr.get("value")
            return int(value) if isinstance(value, int) else None
    return None


def _verdict(s: dict[str, Any]) -> tuple[str, list[Reason]]:
    reasons: list[Reason] = []
    if s["smart_passed"] is None:
        return "unknown", [reason("smart_no_status")]
    failed = not s["smart_passed"]
    if failed:
        reasons.append(reason("smart_failed"))
    if s["nvme_critical_warning"]:
        failed = True
        reasons.append(reason("nvme_critical_warning", value=str(s["nvme_critical_warning"])))
    # Each counter's reason code is named after its field.
    counters = (
        "reallocated_sectors",
        "pending_sectors",
        "uncorrectable_sectors",
        "nvme_media_errors",
        "grown_defects",
    )
    for key in counters:
        if s[key]:
            reasons.append(reason(key, count=str(s[key])))
    if (s["nvme_percentage_used"] or 0) >= NVME_WEAR_WARN_PCT:
        reasons.append(reason("nvme_wear", percent=str(s["nvme_percentage_used"])))
    if s["ssd_life_left_pct"] is not None and s["ssd_life_left_pct"] <= SSD_LIFE_LEFT_WARN_PCT:
        reasons.append(reason("ssd_life_left", percent=str(s["ssd_life_left_pct"])))
    if failed:
        return "failed", reasons
    return ("warning" if reasons else "passed"), reasons


def parse_smartctl(text: str) -> SmartSummary:
    """Parse ``smartctl --json`` output of one device; raise ParseError if it is not that."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"smartctl output is not JSON: {exc}") from exc
    if not isinstance(data, dict) or "smartctl" not in data:
        raise ParseError("smartctl JSON has no 'smartctl' section")
    meta = data["smartctl"]
    device = data.get("device", {})
    nvme_log = data.get("nvme_smart_health_information_log", {})
    status = data.get("smart_status", {})
    defects = data.get("scsi_grown_defect_list")
    version = ".".join(str(v) for v in meta.get("version", []))
    s: dict[str, Any] = {
        "protocol": device.get("protocol", ""),
        "device_type": device.get("type", ""),
        "model": data.get("model_name") or data.get("scsi_model_name") or "",
        "serial": str(data.get("serial_number", "")),
        "firmware": data.get("firmware_version") or data.get("scsi_revision") or "",
        "capacity_bytes": data.get("user_capacity", {}).get("bytes")
        or data.get("nvme_total_capacity"),
        "smart_passed": status.get("passed") if isinstance(status.get("passed"), bool) else None,
        "power_on_hours": data.get("power_on_time", {}).get("hours"),
        "temperature_c": data.get("temperature", {}).get("current"),
        "reallocated_sectors": _attr_raw(data, 5),
        "pending_sectors": _attr_raw(data, 197),
        "uncorrectable_sectors": _attr_raw(data, 198),
        "nvme_percentage_used": nvme_log.get("percentage_used"),
        "nvme_media_errors": nvme_log.get("media_errors"),
        "nvme_critical_warning": nvme_log.get("critical_warning"),
        "nvme_available_spare": nvme_log.get("available_spare"),
        "grown_defects": defects if isinstance(defects, int) else None,
        "ssd_life_left_pct": _attr_value(data, 231),
        "behind_usb_bridge": str(device.get("type", "")).startswith("usb"),
        "smartctl_version": version,
        "exit_status": meta.get("exit_status"),
        "messages": tuple(m.get("string", "") for m in meta.get("messages", [])),
    }
    verdict, why = _verdict(s)
    return SmartSummary(verdict=verdict, reasons=tuple(english(why)), why=tuple(why), **s)


def parse_scan(text: str) -> list[tuple[str, str]]:
    """Parse ``smartctl --scan --json`` into (device name, type) pairs; no devices = empty."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"smartctl scan output is not JSON: {exc}") from exc
    return [(d.get("name", ""), d.get("type", "")) for d in data.get("devices", [])]


def read_smart(runner: CommandRunner, path: str) -> tuple[SmartSummary, CommandResult]:
    """Run ``smartctl --json -a`` (exit bits are expected: health lives in the JSON)."""
    res = runner.run(["smartctl", "--json", "-a", path], timeout=60)
    return parse_smartctl(res.stdout), res
