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
from station.reasons import Reason, reason

log = logging.getLogger(__name__)

USB_BRIDGE_NOTE = reason("usb_bridge")


@dataclass(frozen=True)
class MethodOption:
    """One way to sanitize a disk, with its NIST category and whether it can run now."""

    name: str
    category: str
    technique: str
    available: bool = True
    note: Reason | None = None


@dataclass(frozen=True)
class Capabilities:
    """What a disk supports, strongest first, with the tool output it was read from."""

    options: tuple[MethodOption, ...]
    purge_note: Reason | None = None
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
            raise WipeError(reason("no_method"))
        for opt in self.options:
            if opt.name == requested:
                if not opt.available:
                    raise WipeError(reason("method_unavailable", opt.note, method=requested))
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


def _opt(name: str, technique: str, available: bool, note: Reason | str) -> MethodOption:
    why = reason(note) if isinstance(note, str) else note
    return MethodOption(name, "Purge", technique, available, None if available else why)


def nvme_options(ctrl: nvme.NvmeController) -> list[MethodOption]:
    """Purge options of an NVMe controller, strongest first."""
    fmt = ctrl.format_supported
    return [
        _opt("nvme-sanitize-crypto", "NVMe sanitize, crypto erase", ctrl.sanitize_crypto,
             "nvme_no_crypto_sanitize"),
        _opt("nvme-sanitize-block", "NVMe sanitize, block erase", ctrl.sanitize_block,
             "nvme_no_block_sanitize"),
        _opt("nvme-format-crypto", "NVMe format with cryptographic erase (SES=2)",
             fmt and ctrl.format_crypto_erase, "nvme_format_no_crypto"),
        _opt("nvme-format-erase", "NVMe format with user data erase (SES=1)", fmt,
             "nvme_no_format"),
    ]  # fmt: skip


def ata_options(ident: hdparm.AtaIdentity) -> list[MethodOption]:
    """Purge options of an ATA drive: SANITIZE preferred over security erase."""
    sec = ident.security
    blocked: Reason | None = None
    if sec.frozen:
        blocked = reason("ata_frozen")
    elif sec.locked or sec.enabled:
        blocked = reason("ata_password_set")
    elif sec.count_expired:
        blocked = reason("ata_count_expired")
    elif not sec.supported:
        blocked = reason("ata_security_unsupported")
    enhanced_note = blocked or reason("ata_no_enhanced")
    return [
        _opt("ata-sanitize-crypto", "ATA SANITIZE, crypto scramble", ident.sanitize_crypto,
             "ata_no_crypto_scramble"),
        _opt("ata-sanitize-block", "ATA SANITIZE, block erase", ident.sanitize_block,
             "ata_no_block_erase"),
        _opt("ata-security-erase-enhanced", "ATA enhanced security erase",
             sec.enhanced_erase and blocked is None, enhanced_note),
        _opt("ata-security-erase", "ATA security erase", sec.supported and blocked is None,
             blocked or reason("ata_security_unsupported")),
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
    note: Reason | None = None
    serial = ""
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
            note = reason("loop_clear_only")
        else:
            note = reason("no_purge_for_transport", transport=dev.transport or "?")
    except (ToolError, ParseError) as exc:
        note = reason("purge_unknown", error=str(exc))
        log.info("capability detection on %s: %s", dev.path, exc)
    return Capabilities((*purge, *CLEAR_OPTIONS), note, serial, hidden, tuple(outputs))
