"""Disk facts: each physical disk's size, its filesystems' free space, and SMART figures.

Mount points and device names are used locally to add things up and are never reported.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from agent.collect.smart import SMARTCTL, SmartError, SmartFacts, read_smart
from agent.report import Disk
from agent.runner import CommandRunner, RunnerError

log = logging.getLogger(__name__)

SYS_BLOCK = Path("/sys/block")
SYS_CLASS_BLOCK = Path("/sys/class/block")
MAX_DISKS = 16
# Block devices that are not a physical disk of this laptop (optical, floppy, network).
_NOT_A_DISK = ("sr", "fd", "nbd", "loop", "ram", "zram", "dm-", "md")


@dataclass(frozen=True)
class Mounted:
    """One mounted filesystem: its block device path and how much space it has."""

    device: str
    total_bytes: int
    free_bytes: int


def mounted_filesystems() -> list[Mounted]:
    """Physical filesystems from psutil, each device once (bind mounts and subvolumes share one)."""
    import psutil

    seen: dict[str, Mounted] = {}
    for part in psutil.disk_partitions(all=False):
        if part.device in seen or not part.device:
            continue
        if {"cdrom", "removable"} & set(part.opts.split(",")):
            continue  # Windows marks optical and USB drives in opts; they are not the laptop's
        try:
            usage = psutil.disk_usage(part.mountpoint)
        except OSError:
            continue  # an empty card reader or a vanished mount: nothing to count
        seen[part.device] = Mounted(part.device, usage.total, usage.free)
    return list(seen.values())


def physical_disks(sys_block: Path = SYS_BLOCK) -> list[str]:
    """Names of this machine's fixed physical disks (sda, nvme0n1, ...), sorted."""
    names = []
    for entry in sorted(sys_block.iterdir()):
        name = entry.name
        if name.startswith(_NOT_A_DISK) or not (entry / "device").exists():
            continue
        if _read(entry / "removable") == "1":
            continue  # USB sticks and card readers come and go; they are not the laptop's disk
        names.append(name)
    return names


def disk_of(device: str, sys_class_block: Path = SYS_CLASS_BLOCK) -> set[str]:
    """The physical disk name(s) a mounted device lives on (through partitions, LVM, LUKS)."""
    name = Path(os.path.realpath(device)).name
    node = sys_class_block / name
    if not node.exists():
        return set()
    slaves = node / "slaves"
    if slaves.is_dir() and any(slaves.iterdir()):
        found: set[str] = set()
        for slave in slaves.iterdir():
            found |= disk_of(slave.name, sys_class_block)
        return found
    if (node / "partition").exists():
        return {Path(os.path.realpath(node)).parent.name}
    return {name}


def collect_disks_linux(
    runner: CommandRunner,
    mounted: Callable[[], list[Mounted]] = mounted_filesystems,
    sys_block: Path = SYS_BLOCK,
    sys_class_block: Path = SYS_CLASS_BLOCK,
) -> tuple[list[Disk], list[str]]:
    """One Disk per fixed physical disk, with free space summed over its filesystems."""
    errors: list[str] = []
    names = physical_disks(sys_block)[:MAX_DISKS]
    free: dict[str, int] = {}
    for fs in mounted():
        for disk in disk_of(fs.device, sys_class_block):
            free[disk] = free.get(disk, 0) + fs.free_bytes
    has_smartctl = runner.which(SMARTCTL) is not None
    if not has_smartctl:
        errors.append("disks: smartctl not installed, no SMART figures")
    disks = []
    for i, name in enumerate(names):
        sectors = _read(sys_block / name / "size")
        base = Disk(
            kind="nvme" if name.startswith("nvme") else "unknown",
            size_bytes=int(sectors) * 512 if sectors and sectors.isdigit() else None,
            free_bytes=free.get(name),
        )
        if has_smartctl:
            base, error = _with_smart(base, runner, f"/dev/{name}", i)
            if error:
                errors.append(error)
        disks.append(base)
    if not names:
        errors.append("disks: no fixed disk found")
    return disks, errors


def collect_disks_other(
    runner: CommandRunner,
    mounted: Callable[[], list[Mounted]] = mounted_filesystems,
) -> tuple[list[Disk], list[str]]:
    """Windows/macOS: one Disk for all fixed filesystems; SMART when smartctl finds one disk."""
    filesystems = mounted()
    if not filesystems:
        return [], ["disks: no fixed disk found"]
    disk = Disk(
        size_bytes=sum(fs.total_bytes for fs in filesystems),
        free_bytes=sum(fs.free_bytes for fs in filesystems),
    )
    if runner.which(SMARTCTL) is None:
        return [disk], ["disks: smartctl not installed, no SMART figures"]
    try:
        scan = runner.run((SMARTCTL, "--scan", "--json"), timeout=15.0)
        devices = json.loads(scan.stdout).get("devices") or []
    except (RunnerError, json.JSONDecodeError, AttributeError) as exc:
        return [disk], [f"disks: smartctl scan failed ({exc})"[:200]]
    if len(devices) != 1 or not isinstance(devices[0], dict):
        # Without the OS's volume-to-disk map, free space cannot be split between disks.
        return [disk], [f"disks: {len(devices)} disks found, SMART figures left out"]
    disk, error = _with_smart(disk, runner, str(devices[0].get("name", "")), 0)
    return [disk], [error] if error else []


def _with_smart(disk: Disk, runner: CommandRunner, device: str, index: int) -> tuple[Disk, str]:
    try:
        facts: SmartFacts = read_smart(runner, device)
    except SmartError as exc:
        return disk, f"disks[{index}]: no SMART data ({exc})"[:200]
    return replace(
        disk,
        kind=facts.kind if facts.kind != "unknown" else disk.kind,
        size_bytes=disk.size_bytes or facts.size_bytes,
        smart_passed=facts.smart_passed,
        power_on_hours=facts.power_on_hours,
        temperature_c=facts.temperature_c,
        reallocated_sectors=facts.reallocated_sectors,
        pending_sectors=facts.pending_sectors,
        uncorrectable_sectors=facts.uncorrectable_sectors,
        nvme_critical_warning=facts.nvme_critical_warning,
        percentage_used=facts.percentage_used,
        media_errors=facts.media_errors,
    ), ""


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
