"""Battery facts: Linux `/sys/class/power_supply`, elsewhere what psutil exposes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent.report import Battery

log = logging.getLogger(__name__)

SYS_POWER_SUPPLY = Path("/sys/class/power_supply")


@dataclass(frozen=True)
class PsutilBattery:
    """The part of psutil's battery answer the agent uses (None: no battery)."""

    percent: float
    plugged_in: bool | None


def read_uevent(path: Path) -> dict[str, str]:
    """Parse a power_supply `uevent` file into {KEY: value} without the POWER_SUPPLY_ prefix."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.removeprefix("POWER_SUPPLY_").strip()] = value.strip()
    return out


def _supply_type(folder: Path, props: dict[str, str]) -> str:
    # Real sysfs has a `type` file; uevent captures may only carry the properties.
    type_file = folder / "type"
    if type_file.is_file():
        return type_file.read_text(encoding="utf-8").strip()
    if "TYPE" in props:
        return props["TYPE"]
    if any(k in props for k in ("CAPACITY", "ENERGY_FULL", "CHARGE_FULL")):
        return "Battery"
    return "Mains" if "ONLINE" in props else "Unknown"


def _num(props: dict[str, str], key: str) -> float | None:
    try:
        return float(props[key])
    except (KeyError, ValueError):
        return None


def _energy_wh(props: dict[str, str], kind: str) -> float | None:
    """Energy in Wh from ENERGY_* (µWh) or CHARGE_* (µAh) times the design voltage (µV)."""
    energy = _num(props, f"ENERGY_{kind}")
    if energy is not None:
        return energy / 1e6
    charge = _num(props, f"CHARGE_{kind}")
    volts = _num(props, "VOLTAGE_MIN_DESIGN") or _num(props, "VOLTAGE_NOW")
    if charge is not None and volts:
        return charge * volts / 1e12
    return None


def _sum(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known and len(known) == len(values) else None


def battery_from_sysfs(root: Path = SYS_POWER_SUPPLY) -> tuple[Battery | None, list[str]]:
    """Read every system battery and mains adapter under `root` into one Battery."""
    if not root.is_dir():
        return None, [f"battery: {root.name} not available"]
    batteries: list[dict[str, str]] = []
    mains_online: list[bool] = []
    errors: list[str] = []
    for folder in sorted(root.iterdir()):
        uevent = folder / "uevent"
        try:
            props = read_uevent(uevent)
            kind = _supply_type(folder, props)
        except OSError as exc:
            errors.append(f"battery: cannot read a power supply ({exc.strerror})")
            continue
        # Peripheral batteries (mouse, headset) carry SCOPE=Device; they are not the laptop's.
        if props.get("SCOPE") == "Device":
            continue
        if kind == "Battery" and props.get("PRESENT", "1") == "1":
            batteries.append(props)
        elif kind in ("Mains", "USB", "USB_C", "USB_PD") and "ONLINE" in props:
            mains_online.append(props["ONLINE"] == "1")
    if not batteries:
        return None, [*errors, "battery: no battery found"]
    return _combine(batteries, mains_online), errors


def _combine(batteries: list[dict[str, str]], mains_online: list[bool]) -> Battery:
    """Merge one or more batteries (some laptops have two) into one set of facts."""
    design = _sum([_energy_wh(b, "FULL_DESIGN") for b in batteries])
    full = _sum([_energy_wh(b, "FULL") for b in batteries])
    now = _sum([_energy_wh(b, "NOW") for b in batteries])
    if now is not None and full:
        charge: float | None = now / full * 100
    else:
        charge = _sum([_num(b, "CAPACITY") for b in batteries])
        if charge is not None:
            charge /= len(batteries)
    cycles = [int(c) for b in batteries if (c := _num(b, "CYCLE_COUNT")) is not None]
    statuses = [b.get("STATUS", "") for b in batteries]
    status = statuses[0].lower() if statuses and statuses[0] else None
    plugged: bool | None
    if mains_online:
        plugged = any(mains_online)
    elif status in ("charging", "full", "not charging"):
        plugged = True
    elif status == "discharging":
        plugged = False
    else:
        plugged = None
    return Battery(
        charge_pct=_round(min(charge, 100.0) if charge is not None else None),
        plugged_in=plugged,
        design_capacity_wh=_round(design),
        full_capacity_wh=_round(full),
        cycle_count=max(cycles) if cycles else None,
        health_pct=_round(full / design * 100) if full is not None and design else None,
        status=status[:32] if status else None,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def battery_from_psutil(
    probe: Callable[[], PsutilBattery | None],
) -> tuple[Battery | None, list[str]]:
    """Battery facts from psutil (Windows, macOS): charge and plugged-in only."""
    found = probe()
    if found is None:
        return None, ["battery: no battery found"]
    return Battery(charge_pct=_round(found.percent), plugged_in=found.plugged_in), [
        "battery: capacity and cycle count not available on this OS"
    ]


def psutil_battery() -> PsutilBattery | None:
    """psutil.sensors_battery() as a plain dataclass."""
    import psutil

    probe = getattr(psutil, "sensors_battery", None)
    found = probe() if probe else None
    if found is None:
        return None
    return PsutilBattery(percent=float(found.percent), plugged_in=found.power_plugged)
