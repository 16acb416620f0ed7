"""Safety checks before any destructive action: the station refuses, with the reason shown."""

from __future__ import annotations

import errno
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from station.errors import DeviceError, SafetyRefusal
from station.hw.blockdev import SYS_BLOCK, BlockDevice, read_block_device
from station.reasons import Reason, reason

log = logging.getLogger(__name__)

PROC = Path("/proc")
_SYSTEM_MOUNTS = ("/", "/boot", "/boot/efi")


@dataclass(frozen=True)
class Mount:
    """One line of /proc/self/mountinfo that matters here."""

    major_minor: str
    mount_point: str
    source: str


@dataclass(frozen=True)
class SystemState:
    """What the running system holds: mounts, swaps, RAID members, its own boot disks."""

    mounts: tuple[Mount, ...] = ()
    swaps: tuple[str, ...] = ()
    md_members: dict[str, str] = field(default_factory=dict)
    boot_disks: frozenset[str] = frozenset()


def _unescape(text: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def parse_mountinfo(text: str) -> tuple[Mount, ...]:
    """Parse /proc/self/mountinfo text into mounts (device number, mount point, source)."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 5:
            continue
        rest = right.split()
        source = _unescape(rest[1]) if len(rest) > 1 else ""
        mounts.append(Mount(fields[2], _unescape(fields[4]), source))
    return tuple(mounts)


def parse_swaps(text: str) -> tuple[str, ...]:
    """Return the swap areas listed in /proc/swaps."""
    lines = text.splitlines()[1:]
    return tuple(_unescape(line.split()[0]) for line in lines if line.split())


def parse_mdstat(text: str) -> dict[str, str]:
    """Map each member of an active md RAID array to its array name."""
    members: dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r"^(md\S*)\s*:\s*active\s+(.*)$", line)
        if not m:
            continue
        for token in m.group(2).split():
            member = re.match(r"^([a-z][\w-]*)\[\d+\]", token)
            if member:
                members[member.group(1)] = m.group(1)
    return members


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _disks_under(major_minor: str, sys_block: Path) -> set[str]:
    """Whole disks under a device number, following partitions and dm/md slaves."""
    link = sys_block.parent.parent / "dev" / "block" / major_minor
    try:
        real = link.resolve(strict=True)
    except OSError:
        return set()
    if (real / "partition").exists():
        real = real.parent
    slaves = [p.name for p in (real / "slaves").iterdir()] if (real / "slaves").is_dir() else []
    if not slaves:
        return {real.name}
    disks: set[str] = set()
    for slave in slaves:
        dev = _read(sys_block / slave / "dev").strip()
        if dev:
            disks |= _disks_under(dev, sys_block)
    return disks


def read_system_state(proc: Path = PROC, sys_block: Path = SYS_BLOCK) -> SystemState:
    """Read mounts, swaps, RAID membership and the station's own boot disks."""
    mounts = parse_mountinfo(_read(proc / "self" / "mountinfo"))
    boot: set[str] = set()
    for mount in mounts:
        if mount.mount_point in _SYSTEM_MOUNTS and not mount.major_minor.startswith("0:"):
            boot |= _disks_under(mount.major_minor, sys_block)
    return SystemState(
        mounts=mounts,
        swaps=parse_swaps(_read(proc / "swaps")),
        md_members=parse_mdstat(_read(proc / "mdstat")),
        boot_disks=frozenset(boot),
    )


def _device_numbers(dev: BlockDevice, sys_block: Path) -> dict[str, str]:
    """Device numbers of the disk, its partitions and their holders, mapped to names."""
    names = [dev.name, *dev.partitions, *dev.holders]
    numbers = {}
    for name in names:
        number = _read(sys_block / name / "dev").strip()
        if number:
            numbers[number] = name
    numbers.setdefault(dev.major_minor, dev.name)
    return numbers


def refusal_reasons(
    dev: BlockDevice, state: SystemState | None = None, sys_block: Path = SYS_BLOCK
) -> list[Reason]:
    """Every reason the station must not wipe ``dev``; empty when it may."""
    state = state if state is not None else read_system_state(sys_block=sys_block)
    reasons: list[Reason] = []
    numbers = _device_numbers(dev, sys_block)
    names = set(numbers.values())
    for mount in state.mounts:
        source_name = (
            os.path.basename(os.path.realpath(mount.source))
            if mount.source.startswith("/dev/")
            else ""
        )
        name = numbers.get(mount.major_minor) or (source_name if source_name in names else "")
        if not name:
            continue
        if mount.mount_point == "/":
            reasons.append(reason("holds_root", name=name))
        elif mount.mount_point in _SYSTEM_MOUNTS:
            reasons.append(reason("holds_boot", name=name, mount_point=mount.mount_point))
        else:
            reasons.append(reason("mounted", name=name, mount_point=mount.mount_point))
    for swap in state.swaps:
        if os.path.basename(os.path.realpath(swap)) in names:
            reasons.append(reason("swap", swap=swap))
    for name in sorted(names):
        if name in state.md_members:
            reasons.append(reason("raid_member", name=name, array=state.md_members[name]))
    for holder in dev.holders:
        if holder.startswith("dm-"):
            dm_name = _read(sys_block / holder / "dm" / "name").strip()
            reasons.append(reason("held_by_dm", name=dev.name, holder=dm_name or holder))
        else:
            reasons.append(reason("held_by", name=dev.name, holder=holder))
    if dev.name in state.boot_disks:
        reasons.append(reason("boot_disk", name=dev.name))
    if dev.read_only:
        reasons.append(reason("read_only", name=dev.name))
    if dev.size_bytes == 0:
        reasons.append(reason("no_media", name=dev.name))
    reasons.extend(_backing_reasons(dev, state, sys_block))
    if not reasons:
        reasons.extend(_exclusive_open_reason(dev))
    return reasons


def _backing_reasons(dev: BlockDevice, state: SystemState, sys_block: Path) -> list[Reason]:
    """A loop device over another block device is as protected as that device."""
    if not (dev.is_loop and dev.backing_file.startswith("/dev/")):
        return []
    try:
        backing = read_block_device(_whole_disk(dev.backing_file, sys_block), sys_block)
    except DeviceError as exc:
        return [
            reason("backing_unreadable", name=dev.name, backing=dev.backing_file, error=str(exc))
        ]
    inner = refusal_reasons(backing, state, sys_block)
    return [reason("backed_by", why, name=dev.name, backing=backing.path) for why in inner]


def _whole_disk(path: str, sys_block: Path) -> str:
    """The whole disk a block device path belongs to (a partition's parent)."""
    name = os.path.basename(os.path.realpath(path))
    sysdir = sys_block / name
    if (sysdir / "partition").exists():
        return sysdir.resolve().parent.name
    return name


def _exclusive_open_reason(dev: BlockDevice) -> list[Reason]:
    """Last guard: the kernel itself says the disk is busy if anything holds it."""
    try:
        fd = os.open(dev.path, os.O_RDONLY | os.O_EXCL)
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            return [reason("busy", name=dev.name)]
        return [reason("cannot_open", path=dev.path, error=exc.strerror or str(exc))]
    os.close(fd)
    return []


def confirmation_matches(dev: BlockDevice, typed: str | None) -> bool:
    """True if the technician typed the device's confirmation token (case-insensitive)."""
    if not typed:
        return False
    return typed.strip().casefold() == dev.confirm_token.casefold()


def check_wipe_allowed(
    dev: BlockDevice,
    confirm: str | None,
    state: SystemState | None = None,
    sys_block: Path = SYS_BLOCK,
) -> None:
    """Raise SafetyRefusal with every reason if ``dev`` must not be wiped."""
    reasons = refusal_reasons(dev, state, sys_block)
    if not confirmation_matches(dev, confirm):
        reasons.append(confirmation_reason(dev, confirm))
    if reasons:
        log.warning("refused to wipe %s: %s", dev.path, "; ".join(map(str, reasons)))
        raise SafetyRefusal(reasons)


def confirmation_reason(dev: BlockDevice, typed: str | None) -> Reason:
    """The refusal for a confirmation that does not match ``dev``."""
    code = "confirm_serial" if dev.serial else "confirm_name"
    return reason(code, typed=typed or "", name=dev.name)
