"""Device events: udev (or bare kernel) uevents turned into named station events, in one place.

With udevd running the monitor listens to udev (its events carry ID_SERIAL, ID_MODEL,
ID_BUS...); without it, to the kernel's own uevents, and the facts come from sysfs.
Partitions roll up: a partition event becomes a MediaChanged of its disk.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyudev

from station.errors import DeviceError
from station.hw.blockdev import (
    SYS_BLOCK,
    VIRTUAL_PREFIXES,
    BlockDevice,
    list_disks,
    read_block_device,
)
from station.hw.runner import SEARCH_PATH
from station.hw.usb import UsbTablet, list_tablets, read_tablet

log = logging.getLogger(__name__)

UDEV_CONTROL = Path("/run/udev/control")


@dataclass(frozen=True)
class DiskAttached:
    """A disk with media appeared."""

    device: BlockDevice


@dataclass(frozen=True)
class DiskDetached:
    """A disk went away (unplugged, or its media removed)."""

    name: str


@dataclass(frozen=True)
class MediaChanged:
    """A known disk changed (new partition table, resized, media swapped)."""

    device: BlockDevice


@dataclass(frozen=True)
class TabletAttached:
    """A tablet appeared on the USB bus."""

    tablet: UsbTablet


@dataclass(frozen=True)
class TabletDetached:
    """A tablet left the USB bus."""

    usb_path: str


StationEvent = DiskAttached | DiskDetached | MediaChanged | TabletAttached | TabletDetached
EventCallback = Callable[[StationEvent], None]


def udevd_running(control: Path = UDEV_CONTROL) -> bool:
    """True if udevd answers on its control socket (a file left by a dead udevd does not)."""
    if not control.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as sock:
        try:
            sock.connect(str(control))
        except OSError:
            return False
    return True


def event_source() -> str:
    """'udev' when udevd runs, else 'kernel': without udevd a udev monitor hears nothing."""
    return "udev" if udevd_running() else "kernel"


class Translator:
    """Turns raw uevents into station events, remembering which disks and tablets it knows."""

    def __init__(
        self, include_loop: bool, sys_block: Path = SYS_BLOCK, search_path: str = SEARCH_PATH
    ) -> None:
        self.include_loop = include_loop
        self.sys_block = sys_block
        self.search_path = search_path  # where the runner finds tools (iPads: pymobiledevice3)
        self.disks: dict[str, BlockDevice] = {}
        self.tablets: set[str] = set()

    def _wanted(self, name: str) -> bool:
        if name.startswith(VIRTUAL_PREFIXES):
            return False
        return self.include_loop or not name.startswith("loop")

    def _read_disk(self, name: str, udev: Mapping[str, str] | None = None) -> BlockDevice | None:
        try:
            dev = read_block_device(name, self.sys_block, udev_event=udev)
        except DeviceError:
            return None
        if dev.size_bytes == 0 or (dev.is_loop and not dev.backing_file):
            return None
        return dev

    def block(
        self,
        action: str,
        name: str,
        devtype: str,
        parent: str = "",
        udev: Mapping[str, str] | None = None,
    ) -> StationEvent | None:
        """Translate one block-subsystem uevent (``udev``: its properties, from udevd)."""
        if devtype == "partition":
            disk = parent or name.rstrip("0123456789").removesuffix("p")
            dev = self._read_disk(disk) if disk in self.disks else None
            if dev:
                self.disks[disk] = dev
                return MediaChanged(dev)
            return None
        if devtype != "disk" or not self._wanted(name):
            return None
        dev = None if action == "remove" else self._read_disk(name, udev)
        if dev is None:
            return DiskDetached(name) if self.disks.pop(name, None) else None
        known = name in self.disks
        self.disks[name] = dev
        return MediaChanged(dev) if known else DiskAttached(dev)

    def usb(self, action: str, sys_path: str) -> StationEvent | None:
        """Translate one usb_device uevent into a tablet event (other USB devices are ignored)."""
        if action == "remove":
            if sys_path in self.tablets:
                self.tablets.discard(sys_path)
                return TabletDetached(sys_path)
            return None
        if action != "add":
            return None
        tablet = read_tablet(Path(sys_path), self.search_path)
        if tablet is None:
            return None
        self.tablets.add(sys_path)
        return TabletAttached(tablet)

    def enumerate(self) -> list[StationEvent]:
        """Events for everything already attached (the live table's first rows)."""
        events: list[StationEvent] = []
        for dev in list_disks(include_loop=self.include_loop, sys_block=self.sys_block):
            self.disks[dev.name] = dev
            events.append(DiskAttached(dev))
        for tablet in list_tablets(search_path=self.search_path):
            self.tablets.add(tablet.usb_path)
            events.append(TabletAttached(tablet))
        return events


class DeviceWatcher:
    """Watches uevents in a background thread and calls ``on_event`` with station events."""

    def __init__(
        self,
        on_event: EventCallback,
        *,
        include_loop: bool = False,
        source: str | None = None,
        search_path: str = SEARCH_PATH,
    ):
        self.on_event = on_event
        self.source = source or event_source()
        self.translator = Translator(include_loop, search_path=search_path)
        self._observer: pyudev.MonitorObserver | None = None
        self._lock = threading.Lock()

    def start(self) -> list[StationEvent]:
        """Start listening; return events for what is attached already."""
        context = pyudev.Context()
        monitor = pyudev.Monitor.from_netlink(context, source=self.source)
        self._observer = pyudev.MonitorObserver(monitor, callback=self._handle, name="station-udev")
        self._observer.start()
        log.info("watching %s uevents", self.source)
        with self._lock:
            return self.translator.enumerate()

    def stop(self) -> None:
        """Stop listening."""
        if self._observer is not None:
            self._observer.send_stop()
            self._observer = None

    def _handle(self, device: pyudev.Device) -> None:
        try:
            with self._lock:
                event = self._translate(device)
            if event is not None:
                self.on_event(event)
        except Exception:  # the edge of the monitor loop: one bad event must not stop it
            log.exception("could not handle uevent %s", getattr(device, "sys_path", "?"))

    def _translate(self, device: pyudev.Device) -> StationEvent | None:
        action = device.action or ""
        if device.subsystem == "block":
            parent = (
                device.parent.sys_name
                if device.device_type == "partition" and device.parent
                else ""
            )
            # udevd's events carry what its rules found (ID_*, DEVLINKS); the kernel's do not.
            props = dict(device.properties) if self.source == "udev" else None
            return self.translator.block(
                action, device.sys_name, device.device_type or "", parent, props
            )
        if device.subsystem == "usb" and device.device_type == "usb_device":
            return self.translator.usb(action, device.sys_path)
        return None
