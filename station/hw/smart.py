"""SMART health from ``smartctl --json``: one summary dataclass for ATA, NVMe and SCSI drives."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from station.errors import ParseError
from station.hw.runner import CommandResult, CommandRunner

log = logging.getLogger(__name__)

NVME_WEAR_WARN_PCT = 80
SSD_LIFE_LEFT_WARN_PCT = 10


@dataclass(frozen=True)
class SmartSummary:
    """The SMART facts the station shows, grades on and sends to the server."""

    verdict: str  # passed | warning | failed | unknown
    reasons: tuple[str, ...] = ()
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


def _verdict(s: dict[str, Any]) -> tuple[str, list[str]]:
    reasons: list[str] = []
    if s["smart_passed"] is None:
        return "unknown", ["no SMART health status"]
    failed = not s["smart_passed"]
    if failed:
        reasons.append("SMART overall health: FAILED")
    if s["nvme_critical_warning"]:
        failed = True
        reasons.append(f"NVMe critical warning {s['nvme_critical_warning']}")
    checks = [
        ("reallocated_sectors", "reallocated sectors"),
        ("pending_sectors", "pending sectors"),
        ("uncorrectable_sectors", "uncorrectable sectors"),
        ("nvme_media_errors", "NVMe media errors"),
        ("grown_defects", "grown defects"),
    ]
    for key, label in checks:
        if s[key]:
            reasons.append(f"{label}: {s[key]}")
    if (s["nvme_percentage_used"] or 0) >= NVME_WEAR_WARN_PCT:
        reasons.append(f"NVMe wear {s['nvme_percentage_used']} % used")
    if s["ssd_life_left_pct"] is not None and s["ssd_life_left_pct"] <= SSD_LIFE_LEFT_WARN_PCT:
        reasons.append(f"SSD life left {s['ssd_life_left_pct']} %")
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
    verdict, reasons = _verdict(s)
    return SmartSummary(verdict=verdict, reasons=tuple(reasons), **s)


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
