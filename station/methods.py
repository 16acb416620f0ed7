"""Which wipe methods a disk supports, strongest first, detected from the tools' real output."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from station.errors import ParseError, ToolError, WipeError
from station.hw import hdparm, nvme
from station.hw.blockdev import SYS_BLOCK, BlockDevice
from station.hw.hdparm import HiddenAreas
from station.hw.runner import CommandResult, CommandRunner

log = logging.getLogger(__name__)

USB_BRIDGE_NOTE = (
    "behind a USB bridge: the drive's own erase commands are not trusted through it "
    "(bridges drop or fake them), so only Clear is offered; dock the disk on SATA/NVMe for Purge"
)


@dataclass(frozen=True)
class MethodOption:
    """One way to sanitize a disk, with its NIST category and whether it can run now."""

    name: str
    category: str
    technique: str
    available: bool = True
    note: str = ""


@dataclass(frozen=True)
class Capabilities:
    """What a disk supports, strongest first, with the tool output it was read from."""

    options: tuple[MethodOption, ...]
    purge_note: str = ""
    drive_serial: str = ""
    hidden_areas: HiddenAreas = field(
        default_factory=lambda: HiddenAreas(False, note="not checked")
    )
    outputs: tuple[CommandResult, ...] = ()

    def choose(self, requested: str) -> MethodOption:
        """Return the requested method (``auto`` = strongest available) or raise WipeError."""
        if requested == "auto":
            for opt in self.options:
                if opt.available:
                    return opt
            raise WipeError("no wipe method is available for this device")
        for opt in self.options:
            if opt.name == requested:
                if not opt.available:
                    raise WipeError(f"method {requested} is not available: {opt.note}")
                return opt
        names = ", ".join(o.name for o in self.options)
        raise WipeError(
            f"method {requested!r} is not offered for this device (offered: {names}, auto)"
        )


CLEAR_OPTIONS = (
    MethodOption(
        "overwrite", "Clear", "single-pass overwrite with zeros, full read-back verification"
    ),
    MethodOption("zeroout", "Clear", "kernel zero-out (BLKZEROOUT), full read-back verification"),
)


def _opt(name: str, technique: str, available: bool, note: str) -> MethodOption:
    return MethodOption(name, "Purge", technique, available, "" if available else note)


def nvme_options(ctrl: nvme.NvmeController) -> list[MethodOption]:
    """Purge options of an NVMe controller, strongest first."""
    fmt = ctrl.format_supported
    return [
        _opt("nvme-sanitize-crypto", "NVMe sanitize, crypto erase", ctrl.sanitize_crypto,
             "controller has no crypto-erase sanitize"),
        _opt("nvme-sanitize-block", "NVMe sanitize, block erase", ctrl.sanitize_block,
             "controller has no block-erase sanitize"),
        _opt("nvme-format-crypto", "NVMe format with cryptographic erase (SES=2)",
             fmt and ctrl.format_crypto_erase, "format has no crypto erase"),
        _opt("nvme-format-erase", "NVMe format with user data erase (SES=1)", fmt,
             "Format NVM not supported"),
    ]  # fmt: skip


def ata_options(ident: hdparm.AtaIdentity) -> list[MethodOption]:
    """Purge options of an ATA drive: SANITIZE preferred over security erase."""
    sec = ident.security
    blocked = ""
    if sec.frozen:
        blocked = hdparm.FROZEN_ADVICE
    elif sec.locked or sec.enabled:
        blocked = "a user password is set (drive locked or security enabled): remove it first"
    elif sec.count_expired:
        blocked = "security count expired: power-cycle the drive"
    elif not sec.supported:
        blocked = "security feature set not supported"
    enhanced_note = blocked or "no enhanced erase"
    return [
        _opt("ata-sanitize-crypto", "ATA SANITIZE, crypto scramble", ident.sanitize_crypto,
             "no CRYPTO SCRAMBLE"),
        _opt("ata-sanitize-block", "ATA SANITIZE, block erase", ident.sanitize_block,
             "no BLOCK ERASE"),
        _opt("ata-security-erase-enhanced", "ATA enhanced security erase",
             sec.enhanced_erase and not blocked, enhanced_note),
        _opt("ata-security-erase", "ATA security erase", sec.supported and not blocked, blocked),
    ]  # fmt: skip


def _discard_supported(dev: BlockDevice, sys_block: Path) -> bool:
    try:
        return int((sys_block / dev.name / "queue" / "discard_max_bytes").read_text()) > 0
    except (OSError, ValueError):
        return False


def detect(dev: BlockDevice, runner: CommandRunner, sys_block: Path = SYS_BLOCK) -> Capabilities:
    """Detect the methods a disk supports; a failing tool means no Purge, never a crash."""
    outputs: list[CommandResult] = []
    purge: list[MethodOption] = []
    note, serial = "", ""
    hidden = HiddenAreas(False, note="not applicable" if dev.is_loop else "not checked")
    try:
        if dev.transport == "usb":
            note = USB_BRIDGE_NOTE
        elif dev.transport == "nvme":
            ctrl, res = nvme.identify(runner, nvme.controller_path(dev.name))
            outputs.append(res)
            purge, serial = nvme_options(ctrl), ctrl.serial
        elif dev.transport in ("sata", "scsi"):
            ident, res = hdparm.identify(runner, dev.path)
            outputs.append(res)
            purge, serial = ata_options(ident), ident.serial
            hidden, more = hdparm.detect_hidden_areas(runner, dev.path)
            outputs.extend(more)
        elif dev.transport == "mmc" and _discard_supported(dev, sys_block):
            purge = [
                MethodOption("secure-discard", "Purge", "secure discard (blkdiscard --secure)")
            ]
        elif dev.is_loop:
            note = "a loop device has no drive firmware: Clear only"
        else:
            note = f"no Purge command known for transport {dev.transport}"
    except (ToolError, ParseError) as exc:
        note = f"Purge support unknown: {exc}"
        log.info("capability detection on %s: %s", dev.path, exc)
    if purge and not any(o.available for o in purge):
        note = "; ".join(sorted({o.note for o in purge if o.note}))
    return Capabilities((*purge, *CLEAR_OPTIONS), note, serial, hidden, tuple(outputs))
