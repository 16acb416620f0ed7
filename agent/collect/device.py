"""The real collector: this machine's facts, one fact family per module, errors kept as facts."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from agent.collect import battery, disks, memory, system, temps
from agent.collect.snapshot import Snapshot
from agent.report import Disk, Temperatures
from agent.runner import CommandRunner, SubprocessRunner

log = logging.getLogger(__name__)
T = TypeVar("T")


class DeviceCollector:
    """Collects the facts of the machine it runs on; paths and tools are injectable for tests."""

    def __init__(
        self,
        runner: CommandRunner | None = None,
        *,
        power_supply_dir: Path = battery.SYS_POWER_SUPPLY,
        sys_block: Path = disks.SYS_BLOCK,
        sys_class_block: Path = disks.SYS_CLASS_BLOCK,
        os_release: Path = system.OS_RELEASE,
        mounted: Callable[[], list[disks.Mounted]] = disks.mounted_filesystems,
        temperatures: Callable[[], temps.Readings] = temps.psutil_temperatures,
        linux: bool | None = None,
    ) -> None:
        self.runner = runner or SubprocessRunner()
        self.power_supply_dir = power_supply_dir
        self.sys_block = sys_block
        self.sys_class_block = sys_class_block
        self.os_release = os_release
        self.mounted = mounted
        self.temperatures = temperatures
        self.linux = sys.platform.startswith("linux") if linux is None else linux

    def collect(self) -> Snapshot:
        """Take one snapshot of this machine."""
        errors: list[str] = []
        now = datetime.now(UTC)
        if self.linux:
            bat = _guard(
                "battery", errors, lambda: battery.battery_from_sysfs(self.power_supply_dir)
            )
            found = _guard(
                "disks",
                errors,
                lambda: disks.collect_disks_linux(
                    self.runner, self.mounted, self.sys_block, self.sys_class_block
                ),
            )
        else:
            bat = _guard(
                "battery", errors, lambda: battery.battery_from_psutil(battery.psutil_battery)
            )
            found = _guard(
                "disks", errors, lambda: disks.collect_disks_other(self.runner, self.mounted)
            )
        mem = _guard("memory", errors, memory.collect_memory)
        heat = _guard("temperatures", errors, lambda: temps.collect_temperatures(self.temperatures))
        os_name = os_version = None
        try:
            os_name, os_version, os_errors = system.os_name_version(self.os_release)
            errors.extend(os_errors)
        except Exception:  # a collector edge: record and carry on
            log.exception("system: OS name and version failed")
            errors.append("system: OS name and version not readable")
        uptime = _guard("uptime", errors, lambda: (system.uptime_seconds(), []))
        disk_list: list[Disk] = found or []
        return Snapshot(
            measured_at=now,
            os_name=os_name,
            os_version=os_version,
            uptime_s=uptime,
            battery=bat,
            disks=tuple(disk_list),
            memory=mem,
            temperatures=_with_disk_temperature(heat, disk_list),
            errors=tuple(errors),
        )


def _guard(family: str, errors: list[str], fn: Callable[[], tuple[T, list[str]]]) -> T | None:
    """Run one fact family; an unexpected failure becomes an error string, never a crash."""
    try:
        value, found_errors = fn()
    except Exception as exc:  # the edge of one collector: logged with its traceback, recorded
        log.exception("%s collector failed", family)
        errors.append(f"{family}: collector failed ({type(exc).__name__})")
        return None
    errors.extend(found_errors)
    return value


def _with_disk_temperature(heat: Temperatures | None, found: list[Any]) -> Temperatures | None:
    """Disk temperature: the hottest of the OS sensors and the disks' own SMART readings."""
    smart = [d.temperature_c for d in found if isinstance(d, Disk) and d.temperature_c is not None]
    if not smart:
        return heat
    hottest = max(smart)
    if heat is None:
        return Temperatures(disk_c=hottest)
    if heat.disk_c is None or heat.disk_c < hottest:
        return replace(heat, disk_c=hottest)
    return heat
