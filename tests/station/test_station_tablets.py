"""Android tablets over adb: parsing, the factory-reset-protection check, the recorded reset.

The inputs below are HAND-WRITTEN format examples following AOSP's dumpsys/getprop output,
not captures. Real recorded ``adb devices -l``, ``dumpsys battery``, ``df`` and ``getprop`` (an
emulator's) output is tested in test_station_adb_captures.py; for ``dumpsys account`` no licensed
real capture was found (tests/data/station/SOURCES.md, "Still missing"), so ACCOUNTS here is still
the only input of that parser. Replace it with a real capture when a tablet is at hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from station.errors import ParseError
from station.hw.adb import (
    AdbDevice,
    parse_account_types,
    parse_battery,
    parse_devices,
    parse_df,
    parse_getprop,
    redact_accounts,
    tablet_serial,
)
from station.hw.runner import CommandResult
from station.service import Station
from station.tablets import FRP_ADVICE, check_android_reset, record_manual_reset

DEVICES = (
    "List of devices attached\n"
    "R52N10ABCDE            device usb:1-1.2 product:gta7litewifi model:SM_T220 transport_id:3\n"
    "0123456789ABCDEF       unauthorized usb:1-1.3 transport_id:4\n\n"
)
BATTERY = """Current Battery Service state:
  AC powered: false
  USB powered: true
  Wireless powered: false
  Max charging current: 500000
  status: 2
  health: 2
  present: true
  level: 87
  scale: 100
  voltage: 4180
  temperature: 291
  technology: Li-ion
"""
ACCOUNTS = """User UserInfo{0:Owner:c13} running:
  Accounts: 2
    Account {name=someone@example.org, type=com.google}
    Account {name=someone, type=com.samsung.android.mobileservice}
"""
GETPROP = (
    "[ro.product.manufacturer]: [samsung]\n[ro.product.model]: [SM-T220]\n"
    "[ro.build.version.release]: [13]\n[ro.build.version.sdk]: [33]\n"
    "[ro.serialno]: [R52N10ABCDE]\n[persist.sys.device_name]: [Jan's tablet]\n"
)
DF = (
    "Filesystem     1K-blocks    Used Available Use% Mounted on\n"
    "/dev/block/dm-8  24328832 6110464  18087296  26% /data\n"
)


def test_adb_outputs_are_parsed():
    devices = parse_devices(DEVICES)
    assert [(d.serial, d.state, d.model) for d in devices] == [
        ("R52N10ABCDE", "device", "SM T220"),
        ("0123456789ABCDEF", "unauthorized", ""),
    ]
    bat = parse_battery(BATTERY)
    assert (bat.level_pct, bat.health, bat.temperature_c, bat.cycle_count) == (
        87,
        "good",
        29.1,
        None,
    )
    assert parse_getprop(GETPROP)["ro.build.version.release"] == "13"
    assert parse_df(DF) == (24328832 * 1024, 18087296 * 1024)
    assert parse_account_types(ACCOUNTS) == {
        "com.google": 1,
        "com.samsung.android.mobileservice": 1,
    }
    with pytest.raises(ParseError):
        parse_battery("error: device offline")


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"ro.serialno": "R52N10ABCDE"}, ("R52N10ABCDE", "adb ro.serialno")),
        ({"ro.serialno": "", "ro.boot.serialno": "R52N10ABCDE"}, ("R52N10ABCDE", "adb ro.boot.serialno")),
        ({"ro.serialno": ""}, ("emulator-5554", "adb device serial")),
    ],
)  # fmt: skip
def test_an_empty_ro_serialno_falls_back_and_says_where_the_serial_came_from(props, expected):
    # Hand-written property sets; the real empty-ro.serialno dump is in test_station_adb_captures.
    assert tablet_serial(props, "emulator-5554") == expected


def test_no_permissions_is_one_state_and_empty_battery_values_stay_empty():
    # Hand-written after adb's and Samsung's formats (see the module docstring).
    line = (
        "0123456789ABCDEF\tno permissions (user in plugdev group; are your udev rules wrong?);"
        " see [http://developer.android.com/tools/device.html]\n"
    )
    assert parse_devices("List of devices attached\n" + line) == [
        AdbDevice("0123456789ABCDEF", "no permissions")
    ]
    bat = parse_battery("  level: 55\n  LLB MAN: \n  health: 3\n")
    assert (bat.level_pct, bat.health) == (55, "overheat")  # the empty value took nothing


def test_account_names_never_reach_the_evidence():
    res = redact_accounts(CommandResult(("adb", "shell", "dumpsys", "account"), 0, ACCOUNTS, ""))
    assert "someone" not in res.stdout
    assert parse_account_types(res.stdout)["com.google"] == 1


class ScriptedAdb:
    """A plain scripted runner standing in for a USB tablet the machine does not have."""

    def __init__(self, accounts: str) -> None:
        self.outputs = {
            "adb devices -l": DEVICES,
            "adb -s R52N10ABCDE shell dumpsys account": accounts,
            "adb -s R52N10ABCDE shell getprop": GETPROP,
            "adb -s R52N10ABCDE shell dumpsys battery": BATTERY,
            "adb -s R52N10ABCDE shell df /data": DF,
        }

    def run(self, argv: Sequence[str], *, timeout: float = 30) -> CommandResult:
        key = " ".join(argv)
        if key not in self.outputs:
            return CommandResult(tuple(argv), 1, "", f"unscripted: {key}")
        return CommandResult(tuple(argv), 0, self.outputs[key], "")


def test_reset_refused_while_a_google_account_is_signed_in(cfg):
    station = Station(cfg, runner=ScriptedAdb(ACCOUNTS))
    check = check_android_reset(station, "R52N10ABCDE")
    assert not check.allowed and check.reasons == (FRP_ADVICE,)
    evidence = Path(check.evidence[0].path).read_text()
    assert "someone@example.org" not in evidence


def test_unauthorized_tablet_is_refused_with_what_to_do(cfg):
    check = check_android_reset(Station(cfg, runner=ScriptedAdb("")), "0123456789ABCDEF")
    assert not check.allowed and "accept this station's key" in str(check.reasons[0])


def test_confirmed_manual_reset_is_certified_as_clear_and_unconfirmed_is_not(cfg):
    from station.hw.adb import Adb

    station = Station(
        cfg, runner=ScriptedAdb("User UserInfo{0:Owner:c13} running:\n  Accounts: 0\n")
    )
    assert check_android_reset(station, "R52N10ABCDE").allowed
    info, outputs = Adb(station.runner).info("R52N10ABCDE")
    assert "Jan's tablet" not in outputs[0].stdout
    assert (info.model, info.android_version, info.battery.level_pct) == ("SM-T220", "13", 87)
    started = datetime.now(UTC)
    ok = record_manual_reset(station, info, started_at=started, confirmed=True)
    body = station.verify_file(ok.json_path).body
    assert body["status"] == "passed"
    assert body["sanitization"]["category"] == "Clear"  # never claimed as Purge
    assert body["media"]["serial_number"] == "R52N10ABCDE"
    not_done = record_manual_reset(station, info, started_at=started, confirmed=False)
    assert station.verify_file(not_done.json_path).body["status"] == "incomplete"


def test_tablet_diagnosis_reports_battery_storage_and_frp_risk(cfg):
    from station.diagnostics import diagnose_tablet

    station = Station(cfg, runner=ScriptedAdb(ACCOUNTS))
    diag = diagnose_tablet(station, "R52N10ABCDE")
    assert diag.status == "passed"
    assert diag.info.storage_free_bytes == 18087296 * 1024
    assert diag.info.battery is not None and diag.info.battery.health == "good"
    assert str(FRP_ADVICE) in diag.findings
    assert {e.command for e in diag.evidence} >= {"adb -s R52N10ABCDE shell dumpsys battery"}
    assert "someone" not in str(diag.to_dict())


def _usb_device(root: Path, name: str, vendor: str, product: str, interfaces=()) -> Path:
    dev = root / name
    dev.mkdir(parents=True)
    for attr, value in (("idVendor", vendor), ("idProduct", "4ee7"), ("product", product),
                        ("manufacturer", "Acme"), ("serial", f"SN-{name}")):  # fmt: skip
        (dev / attr).write_text(value + "\n")
    for i, (cls, sub, proto) in enumerate(interfaces):
        intf = dev / f"{name}:1.{i}"
        intf.mkdir()
        (intf / "bInterfaceClass").write_text(cls + "\n")
        (intf / "bInterfaceSubClass").write_text(sub + "\n")
        (intf / "bInterfaceProtocol").write_text(proto + "\n")
    return dev


def test_tablets_are_recognised_on_the_usb_bus(tmp_path):
    """A sysfs-shaped tree: the attribute names and interface triple are the kernel's."""
    from station.hw.usb import list_tablets

    _usb_device(tmp_path, "1-1", "18d1", "Pixel Tablet", [("06", "01", "01"), ("ff", "42", "01")])
    _usb_device(tmp_path, "1-2", "05ac", "iPad")
    _usb_device(tmp_path, "1-3", "046d", "USB Keyboard", [("03", "01", "01")])
    _usb_device(tmp_path, "1-4", "04e8", "Galaxy Tab (MTP only)", [("06", "01", "01")])
    tablets = {t.product: t for t in list_tablets(tmp_path)}
    assert set(tablets) == {"Pixel Tablet", "iPad"}
    assert (
        tablets["Pixel Tablet"].kind == "android-adb" and tablets["Pixel Tablet"].procedure == "adb"
    )
    assert tablets["iPad"].kind == "apple"
    assert tablets["iPad"].procedure.startswith(("needs manual procedure", "pymobiledevice3"))


def test_an_ipad_is_handled_through_pymobiledevice3_only_where_the_runner_finds_it(tmp_path):
    """The tool is looked for where the station's runner looks (its settings' tool_path
    first), not in the caller's PATH; an executable named pymobiledevice3 stands in for it."""
    from station.hw.runner import with_tool_path
    from station.hw.udev import TabletAttached, Translator
    from station.hw.usb import list_tablets

    sys_usb, tools, empty = tmp_path / "usb", tmp_path / "tools", tmp_path / "empty"
    for folder in (sys_usb, tools, empty):
        folder.mkdir()
    _usb_device(sys_usb, "1-2", "05ac", "iPad")
    stand_in = tools / "pymobiledevice3"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    [found] = list_tablets(sys_usb, search_path=with_tool_path(str(tools)))
    assert found.procedure == "pymobiledevice3"
    [missing] = list_tablets(sys_usb, search_path=str(empty))
    assert missing.procedure == "needs manual procedure (pymobiledevice3 not installed)"
    # The live watcher's uevents are read the same way.
    procedures = []
    for search_path in (with_tool_path(str(tools)), str(empty)):
        event = Translator(False, search_path=search_path).usb("add", str(sys_usb / "1-2"))
        assert isinstance(event, TabletAttached)
        procedures.append(event.tablet.procedure)
    assert procedures == ["pymobiledevice3", missing.procedure]
