"""Tablets on the USB bus, from sysfs: Android in adb mode, Apple devices by vendor id."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from station.hw.runner import SEARCH_PATH, installed

log = logging.getLogger(__name__)

SYS_USB = Path("/sys/bus/usb/devices")
APPLE_VENDOR_ID = "05ac"
# The adb interface: vendor-specific class 0xff, subclass 0x42, protocol 0x01.
ADB_INTERFACE = ("ff", "42", "01")


@dataclass(frozen=True)
class UsbTablet:
    """A tablet seen on the USB bus, before any adb/pymobiledevice3 conversation."""

    usb_path: str
    kind: str  # "android-adb" | "apple"
    vendor_id: str
    product_id: str
    manufacturer: str
    product: str
    serial: str
    procedure: str  # how the station can handle it


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return ""


def _has_adb_interface(sysdir: Path) -> bool:
    try:
        interfaces = [p for p in sysdir.iterdir() if ":" in p.name]
    except OSError:
        return False
    for intf in interfaces:
        triple = tuple(
            _read(intf / f) for f in ("bInterfaceClass", "bInterfaceSubClass", "bInterfaceProtocol")
        )
        if triple == ADB_INTERFACE:
            return True
    return False


def _apple_procedure(search_path: str) -> str:
    # The station runs pymobiledevice3's command line (station.hw.ios); it is optional.
    if not installed("pymobiledevice3", search_path):
        return "needs manual procedure (pymobiledevice3 not installed)"
    return "pymobiledevice3"


def read_tablet(sysdir: Path, search_path: str = SEARCH_PATH) -> UsbTablet | None:
    """Recognise a tablet from a usb_device sysfs folder; None for anything else.

    ``search_path``: where the station's runner looks for tools (pymobiledevice3 for iPads).
    """
    vendor = _read(sysdir / "idVendor").lower()
    if not vendor:
        return None
    if vendor == APPLE_VENDOR_ID:
        kind, procedure = "apple", _apple_procedure(search_path)
    elif _has_adb_interface(sysdir):
        kind, procedure = "android-adb", "adb"
    else:
        return None
    return UsbTablet(
        usb_path=str(sysdir),
        kind=kind,
        vendor_id=vendor,
        product_id=_read(sysdir / "idProduct").lower(),
        manufacturer=_read(sysdir / "manufacturer"),
        product=_read(sysdir / "product"),
        serial=_read(sysdir / "serial"),
        procedure=procedure,
    )


def list_tablets(sys_usb: Path = SYS_USB, search_path: str = SEARCH_PATH) -> list[UsbTablet]:
    """Tablets attached now."""
    tablets = []
    try:
        entries = sorted(sys_usb.iterdir())
    except OSError:
        return []
    for entry in entries:
        if ":" in entry.name:
            continue  # an interface, not a device
        tablet = read_tablet(entry.resolve(), search_path)
        if tablet:
            tablets.append(tablet)
    return tablets
