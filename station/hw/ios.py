"""iPads over pymobiledevice3's command line: identity, Find My, battery, storage, and the erase.

Written against pymobiledevice3 11.45.0 (its ``cli/`` and ``services/`` source), an optional
tool run by the station's command runner like adb and smartctl; it is never imported. Of its
commands the station uses:

* ``usbmux list --usb``: the devices usbmuxd sees (``Identifier``, ``ProductType``,
  ``ProductVersion``...), read without pairing, so an untrusted iPad is listed too.
* ``lockdown info --udid U``: every lockdown value (``SerialNumber``, ``ProductType``,
  ``ProductVersion``, ``ActivationState``, ``NonVolatileRAM``...). It pairs first: an iPad that
  does not trust the station shows its "Trust This Computer?" dialog and the command waits.
* ``lockdown get --udid U com.apple.fmip IsAssociated``: Find My's own flag (known to read
  ``false`` on some devices with Find My on, so only a ``true`` is believed).
* ``lockdown get --udid U com.apple.mobile.battery`` / ``com.apple.disk_usage``: charge level;
  ``TotalDiskCapacity``, ``TotalDataCapacity``, ``TotalDataAvailable``.
* ``diagnostics battery single --udid U``: the ``IOPMPowerSource`` registry entry (``CycleCount``,
  ``DesignCapacity``, ``NominalChargeCapacity``/``AppleRawMaxCapacity``, ``Temperature`` in
  hundredths of a degree, ``CurrentCapacity``).
* ``backup2 erase-device --udid U DIR``: MobileBackup2's ``EraseDevice`` message, the iPad's own
  "Erase All Content and Settings" (a cryptographic erase of its data-protection keys). The
  11.45.0 CLI has no other erase-all-content command (``profile erase-device`` needs a supervised
  iPad, ``restore`` reinstalls iPadOS from an IPSW).

Output is ``json.dumps(value, sort_keys=True, indent=4)``, bytes as ``{"$hex": "..."}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from station.errors import ParseError, RecordingMissing, StationError, ToolError
from station.hw.runner import CommandResult, CommandRunner
from station.reasons import reason

log = logging.getLogger(__name__)

PMD3 = "pymobiledevice3"
# The lockdown values kept as evidence: identity and Find My state, never names or addresses.
KEPT_VALUES = (
    "ActivationState", "BuildVersion", "DeviceClass", "HardwareModel", "ModelNumber",
    "PasswordProtected", "ProductName", "ProductType", "ProductVersion", "RegionInfo",
    "SerialNumber",
)  # fmt: skip
KEPT_NVRAM = ("fm-activation-locked", "fm-spstatus")
# What pymobiledevice3 says when the iPad does not (yet) trust the station or is locked.
_UNTRUSTED = re.compile(r"password|passcode|trust|pair|InvalidHostID", re.I)


class IosError(StationError):
    """pymobiledevice3 could not do what was asked; ``reason`` says why, as a code."""


class NotInstalled(IosError):
    """pymobiledevice3 is not installed: iPads get the guided manual procedure."""


@dataclass(frozen=True)
class IosDevice:
    """One device of ``usbmux list``."""

    udid: str
    product_type: str
    product_version: str
    device_class: str


@dataclass(frozen=True)
class IpadBattery:
    """Battery facts from the lockdown battery domain and the IOPMPowerSource registry."""

    level_pct: int | None
    health_pct: float | None  # full-charge capacity over design capacity
    cycle_count: int | None
    temperature_c: float | None
    design_capacity_mah: int | None = None
    full_charge_capacity_mah: int | None = None


@dataclass(frozen=True)
class IpadInfo:
    """What the station knows about an iPad."""

    udid: str
    serial: str
    product_type: str  # e.g. iPad7,5
    model_number: str
    ios_version: str
    build: str
    activation_state: str
    find_my: str  # on | off | unknown
    battery: IpadBattery | None = None
    storage_total_bytes: int | None = None
    storage_free_bytes: int | None = None


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ParseError(f"{what}: not JSON ({exc})") from exc


def _dict(text: str, what: str) -> dict[str, Any]:
    value = _json(text, what)
    if not isinstance(value, dict):
        raise ParseError(f"{what}: no values")
    return value


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def same_device(usb_serial: str, udid: str) -> bool:
    """Whether a USB serial names this UDID (usbmuxd adds a dash to 24-character ones)."""
    norm = [s.replace("-", "").lower() for s in (usb_serial, udid)]
    return bool(norm[0]) and norm[0] == norm[1]


def parse_usbmux_list(text: str) -> list[IosDevice]:
    """Parse ``usbmux list`` (a list of short infos, or of bare UDIDs with ``--simple``)."""
    found = _json(text, "usbmux list")
    if not isinstance(found, list):
        raise ParseError("usbmux list: not a list")
    devices = []
    for entry in found:
        if isinstance(entry, str):
            entry = {"Identifier": entry}
        if not isinstance(entry, dict):
            continue
        udid = entry.get("Identifier") or entry.get("UniqueDeviceID") or ""
        devices.append(
            IosDevice(
                str(udid),
                str(entry.get("ProductType") or ""),
                str(entry.get("ProductVersion") or ""),
                str(entry.get("DeviceClass") or ""),
            )
        )
    return devices


def nvram_text(value: object) -> str:
    """An NVRAM value as text: ``{"$hex": ...}`` (pymobiledevice3 11.x), base64 or plain."""
    raw: bytes | None = None
    if isinstance(value, dict) and isinstance(value.get("$hex"), str):
        try:
            raw = bytes.fromhex(value["$hex"])
        except ValueError:
            return ""
    elif isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return value.strip().upper()
    if raw is None:
        return ""
    return raw.rstrip(b"\0").decode("utf-8", "replace").strip().upper()


def find_my_state(values: dict[str, Any], associated: bool | None = None) -> str:
    """``on`` (Activation Lock would hold the iPad), ``off`` (the iPad says so), or ``unknown``.

    Only the NVRAM flag ``fm-activation-locked`` = ``NO`` counts as off; ``IsAssociated`` is
    believed only when it says true.
    """
    nvram = values.get("NonVolatileRAM")
    nvram = nvram if isinstance(nvram, dict) else {}
    locked = nvram_text(nvram.get("fm-activation-locked"))
    if locked == "YES" or nvram_text(nvram.get("fm-spstatus")) == "YES" or associated is True:
        return "on"
    return "off" if locked == "NO" else "unknown"


def parse_identity(values: dict[str, Any], udid: str, associated: bool | None) -> IpadInfo:
    """The identity facts of ``lockdown info``."""

    def text(key: str) -> str:
        value = values.get(key)
        return value if isinstance(value, str) else ""

    return IpadInfo(
        udid=udid or text("UniqueDeviceID"),
        serial=text("SerialNumber"),
        product_type=text("ProductType"),
        model_number=text("ModelNumber"),
        ios_version=text("ProductVersion"),
        build=text("BuildVersion"),
        activation_state=text("ActivationState"),
        find_my=find_my_state(values, associated),
    )


def parse_bool(text: str) -> bool | None:
    """A bare JSON boolean (``lockdown get DOMAIN KEY``); None for anything else."""
    value = text.strip().lower()
    return {"true": True, "false": False}.get(value)


def parse_battery_level(text: str) -> int | None:
    """``BatteryCurrentCapacity`` of the lockdown battery domain (percent)."""
    return _int(_dict(text, "battery domain").get("BatteryCurrentCapacity"))


def parse_battery_registry(text: str, level_pct: int | None = None) -> IpadBattery:
    """The ``IOPMPowerSource`` registry entry; raise ParseError if it is empty."""
    reg = _dict(text, "battery registry")
    if not reg:
        raise ParseError("battery registry: empty")
    nested = reg.get("BatteryData")
    data: dict[str, Any] = nested if isinstance(nested, dict) else {}
    design = _int(reg.get("DesignCapacity")) or _int(data.get("DesignCapacity"))
    full = (
        _int(reg.get("NominalChargeCapacity"))
        or _int(data.get("NominalChargeCapacity"))
        or _int(reg.get("AppleRawMaxCapacity"))
    )
    current, maximum = _int(reg.get("CurrentCapacity")), _int(reg.get("MaxCapacity"))
    if level_pct is None and current is not None:
        # iPadOS reports CurrentCapacity in percent (MaxCapacity 100); older ones in mAh.
        level_pct = current if not maximum or maximum == 100 else round(100 * current / maximum)
    temp = _int(reg.get("Temperature"))
    return IpadBattery(
        level_pct=level_pct,
        health_pct=round(100 * full / design, 1) if full and design else None,
        cycle_count=_int(reg.get("CycleCount")),
        temperature_c=temp / 100 if temp is not None else None,
        design_capacity_mah=design,
        full_charge_capacity_mah=full,
    )


def parse_disk_usage(text: str) -> tuple[int | None, int | None]:
    """(total bytes, free bytes) of the ``com.apple.disk_usage`` domain."""
    usage = _dict(text, "disk usage")
    total = _int(usage.get("TotalDiskCapacity")) or _int(usage.get("TotalDataCapacity"))
    return total, _int(usage.get("TotalDataAvailable"))


def redact_values(res: CommandResult) -> CommandResult:
    """``lockdown info`` cut to identity and Find My flags (no names, addresses, accounts)."""
    values = _dict(res.stdout, "lockdown info")
    kept: dict[str, Any] = {k: values[k] for k in KEPT_VALUES if k in values}
    nvram = values.get("NonVolatileRAM")
    if isinstance(nvram, dict):
        kept["NonVolatileRAM"] = {k: nvram[k] for k in KEPT_NVRAM if k in nvram}
    text = json.dumps(kept, sort_keys=True, indent=4) + "\n"
    return CommandResult(res.argv, res.returncode, text, res.stderr, res.duration_s)


class Ios:
    """Talks to iPads through pymobiledevice3's command line and the command runner."""

    def __init__(self, runner: CommandRunner) -> None:
        self.runner = runner

    def _run(self, args: Sequence[str], serial: str, timeout: float = 30) -> CommandResult:
        """Run one command; IosError with a coded reason unless it succeeds.

        ``serial`` empty: the command does not talk to one iPad (so a timeout is not its Trust
        dialog, which lockdown waits for without end).
        """
        argv = [PMD3, *args]
        try:
            res = self.runner.run(argv, timeout=timeout)
        except RecordingMissing:
            raise
        except ToolError as exc:
            if isinstance(exc.__cause__, FileNotFoundError):
                raise NotInstalled(reason("ipad_no_tool")) from exc
            if not serial:
                raise IosError(reason("ipad_no_answer", command=shlex.join(argv[:4]),
                                      error=str(exc))) from exc  # fmt: skip
            raise IosError(reason("ipad_not_trusted", serial=serial)) from exc
        if res.returncode != 0:
            said = (res.stderr or res.stdout).strip()
            if _UNTRUSTED.search(said):
                raise IosError(reason("ipad_not_trusted", serial=serial))
            command = shlex.join(argv[:4])
            raise IosError(
                reason("tool_failed", command=command, returncode=str(res.returncode), stderr=said)
            )
        return res

    def devices(self) -> list[IosDevice]:
        """The iPads (and iPhones) usbmuxd sees over USB."""
        return parse_usbmux_list(self._run(["usbmux", "list", "--usb"], "", timeout=20).stdout)

    def find(self, usb_serial: str) -> IosDevice:
        """The device behind a USB serial; IosError if usbmuxd does not list it."""
        for dev in self.devices():
            if same_device(usb_serial, dev.udid):
                return dev
        raise IosError(reason("ipad_not_seen", serial=usb_serial))

    def identify(self, udid: str) -> tuple[IpadInfo, list[CommandResult]]:
        """Identity and Find My state (pairs: an untrusted iPad is refused with what to do)."""
        res = self._run(["lockdown", "info", "--udid", udid], udid, timeout=30)
        values = _dict(res.stdout, "lockdown info")
        outputs = [redact_values(res)]
        associated: bool | None = None
        try:
            fmip = self._run(["lockdown", "get", "--udid", udid, "com.apple.fmip", "IsAssociated"],
                             udid)  # fmt: skip
            associated = parse_bool(fmip.stdout)
            outputs.append(fmip)
        except IosError as exc:  # the key is missing on some iPadOS versions
            log.info("no Find My flag from %s: %s", udid, exc)
        return parse_identity(values, udid, associated), outputs

    def info(self, udid: str) -> tuple[IpadInfo, list[CommandResult]]:
        """Identity, Find My, battery and storage, with the raw outputs as evidence."""
        info, outputs = self.identify(udid)
        level = battery = total = free = None
        try:
            res = self._run(["lockdown", "get", "--udid", udid, "com.apple.mobile.battery"], udid)
            outputs.append(res)
            level = parse_battery_level(res.stdout)
        except (IosError, ParseError) as exc:
            log.info("no battery level from %s: %s", udid, exc)
        try:
            res = self._run(["diagnostics", "battery", "single", "--udid", udid], udid)
            outputs.append(res)
            battery = parse_battery_registry(res.stdout, level)
        except (IosError, ParseError) as exc:
            log.info("no battery registry from %s: %s", udid, exc)
            battery = IpadBattery(level, None, None, None) if level is not None else None
        try:
            res = self._run(["lockdown", "get", "--udid", udid, "com.apple.disk_usage"], udid)
            outputs.append(res)
            total, free = parse_disk_usage(res.stdout)
        except (IosError, ParseError) as exc:
            log.info("no storage facts from %s: %s", udid, exc)
        info = replace(info, battery=battery, storage_total_bytes=total, storage_free_bytes=free)
        return info, outputs

    def erase(self, udid: str, workdir: str) -> CommandResult:
        """Ask the iPad to erase all content and settings; its answer, whatever it is."""
        argv = [PMD3, "backup2", "erase-device", "--udid", udid, workdir]
        try:
            return self.runner.run(argv, timeout=120)
        except RecordingMissing:
            raise
        except ToolError as exc:
            return CommandResult(tuple(argv), -1, "", str(exc))
