"""Android tablets over ``adb``: identity, battery, storage, and the signed-in account check.

Account names are never kept: only how many accounts of which type are signed in,
which is what factory reset protection (FRP) depends on.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from station.errors import ParseError, ToolError
from station.hw.runner import CommandResult, CommandRunner

log = logging.getLogger(__name__)

GOOGLE_ACCOUNT_TYPE = "com.google"
# BatteryManager.BATTERY_HEALTH_* constants.
BATTERY_HEALTH = {
    1: "unknown",
    2: "good",
    3: "overheat",
    4: "dead",
    5: "over voltage",
    6: "unspecified failure",
    7: "cold",
}


@dataclass(frozen=True)
class AdbDevice:
    """One line of ``adb devices -l``."""

    serial: str
    state: str  # device | unauthorized | offline | no permissions | recovery | sideload ...
    model: str = ""
    usb: str = ""


@dataclass(frozen=True)
class BatteryState:
    """``dumpsys battery`` facts."""

    level_pct: int | None
    health: str
    temperature_c: float | None
    status: int | None
    cycle_count: int | None = None


@dataclass(frozen=True)
class TabletInfo:
    """What the station knows about an Android tablet."""

    serial: str
    manufacturer: str
    model: str
    android_version: str
    sdk: str
    battery: BatteryState | None
    storage_total_bytes: int | None
    storage_free_bytes: int | None
    serial_source: str = "adb ro.serialno"  # where ``serial`` was read (certificates say it)


def tablet_serial(props: dict[str, str], adb_serial: str) -> tuple[str, str]:
    """The tablet's serial number and where it came from.

    ``ro.serialno`` first; some devices (emulators, cheap tablets) leave it empty
    ("[ro.serialno]: []"), so then ``ro.boot.serialno``, then the serial adb lists it by.
    """
    for prop in ("ro.serialno", "ro.boot.serialno"):
        if value := props.get(prop, "").strip():
            return value, f"adb {prop}"
    return adb_serial, "adb device serial"


def parse_devices(text: str) -> list[AdbDevice]:
    """Parse ``adb devices -l``."""
    devices = []
    for line in text.splitlines():
        if not line.strip() or line.startswith(("List of devices", "*")):
            continue
        parts = line.split()
        if len(parts) < 2:
            continue
        if parts[1:3] == ["no", "permissions"]:
            # "no permissions (user in plugdev group; are your udev rules wrong?); see [...]":
            # a state of two words, then adb's advice, which holds no details to read.
            devices.append(AdbDevice(parts[0], "no permissions"))
            continue
        extra = dict(p.split(":", 1) for p in parts[2:] if ":" in p)
        devices.append(
            AdbDevice(
                parts[0], parts[1], extra.get("model", "").replace("_", " "), extra.get("usb", "")
            )
        )
    return devices


def parse_getprop(text: str) -> dict[str, str]:
    """Parse ``adb shell getprop`` ("[key]: [value]" lines)."""
    return dict(re.findall(r"^\[([^\]]+)\]:\s*\[(.*)\]\s*$", text, re.M))


def parse_battery(text: str) -> BatteryState:
    """Parse ``adb shell dumpsys battery``; raise ParseError if it has no level."""
    # Within one line only: an empty value ("LLB MAN: " on Samsung) must not take the next.
    values = dict(re.findall(r"^[ \t]*([A-Za-z][A-Za-z ]*?):[ \t]*(\S.*?)[ \t]*$", text, re.M))

    def num(key: str) -> int | None:
        raw = values.get(key)
        return int(raw) if raw is not None and re.fullmatch(r"-?\d+", raw) else None

    level, scale = num("level"), num("scale") or 100
    if level is None:
        raise ParseError("dumpsys battery output has no level")
    temp = num("temperature")
    health = num("health")
    return BatteryState(
        level_pct=round(100 * level / scale),
        health=BATTERY_HEALTH.get(health, "unknown") if health is not None else "unknown",
        temperature_c=temp / 10 if temp is not None else None,  # reported in tenths of a degree
        status=num("status"),
        cycle_count=num("Charge cycles")
        if num("Charge cycles") is not None
        else num("cycle count"),
    )


_DF_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
# The oldest toolbox df: "/data: 3864064K total, 1282880K used, 2581184K available (...)".
_DF_OLDEST = re.compile(r"(\d+)K total, \d+K used, (\d+)K available")


def _df_size(field: str) -> int | None:
    """Bytes of a df size: 1K blocks ("24328832") or a toolbox size with a unit ("3G", "9.8G")."""
    if field.isdigit():
        return int(field) * 1024
    unit = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT])", field)
    return round(float(unit[1]) * _DF_UNITS[unit[2]]) if unit else None


def parse_df(text: str) -> tuple[int, int]:
    """Parse ``adb shell df /data``: (total bytes, free bytes).

    toybox df (Android 7 and later) prints 1K blocks. The toolbox df of older Android prints
    "Size Used Free Blksize" with each size cut to a K/M/G unit ("3G", later "9.8G"), so its
    figures are approximate; the oldest prints one "K total, K used, K available" line.
    """
    if oldest := _DF_OLDEST.search(text):
        return int(oldest[1]) * 1024, int(oldest[2]) * 1024
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 4:
            total, free = _df_size(parts[1]), _df_size(parts[3])
            if total is not None and free is not None:
                return total, free
    raise ParseError("df output has no size line")


def parse_account_types(text: str) -> dict[str, int]:
    """Count signed-in accounts by type in ``dumpsys account`` (names are dropped)."""
    counts: dict[str, int] = {}
    for account_type in re.findall(r"Account \{name=[^,]*, type=([^}]+)\}", text):
        counts[account_type.strip()] = counts.get(account_type.strip(), 0) + 1
    return counts


_KEPT_PROPS = re.compile(r"^\[(ro\.product\.|ro\.build\.|ro\.serialno|ro\.boot\.serialno)")


def _redacted(res: CommandResult, stdout: str) -> CommandResult:
    return CommandResult(res.argv, res.returncode, stdout, res.stderr, res.duration_s)


def redact_accounts(res: CommandResult) -> CommandResult:
    """The account dump with every account name replaced (evidence must hold no personal data)."""
    return _redacted(res, re.sub(r"name=[^,]*,", "name=<redacted>,", res.stdout))


def redact_props(res: CommandResult) -> CommandResult:
    """Only the product/build/serial properties of a getprop dump (no user-set names)."""
    kept = [line for line in res.stdout.splitlines() if _KEPT_PROPS.match(line)]
    return _redacted(res, "\n".join(kept) + "\n")


class Adb:
    """Talks to one adb server through the command runner."""

    def __init__(self, runner: CommandRunner) -> None:
        self.runner = runner

    def _shell(self, serial: str, *args: str, timeout: float = 30) -> CommandResult:
        res = self.runner.run(["adb", "-s", serial, "shell", *args], timeout=timeout)
        if res.returncode != 0:
            raise ToolError(f"adb shell {' '.join(args)} on {serial} failed: {res.stderr.strip()}")
        return res

    def devices(self) -> list[AdbDevice]:
        """Devices adb sees (an 'unauthorized' one needs the USB-debugging prompt accepted)."""
        return parse_devices(self.runner.run(["adb", "devices", "-l"], timeout=15).stdout)

    def info(self, serial: str) -> tuple[TabletInfo, list[CommandResult]]:
        """Identity, battery and storage of a tablet, with the raw outputs as evidence."""
        props_res = self._shell(serial, "getprop")
        props = parse_getprop(props_res.stdout)
        outputs = [redact_props(props_res)]
        battery: BatteryState | None = None
        total = free = None
        try:
            bat_res = self._shell(serial, "dumpsys", "battery")
            outputs.append(bat_res)
            battery = parse_battery(bat_res.stdout)
        except (ToolError, ParseError) as exc:
            log.info("no battery facts from %s: %s", serial, exc)
        try:
            df_res = self._shell(serial, "df", "/data")
            outputs.append(df_res)
            total, free = parse_df(df_res.stdout)
        except (ToolError, ParseError) as exc:
            log.info("no storage facts from %s: %s", serial, exc)
        tablet_serial_number, serial_source = tablet_serial(props, serial)
        info = TabletInfo(
            serial=tablet_serial_number,
            manufacturer=props.get("ro.product.manufacturer", ""),
            model=props.get("ro.product.model", ""),
            android_version=props.get("ro.build.version.release", ""),
            sdk=props.get("ro.build.version.sdk", ""),
            battery=battery,
            storage_total_bytes=total,
            storage_free_bytes=free,
            serial_source=serial_source,
        )
        return info, outputs

    def account_types(self, serial: str) -> tuple[dict[str, int], CommandResult]:
        """Signed-in account counts by type."""
        res = self._shell(serial, "dumpsys", "account")
        return parse_account_types(res.stdout), redact_accounts(res)
