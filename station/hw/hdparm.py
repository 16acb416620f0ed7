"""ATA facts from ``hdparm``: security erase and SANITIZE support, frozen state, HPA/DCO."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from station.errors import ParseError, ToolError
from station.hw.runner import CommandResult, CommandRunner

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AtaSecurity:
    """The 'Security:' block of ``hdparm -I``."""

    supported: bool = False
    enabled: bool = False
    locked: bool = False
    frozen: bool = False
    count_expired: bool = False
    enhanced_erase: bool = False
    erase_minutes: int | None = None
    enhanced_erase_minutes: int | None = None


@dataclass(frozen=True)
class AtaIdentity:
    """What ``hdparm -I`` says about a drive that matters for Purge and certificates."""

    model: str
    serial: str
    firmware: str
    sectors: int
    logical_sector_size: int
    solid_state: bool
    security: AtaSecurity
    sanitize: bool
    sanitize_crypto: bool
    sanitize_block: bool
    sanitize_overwrite: bool
    hpa_feature: bool
    dco_feature: bool
    encrypts_all_data: bool


@dataclass(frozen=True)
class HiddenAreas:
    """HPA/DCO findings for the certificate ('checked' False when the check was impossible)."""

    checked: bool
    hpa_present: bool = False
    dco_present: bool = False
    accessible_sectors: int | None = None
    native_sectors: int | None = None
    real_sectors: int | None = None
    note: str = ""


def _field(text: str, label: str) -> str:
    m = re.search(rf"^\s*{re.escape(label)}:\s*(.*?)\s*$", text, re.M)
    return m.group(1) if m else ""


def _feature(text: str, name: str) -> bool:
    # Lines look like "\t   *\tSANITIZE feature set": the name is listed only if supported.
    return re.search(rf"^\s*\*?\s*{re.escape(name)}\s*$", text, re.M) is not None


def _security(text: str) -> AtaSecurity:
    m = re.search(r"^Security:\s*\n((?:[ \t].*\n?)*)", text, re.M)
    if not m:
        return AtaSecurity()
    block = m.group(1)

    def flag(word: str) -> bool:
        return re.search(rf"^\s+{word}\s*$", block, re.M) is not None

    times = re.search(r"(\d+)min for SECURITY ERASE UNIT\.\s*(\d+)min for ENHANCED", block)
    return AtaSecurity(
        supported=flag("supported"),
        enabled=flag("enabled"),
        locked=flag("locked"),
        frozen=flag("frozen"),
        count_expired=flag("expired: security count"),
        enhanced_erase=re.search(r"^\s+supported: enhanced erase", block, re.M) is not None,
        erase_minutes=int(times.group(1)) if times else None,
        enhanced_erase_minutes=int(times.group(2)) if times else None,
    )


def parse_identify(text: str) -> AtaIdentity:
    """Parse ``hdparm -I`` output; raise ParseError if it is not an ATA identify page."""
    if "ATA device" not in text and "Model Number:" not in text:
        raise ParseError("hdparm -I output has no ATA identify data")
    sectors = re.search(r"LBA48\s+user addressable sectors:\s*(\d+)", text) or re.search(
        r"LBA\s+user addressable sectors:\s*(\d+)", text
    )
    logical = re.search(r"Logical\s+Sector size:\s*(\d+)", text)
    return AtaIdentity(
        model=_field(text, "Model Number"),
        serial=_field(text, "Serial Number"),
        firmware=_field(text, "Firmware Revision"),
        sectors=int(sectors.group(1)) if sectors else 0,
        logical_sector_size=int(logical.group(1)) if logical else 512,
        solid_state="Solid State Device" in text,
        security=_security(text),
        sanitize=_feature(text, "SANITIZE feature set"),
        sanitize_crypto=_feature(text, "CRYPTO_SCRAMBLE_EXT command"),
        sanitize_block=_feature(text, "BLOCK_ERASE_EXT command"),
        sanitize_overwrite=_feature(text, "OVERWRITE_EXT command"),
        hpa_feature=_feature(text, "Host Protected Area feature set"),
        dco_feature=_feature(text, "Device Configuration Overlay feature set"),
        encrypts_all_data=_feature(text, "Device encrypts all user data"),
    )


def parse_max_sectors(text: str) -> tuple[int, int, bool]:
    """Parse ``hdparm -N``: (accessible, native, HPA enabled)."""
    m = re.search(r"max sectors\s*=\s*(\d+)/(\d+),\s*HPA is (enabled|disabled)", text)
    if not m:
        raise ParseError("hdparm -N output has no 'max sectors' line")
    return int(m.group(1)), int(m.group(2)), m.group(3) == "enabled"


def parse_dco_real_max(text: str) -> int | None:
    """Parse ``hdparm --dco-identify`` for the real (factory) maximum sector count."""
    m = re.search(r"Real max sectors:\s*(\d+)", text)
    return int(m.group(1)) if m else None


def identify(runner: CommandRunner, path: str) -> tuple[AtaIdentity, CommandResult]:
    """Run ``hdparm -I`` on a drive and parse it."""
    res = runner.run(["hdparm", "-I", path], timeout=30)
    if res.returncode != 0:
        raise ToolError(f"hdparm -I {path} failed: {res.stderr.strip() or res.returncode}")
    return parse_identify(res.stdout), res


def detect_hidden_areas(
    runner: CommandRunner, path: str
) -> tuple[HiddenAreas, list[CommandResult]]:
    """Check for HPA (``hdparm -N``) and DCO (``--dco-identify``); never raises."""
    outputs: list[CommandResult] = []
    try:
        res = runner.run(["hdparm", "-N", path], timeout=30)
        outputs.append(res)
        accessible, native, hpa = parse_max_sectors(res.stdout)
    except (ToolError, ParseError) as exc:
        return HiddenAreas(False, note=f"HPA/DCO not checked: {exc}"), outputs
    real: int | None = None
    try:
        dco = runner.run(["hdparm", "--dco-identify", path], timeout=30)
        outputs.append(dco)
        real = parse_dco_real_max(dco.stdout)
    except ToolError as exc:
        log.info("DCO check of %s impossible: %s", path, exc)
    areas = HiddenAreas(
        checked=True,
        hpa_present=hpa or accessible < native,
        dco_present=real is not None and real > native,
        accessible_sectors=accessible,
        native_sectors=native,
        real_sectors=real,
        note="" if real is not None else "DCO not reported by the drive",
    )
    return areas, outputs


def parse_sanitize_status(text: str) -> tuple[float, str]:
    """Parse ``hdparm --sanitize-status``: (progress 0..1, state in words)."""
    state_line = re.search(r"State:\s*(.+)", text)
    if not state_line:
        raise ParseError("hdparm --sanitize-status output has no State line")
    state = state_line.group(1)
    progress = re.search(r"Progress:.*?\((\d+)%\)", text)
    fraction = int(progress.group(1)) / 100 if progress else 0.0
    if "In Process" in state:
        return fraction, "in progress"
    if re.search(r"fail|error", state, re.I) or re.search(r"completed with error", text, re.I):
        return fraction, "failed"
    return 1.0, "completed"
