"""Block-device facts from sysfs (and udev's database when udevd runs): plain dataclasses out."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from station.errors import DeviceError

log = logging.getLogger(__name__)

SYS_BLOCK = Path("/sys/class/block")
UDEV_DATA = Path("/run/udev/data")
# Kernel names that are never wipe targets shown in the live table.
VIRTUAL_PREFIXES = ("ram", "zram", "dm-", "md", "sr", "fd")


@dataclass(frozen=True)
class BlockDevice:
    """One whole disk as the station sees it; partitions are rolled up into it."""

    name: str
    path: str
    major_minor: str
    size_bytes: int
    logical_block_size: int = 512
    physical_block_size: int = 512
    rotational: bool = False
    removable: bool = False
    read_only: bool = False
    transport: str = "unknown"
    vendor: str = ""
    model: str = ""
    serial: str = ""
    serial_source: str = "none"
    diskseq: str = ""
    partitions: tuple[str, ...] = ()
    holders: tuple[str, ...] = ()
    backing_file: str = ""
    udev: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_loop(self) -> bool:
        """True for a loop device (tests and training only)."""
        return self.transport == "loop"

    @property
    def confirm_token(self) -> str:
        """What the technician types to confirm: last 4 of the serial, else the kernel name."""
        return self.serial[-4:] if self.serial else self.name

    @property
    def media_type(self) -> str:
        """NIST 800-88 media type: magnetic for spinning disks, flash otherwise."""
        if self.is_loop:
            return "virtual (loop device)"
        return "magnetic (HDD)" if self.rotational else "flash memory (SSD/NVMe/eMMC)"

    def with_serial(self, serial: str, source: str) -> BlockDevice:
        """Return a copy carrying a serial found elsewhere (e.g. smartctl) and its source."""
        return replace(self, serial=serial, serial_source=source)


def _read(path: Path, default: str = "") -> str:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return default


def _read_int(path: Path, default: int = 0) -> int:
    try:
        return int(_read(path, str(default)))
    except ValueError:
        return default


# Properties that describe one uevent, not the device.
_EVENT_ONLY = frozenset({"ACTION", "SEQNUM", "SYNTH_UUID", "USEC_INITIALIZED"})


def read_udev_properties(major_minor: str, udev_data: Path = UDEV_DATA) -> dict[str, str]:
    """Read udev's stored facts for a block device, empty without udevd.

    The database keeps the properties rules added as ``E:`` lines and the device's
    links as ``S:`` lines (udev's DEVLINKS property, without the /dev/ prefix).
    """
    text = _read(udev_data / f"b{major_minor}")
    props: dict[str, str] = {}
    links: list[str] = []
    for line in text.splitlines():
        if line.startswith("E:") and "=" in line:
            key, _, value = line[2:].partition("=")
            props[key] = value
        elif line.startswith("S:"):
            links.append(f"/dev/{line[2:]}")
    if links and "DEVLINKS" not in props:
        props["DEVLINKS"] = " ".join(links)
    return props


def _transport(name: str, sysdir: Path, udev: dict[str, str]) -> str:
    real = str(sysdir.resolve())
    if name.startswith("loop"):
        return "loop"
    if name.startswith("nvme"):
        return "nvme"
    if name.startswith("mmcblk"):
        return "mmc"
    bus = udev.get("ID_BUS", "")
    if bus == "usb" or "/usb" in real:
        return "usb"
    if bus == "ata" or re.search(r"/ata\d+/", real):
        return "sata"
    if "virtio" in real:
        return "virtio"
    if bus == "scsi" or "/host" in real:
        return "scsi"
    return "unknown"


def _serial(sysdir: Path, udev: dict[str, str]) -> tuple[str, str]:
    # Why this order: udev's ID_SERIAL_SHORT is the drive's own serial when the bus
    # passes it through; sysfs has it for NVMe/virtio; USB bridges often garble it.
    for key in ("ID_SERIAL_SHORT", "ID_SCSI_SERIAL"):
        if udev.get(key):
            return udev[key].strip(), f"udev {key}"
    for rel in ("device/serial", "serial"):
        value = _read(sysdir / rel)
        if value:
            return value, "sysfs"
    return "", "none"


def _partitions(sysdir: Path, name: str) -> tuple[str, ...]:
    try:
        return tuple(
            sorted(
                p.name
                for p in sysdir.iterdir()
                if p.name.startswith(name) and (p / "partition").exists()
            )
        )
    except OSError:
        return ()


def _holders(sysdir: Path) -> tuple[str, ...]:
    try:
        return tuple(sorted(p.name for p in (sysdir / "holders").iterdir()))
    except OSError:
        return ()


def read_block_device(
    name: str,
    sys_block: Path = SYS_BLOCK,
    udev_data: Path = UDEV_DATA,
    udev_event: Mapping[str, str] | None = None,
) -> BlockDevice:
    """Read the facts of one whole disk by kernel name (``sda``, ``/dev/sda`` or ``loop0``).

    ``udev_event``: the properties of the udev event that announced it (over the database's).
    """
    # /dev/disk/by-id/... and other links lead to the kernel name.
    name = os.path.basename(os.path.realpath(name) if name.startswith("/dev/") else name)
    sysdir = sys_block / name
    if not sysdir.exists():
        raise DeviceError(f"no block device named {name!r}")
    if (sysdir / "partition").exists():
        raise DeviceError(f"{name} is a partition; name the whole disk")
    major_minor = _read(sysdir / "dev")
    udev = read_udev_properties(major_minor, udev_data)
    if udev_event:
        udev.update((k, v) for k, v in udev_event.items() if k not in _EVENT_ONLY)
    serial, serial_source = _serial(sysdir, udev)
    vendor = udev.get("ID_VENDOR", "") or _read(sysdir / "device/vendor")
    model = udev.get("ID_MODEL", "").replace("_", " ") or _read(sysdir / "device/model")
    holders = set(_holders(sysdir))
    parts = _partitions(sysdir, name)
    for part in parts:
        holders.update(_holders(sysdir / part))
    return BlockDevice(
        name=name,
        path=f"/dev/{name}",
        major_minor=major_minor,
        size_bytes=_read_int(sysdir / "size") * 512,
        logical_block_size=_read_int(sysdir / "queue/logical_block_size", 512),
        physical_block_size=_read_int(sysdir / "queue/physical_block_size", 512),
        rotational=_read(sysdir / "queue/rotational") == "1",
        removable=_read(sysdir / "removable") == "1",
        read_only=_read(sysdir / "ro") == "1",
        transport=_transport(name, sysdir, udev),
        vendor=vendor.strip(),
        model=model.strip(),
        serial=serial,
        serial_source=serial_source,
        diskseq=_read(sysdir / "diskseq"),
        partitions=parts,
        holders=tuple(sorted(holders)),
        backing_file=_read(sysdir / "loop/backing_file"),
        udev=udev,
    )


def list_disks(
    *, include_loop: bool = False, sys_block: Path = SYS_BLOCK, udev_data: Path = UDEV_DATA
) -> list[BlockDevice]:
    """List whole disks with media; loop devices only when admitted and attached."""
    disks: list[BlockDevice] = []
    try:
        names = sorted(p.name for p in sys_block.iterdir())
    except OSError as exc:
        raise DeviceError(f"cannot list {sys_block}: {exc}") from exc
    for name in names:
        if name.startswith(VIRTUAL_PREFIXES) or (sys_block / name / "partition").exists():
            continue
        if name.startswith("loop") and not include_loop:
            continue
        try:
            dev = read_block_device(name, sys_block, udev_data)
        except DeviceError:
            continue  # vanished between listing and reading
        if dev.is_loop and not dev.backing_file:
            continue  # an unattached loop device is not a device at all
        disks.append(dev)
    return disks


def is_same_device_present(dev: BlockDevice, sys_block: Path = SYS_BLOCK) -> bool:
    """True if the same disk (same diskseq, same size) is still attached."""
    sysdir = sys_block / dev.name
    if not sysdir.exists():
        return False
    if dev.diskseq and _read(sysdir / "diskseq") != dev.diskseq:
        return False
    if _read_int(sysdir / "size") * 512 != dev.size_bytes:
        return False
    return not (dev.is_loop and not _read(sysdir / "loop/backing_file"))
