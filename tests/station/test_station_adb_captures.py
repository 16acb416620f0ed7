"""Android tablet parsers on real recorded adb output (tests/data/station/adb, see SOURCES.md).

Real captures exist here for ``adb devices -l``, ``dumpsys battery``, ``df`` and ``getprop``
(the ``getprop`` one from an emulator, Android 6.0). No licensed real capture of
``dumpsys account`` was found: that parser is still tested only on the hand-written format
examples in test_station_tablets.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from station.errors import ParseError
from station.hw.adb import Adb, AdbDevice, parse_battery, parse_devices, parse_df, parse_getprop
from station.hw.runner import Recording, ReplayRunner
from station.service import Station
from station.tablets import record_manual_reset

GIB = 1 << 30
EMULATOR_GETPROP = "getprop-emulator-sdk-google-phone-x86_64-android6.txt"


def read(data_dir, name: str) -> str:
    return (data_dir / "adb" / name).read_text()


@pytest.mark.parametrize(
    ("capture", "level", "health", "temperature_c", "status"),
    [
        # Samsung One UI: vendor lines, then event-log buffers whose last
        # "ACTION_BATTERY_CHANGED" says temperature:355; the state section says 357.
        ("dumpsys-battery-samsung-s24-oneui-charging-75pct.txt", 75, "good", 35.7, 2),
        ("dumpsys-battery-aosp-tradefed-example-full.txt", 100, "good", 28.6, 5),
    ],
)  # fmt: skip
def test_dumpsys_battery_captures_give_level_health_and_temperature(
    data_dir, capture, level, health, temperature_c, status
):
    battery = parse_battery(read(data_dir, capture))
    assert battery.level_pct == level
    assert battery.health == health
    assert battery.temperature_c == temperature_c
    assert battery.status == status
    assert battery.cycle_count is None  # neither dump reports a cycle count


def test_adb_devices_skips_the_daemon_start_lines(data_dir):
    devices = parse_devices(read(data_dir, "devices-l-nexus5x-daemon-start.txt"))
    assert devices == [AdbDevice("00a2fd8b1e631fcb", "device", "Nexus 5X", "335682009X")]


def test_adb_devices_short_listings_without_model(data_dir):
    devices = parse_devices(read(data_dir, "devices-l-short-listings-host.txt"))
    assert devices == [
        AdbDevice("localhost:36790", "device"),
        AdbDevice("0149947A0D01500C", "device", usb="340787200X"),
        AdbDevice("emulator-5612", "host"),
    ]


@pytest.mark.parametrize(
    ("capture", "total_bytes", "free_bytes"),
    [
        # toybox df (Android 7 and later): 1K blocks; one header uses a tab.
        ("df-toybox-fuse-sdcard-tab.txt", 11585536 * 1024, 10269188 * 1024),
        ("df-toybox-fuse-storage-emulated.txt", 27240188 * 1024, 26251316 * 1024),
        # toolbox df (older Android): sizes cut to a unit, so the figures are approximate.
        ("df-toolbox-table-sdcard.txt", 3 * GIB, 2 * GIB),
        # The oldest toolbox df: one "K total, K used, K available" line.
        ("df-toolbox-legacy-sdcard.txt", 3864064 * 1024, 2581184 * 1024),
    ],
)  # fmt: skip
def test_df_captures_give_total_and_free_storage(data_dir, capture, total_bytes, free_bytes):
    assert parse_df(read(data_dir, capture)) == (total_bytes, free_bytes)


def test_df_toolbox_sizes_with_a_decimal_are_read():
    # Hand-written line: later toolbox df versions print one decimal ("21.9G"), same columns.
    text = "Filesystem             Size   Used   Free   Blksize\n/data  21.9G  12.1G  9.8G  4096\n"
    assert parse_df(text) == (round(21.9 * GIB), round(9.8 * GIB))


def test_df_that_could_not_read_the_path_is_a_parse_error():
    with pytest.raises(ParseError):
        parse_df("Filesystem             Size   Used   Free   Blksize\n/data: Permission denied\n")


def test_getprop_capture_gives_model_android_version_and_sdk(data_dir):
    props = parse_getprop(read(data_dir, EMULATOR_GETPROP))
    assert len(props) == 155  # every line of the dump is one property
    assert props["ro.product.model"] == "Android SDK built for x86_64"
    assert props["ro.product.manufacturer"] == "unknown"  # what this emulator image says
    assert (props["ro.build.version.release"], props["ro.build.version.sdk"]) == ("6.0", "23")
    # A value holding '=' and ']'-free brackets is read whole, and empty values stay empty.
    assert props["dalvik.vm.isa.x86.variant"] == "dalvik.vm.isa.x86.features=default"
    assert props["ro.serialno"] == "" and props["ro.board.platform"] == ""


def emulator_runner(data_dir, serial: str) -> ReplayRunner:
    """The emulator's getprop, with battery and df replies recorded from other devices."""
    shell = f"adb -s {serial} shell"
    return ReplayRunner(
        data_dir / "adb",
        {
            f"{shell} getprop": Recording(EMULATOR_GETPROP),
            f"{shell} dumpsys battery": Recording("dumpsys-battery-aosp-tradefed-example-full.txt"),
            f"{shell} df /data": Recording("df-toybox-fuse-storage-emulated.txt"),
        },
    )


def test_tablet_without_ro_serialno_keeps_the_adb_serial_on_its_certificate(cfg, data_dir):
    # Emulators and some cheap tablets report an empty ro.serialno ("[ro.serialno]: []"):
    # the tablet must still be named by the serial adb knows it by, and say so.
    station = Station(cfg, runner=emulator_runner(data_dir, "emulator-5554"))
    info, outputs = Adb(station.runner).info("emulator-5554")
    assert (info.model, info.android_version, info.sdk) == (
        "Android SDK built for x86_64",
        "6.0",
        "23",
    )
    assert info.serial == "emulator-5554"
    assert info.serial_source == "adb device serial"
    # The evidence keeps the identity properties only: no host name, time zone or network.
    kept = outputs[0].stdout
    assert "[ro.product.model]: [Android SDK built for x86_64]" in kept
    assert "android-ccd858aa3d3825ee" not in kept and "America/Los_Angeles" not in kept
    report = record_manual_reset(station, info, started_at=datetime.now(UTC), confirmed=True)
    media = station.verify_file(report.json_path).body["media"]
    assert media["serial_number"] == "emulator-5554"
    assert media["serial_source"] == "adb device serial"
