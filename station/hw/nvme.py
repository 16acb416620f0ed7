"""NVMe facts from ``nvme id-ctrl -o json`` (nvme-cli): identity and sanitize/format support."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from station.errors import ParseError, ToolError
from station.hw.runner import CommandResult, CommandRunner

log = logging.getLogger(__name__)

# Bit meanings from the NVMe base specification (Identify Controller).
OACS_FORMAT_NVM = 1 << 1
FNA_CRYPTO_ERASE = 1 << 2
SANICAP_CRYPTO = 1 << 0
SANICAP_BLOCK = 1 << 1
SANICAP_OVERWRITE = 1 << 2


@dataclass(frozen=True)
class NvmeController:
    """The parts of Identify Controller that matter for identity and Purge."""

    model: str
    serial: str
    firmware: str
    vendor_id: int
    total_capacity: int
    format_supported: bool
    format_crypto_erase: bool
    sanitize_crypto: bool
    sanitize_block: bool
    sanitize_overwrite: bool


def _int(data: dict[str, Any], key: str) -> int:
    value = data.get(key, 0)
    if isinstance(value, str):
        return int(value, 0)
    return int(value or 0)


def parse_id_ctrl(text: str) -> NvmeController:
    """Parse ``nvme id-ctrl -o json``; raise ParseError on anything else."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"nvme id-ctrl output is not JSON: {exc}") from exc
    if not isinstance(data, dict) or "mn" not in data:
        raise ParseError("nvme id-ctrl JSON has no model number ('mn')")
    try:
        oacs, fna, sanicap = _int(data, "oacs"), _int(data, "fna"), _int(data, "sanicap")
        return NvmeController(
            model=str(data.get("mn", "")).strip(),
            serial=str(data.get("sn", "")).strip(),
            firmware=str(data.get("fr", "")).strip(),
            vendor_id=_int(data, "vid"),
            total_capacity=_int(data, "tnvmcap"),
            format_supported=bool(oacs & OACS_FORMAT_NVM),
            format_crypto_erase=bool(fna & FNA_CRYPTO_ERASE),
            sanitize_crypto=bool(sanicap & SANICAP_CRYPTO),
            sanitize_block=bool(sanicap & SANICAP_BLOCK),
            sanitize_overwrite=bool(sanicap & SANICAP_OVERWRITE),
        )
    except (TypeError, ValueError) as exc:
        raise ParseError(f"nvme id-ctrl JSON has a malformed field: {exc}") from exc


def controller_path(name: str) -> str:
    """The controller character device for a namespace block device (nvme0n1 -> /dev/nvme0)."""
    m = re.match(r"^(nvme\d+)(n\d+)?$", name.removeprefix("/dev/"))
    if not m:
        raise ParseError(f"{name!r} is not an NVMe device name")
    return f"/dev/{m.group(1)}"


def identify(runner: CommandRunner, path: str) -> tuple[NvmeController, CommandResult]:
    """Run ``nvme id-ctrl -o json`` and parse it."""
    res = runner.run(["nvme", "id-ctrl", path, "-o", "json"], timeout=30)
    if res.returncode != 0:
        raise ToolError(f"nvme id-ctrl {path} failed: {res.stderr.strip() or res.returncode}")
    return parse_id_ctrl(res.stdout), res


def parse_sanitize_log(text: str) -> tuple[float, str]:
    """Parse ``nvme sanitize-log -o json``: (progress 0..1, state in words)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"nvme sanitize-log output is not JSON: {exc}") from exc
    entry = (
        next(iter(data.values()))
        if data and all(isinstance(v, dict) for v in data.values())
        else data
    )
    sprog = int(entry.get("sprog", 0))
    sstat = int(entry.get("sstat", 0)) & 0x7
    state = {
        0: "never sanitized",
        1: "completed",
        2: "in progress",
        3: "failed",
        4: "completed (no deallocation)",
    }
    return sprog / 65535, state.get(sstat, f"unknown state {sstat}")
