"""Collectors on recorded real hardware output, and the real collector on this machine."""

from __future__ import annotations

import getpass
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.collect import Snapshot, build_report, collect_report
from agent.collect.battery import battery_from_sysfs
from agent.collect.device import DeviceCollector
from agent.collect.disks import Mounted, collect_disks_linux, collect_disks_other
from agent.collect.smart import SmartError, parse_smartctl, smartctl_argv
from agent.collect.system import os_name_version, parse_os_release
from agent.collect.temps import collect_temperatures
from agent.report import HealthReport
from agent.runner import Recording, ReplayRunner, RunnerError, SubprocessRunner
from tests.agent.helpers import SMARTCTL, fake_power_supply, fake_sys_block, smartctl_replay

# --- battery -----------------------------------------------------------------------------


def test_battery_facts_from_a_lenovo_power_supply_capture(tmp_path: Path) -> None:
    folder = fake_power_supply(
        tmp_path, "BAT0-uevent-lenovo-lnv45n1-discharging-81pct", "AC-uevent-mains-offline"
    )
    battery, errors = battery_from_sysfs(folder)
    assert errors == []
    assert battery is not None
    # ENERGY_* are µWh: 47.52 Wh design, 45.07 Wh full, 36.58 Wh now.
    assert battery.design_capacity_wh == 47.5
    assert battery.full_capacity_wh == 45.1
    assert battery.health_pct == 94.8  # 45.07 / 47.52
    assert battery.charge_pct == 81.2  # 36.58 / 45.07
    assert battery.plugged_in is False  # the AC adapter says ONLINE=0
    assert battery.status == "discharging"
    assert battery.cycle_count == 0


def test_battery_without_adapter_infers_plugged_from_status(tmp_path: Path) -> None:
    folder = fake_power_supply(tmp_path, "BAT0-uevent-lenovo-lnv45n1-discharging-85pct")
    battery, _ = battery_from_sysfs(folder)
    assert battery is not None
    assert battery.health_pct == 99.7  # 47.39 / 47.52
    assert battery.plugged_in is False


def test_no_battery_is_a_fact_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "ps" / "AC").mkdir(parents=True)
    (tmp_path / "ps" / "AC" / "uevent").write_text("POWER_SUPPLY_NAME=AC\nPOWER_SUPPLY_ONLINE=1\n")
    assert battery_from_sysfs(tmp_path / "ps") == (None, ["battery: no battery found"])
    battery, errors = battery_from_sysfs(tmp_path / "missing")
    assert battery is None and errors and errors[0].startswith("battery:")


def test_peripheral_battery_is_ignored(tmp_path: Path) -> None:
    mouse = tmp_path / "ps" / "hidpp_battery_0"
    mouse.mkdir(parents=True)
    mouse.joinpath("uevent").write_text(
        "POWER_SUPPLY_NAME=hidpp_battery_0\nPOWER_SUPPLY_SCOPE=Device\nPOWER_SUPPLY_CAPACITY=40\n"
    )
    assert battery_from_sysfs(tmp_path / "ps") == (None, ["battery: no battery found"])


# --- SMART ---------------------------------------------------------------------------------

N = None
CAPTURES = {
    # file: (kind, passed, hours, reallocated, pending, uncorrectable, crit, used, media)
    "sata-hdd-usb-jmicron-failing-reallocated": ("ata", False, 65592, 1975, 8, 0, N, N, N),
    "sata-hdd-healthy-wd140edfz": ("ata", True, 1730, 0, 0, 0, N, N, N),
    "sata-hdd-reallocated-304-passed-st3500418as": ("ata", True, 44668, 304, 0, 0, N, N, N),
    "sata-ssd-kingston-a400-life-left-98": ("ata", True, 4994, N, N, N, N, N, N),
    "nvme-healthy-corsair-mp510": ("nvme", True, 6487, N, N, N, 0, 1, 0),
    "nvme-media-errors-samsung-970evo": ("nvme", True, 12798, N, N, N, 0, 3, 7),
    "nvme-worn-75pct-used-intel-ssdpe2kx020t7": ("nvme", True, 49441, N, N, N, 0, 75, 0),
    "nvme-critical-warning-16-failed-samsung-mzwll3t2hajq": (
        "nvme",
        False,
        18376,
        N,
        N,
        N,
        16,
        0,
        0,
    ),
    "scsi-hdd-grown-defects-260-seagate-st373453lc": ("scsi", True, 102880, 260, N, N, N, N, N),
    "sas-hdd-healthy-hitachi-600g-10k": ("scsi", True, 22364, 0, N, N, N, N, N),
}


@pytest.mark.parametrize("capture", sorted(CAPTURES))
def test_smartctl_capture_parsed(capture: str) -> None:
    facts = parse_smartctl((SMARTCTL / f"{capture}.json").read_text())
    got = (
        facts.kind,
        facts.smart_passed,
        facts.power_on_hours,
        facts.reallocated_sectors,
        facts.pending_sectors,
        facts.uncorrectable_sectors,
        facts.nvme_critical_warning,
        facts.percentage_used,
        facts.media_errors,
    )
    assert got == CAPTURES[capture]
    assert facts.size_bytes and facts.size_bytes > 10**10
    assert facts.temperature_c is not None


def test_smartctl_without_data_names_the_reason_without_the_device_path() -> None:
    text = (SMARTCTL / "virtio-disk-unable-to-detect-device-type.json").read_text()
    with pytest.raises(SmartError) as err:
        parse_smartctl(text, "/dev/vda")
    assert str(err.value) == "Unable to detect device type"
    for bad in ("", "not json", "[1, 2]", (SMARTCTL / "scan-sata-and-nvme.json").read_text()):
        with pytest.raises(SmartError):
            parse_smartctl(bad)


def test_disks_join_sysfs_size_free_space_and_smart(tmp_path: Path) -> None:
    sys_block = fake_sys_block(tmp_path, {"nvme0n1": 976773168, "sda": 976773168, "loop0": 8})
    # /sys/class/block: partitions link into their disk's folder, as the kernel lays it out.
    devices = tmp_path / "devices"
    (devices / "nvme0n1" / "nvme0n1p2").mkdir(parents=True)
    (devices / "nvme0n1" / "nvme0n1p2" / "partition").write_text("2\n")
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "nvme0n1p2").symlink_to(devices / "nvme0n1" / "nvme0n1p2")
    runner = smartctl_replay(
        {
            "nvme0n1": "nvme-media-errors-samsung-970evo.json",
            "sda": "sata-hdd-reallocated-304-passed-st3500418as.json",
        }
    )
    # An encrypted volume (LUKS, dm-0) on sda's first partition counts for sda.
    (devices / "sda" / "sda1").mkdir(parents=True)
    (devices / "sda" / "sda1" / "partition").write_text("1\n")
    (tmp_path / "class" / "sda1").symlink_to(devices / "sda" / "sda1")
    (tmp_path / "class" / "dm-0" / "slaves" / "sda1").mkdir(parents=True)
    mounted = [
        Mounted("/dev/nvme0n1p2", 400 * 10**9, 123 * 10**9),
        Mounted("/dev/dm-0", 200 * 10**9, 7 * 10**9),
    ]
    disks, errors = collect_disks_linux(runner, lambda: mounted, sys_block, tmp_path / "class")
    assert errors == []
    assert [d.kind for d in disks] == ["nvme", "ata"]  # loop0 is not a physical disk
    assert disks[0].free_bytes == 123 * 10**9
    assert disks[0].media_errors == 7
    assert disks[0].size_bytes == 976773168 * 512
    assert disks[1].reallocated_sectors == 304 and disks[1].free_bytes == 7 * 10**9
    assert runner.calls == [smartctl_argv("/dev/nvme0n1"), smartctl_argv("/dev/sda")]


def test_missing_smartctl_and_timeouts_become_errors(tmp_path: Path) -> None:
    sys_block = fake_sys_block(tmp_path, {"sda": 1000})
    disks, errors = collect_disks_linux(ReplayRunner({}), lambda: [], sys_block, tmp_path)
    assert len(disks) == 1 and disks[0].smart_passed is None
    assert errors == ["disks: smartctl not installed, no SMART figures"]
    # smartctl installed, but this command line has no answer (as a timeout would).
    runner = ReplayRunner(
        {("smartctl", "--version"): Recording(SMARTCTL / "scan-sata-and-nvme.json")}
    )
    disks, errors = collect_disks_linux(runner, lambda: [], sys_block, tmp_path)
    assert errors[0].startswith("disks[0]: no SMART data (no recording for command line")


def test_replay_runner_names_the_command_it_lacks() -> None:
    runner = ReplayRunner({}, installed=["smartctl"])
    with pytest.raises(RunnerError, match="smartctl --json -a -n standby /dev/sdz"):
        runner.run(smartctl_argv("/dev/sdz"), timeout=1)


def test_subprocess_runner_enforces_the_timeout() -> None:
    runner = SubprocessRunner()
    with pytest.raises(RunnerError, match="no answer within"):
        runner.run(("sleep", "5"), timeout=0.2)
    with pytest.raises(RunnerError, match="not installed"):
        runner.run(("no-such-tool-digibank",), timeout=1)
    assert runner.run(("true",), timeout=5).returncode == 0


# --- temperatures, system ---------------------------------------------------------------------


def test_temperatures_pick_the_hottest_real_sensor() -> None:
    temps, errors = collect_temperatures(
        lambda: {"coretemp": [45.0, 61.5, 0.0], "nvme": [38.0], "acpitz": [99.0]}
    )
    assert temps is not None and (temps.cpu_c, temps.disk_c) == (61.5, 38.0)
    assert errors == []
    assert collect_temperatures(dict) == (None, ["temperatures: no CPU sensor found"])


def test_os_release_name_and_version_only(tmp_path: Path) -> None:
    text = (
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
    )
    assert parse_os_release(text)["VERSION_ID"] == "12"
    path = tmp_path / "os-release"
    path.write_text(text)
    if os.uname().sysname == "Linux":
        assert os_name_version(path) == ("Debian GNU/Linux", "12", [])


# --- the assembled report -------------------------------------------------------------------


def test_report_from_recorded_hardware_round_trips(collector: DeviceCollector) -> None:
    report = collect_report(collector, "dev-1", 7)
    again = HealthReport.from_json(report.to_json())
    assert again == report
    assert report.battery is not None and report.battery.health_pct == 94.8
    assert report.disks[0].kind == "nvme" and report.disks[0].percentage_used == 1
    assert report.temperatures is not None
    assert (report.temperatures.cpu_c, report.temperatures.disk_c) == (51.0, 38.0)


def test_real_collector_on_this_machine_never_crashes() -> None:
    snapshot = DeviceCollector().collect()  # real sysfs, real psutil, real smartctl
    report = build_report(snapshot, "unenrolled", 0)
    assert HealthReport.from_json(report.to_json()) == report
    assert report.memory is not None and report.memory.total_bytes
    assert report.uptime_s is not None and report.os_name


def test_report_carries_nothing_personal(collector: DeviceCollector) -> None:
    for report in (
        collect_report(collector, "dev-1", 1),
        build_report(DeviceCollector().collect(), "x", 1),
    ):
        text = report.to_json().decode()
        for secret in {socket.gethostname(), getpass.getuser(), os.uname().nodename}:
            assert f'"{secret}"' not in text and f"{secret}." not in text
        for path_like in ("/dev/", "/home", "/mnt", "/media", "/sys/", "/"):
            assert path_like not in text.replace("GNU/Linux", "")
        assert set(json.loads(text)) == {
            "schema", "device_id", "seq", "measured_at", "agent_version", "os_name", "os_version",
            "uptime_s", "battery", "disks", "memory", "temperatures", "errors",
        }  # fmt: skip


def test_windows_disks_add_up_filesystems_and_skip_smart_for_many_disks() -> None:
    mounted = [Mounted("C:\\", 500 * 10**9, 100 * 10**9), Mounted("D:\\", 200 * 10**9, 50 * 10**9)]
    scan = ("smartctl", "--scan", "--json")
    runner = ReplayRunner({scan: Recording(SMARTCTL / "scan-sata-and-nvme.json")})
    disks, errors = collect_disks_other(runner, lambda: mounted)
    assert [(d.size_bytes, d.free_bytes) for d in disks] == [(700 * 10**9, 150 * 10**9)]
    # The recorded scan lists five disks: free space cannot be split, SMART is left out.
    assert errors == ["disks: 5 disks found, SMART figures left out"]
    assert runner.calls == [scan]
    disks, errors = collect_disks_other(ReplayRunner({}), lambda: mounted)
    assert errors == ["disks: smartctl not installed, no SMART figures"]


def test_odd_facts_are_trimmed_to_what_the_contract_accepts() -> None:
    snapshot = Snapshot(
        measured_at=datetime.now(UTC),
        os_name="N" * 300,
        os_version="1." * 100,
        errors=tuple(f"disks[{i}]: " + "e" * 400 for i in range(40)),
    )
    report = build_report(snapshot, "dev-1", 3)
    assert HealthReport.from_json(report.to_json()) == report
    assert len(report.errors) == 20 and report.errors[-1] == "agent: 21 more errors"
