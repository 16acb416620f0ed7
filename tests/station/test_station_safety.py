"""The station refuses to wipe what it must not touch, and says why."""

from __future__ import annotations

import os
import subprocess

import pytest

from station.errors import SafetyRefusal
from station.hw.blockdev import list_disks, read_block_device
from station.safety import (
    check_wipe_allowed,
    parse_mdstat,
    parse_mountinfo,
    parse_swaps,
    read_system_state,
    refusal_reasons,
)


@pytest.mark.root
@pytest.mark.slow
def test_mounted_loop_device_is_refused_with_the_reason(station, make_loop, tmp_path):
    path = make_loop(64, fill=None)
    subprocess.run(["mkfs.ext4", "-q", "-F", path], check=True)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    subprocess.run(["mount", path, str(mnt)], check=True)
    try:
        dev = station.resolve(path)
        with pytest.raises(SafetyRefusal) as excinfo:
            station.wipe(dev, "overwrite", dev.name)
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
    assert any(f"mounted on {mnt}" in r for r in excinfo.value.reasons)
    # Nothing was written: the file system is still there.
    assert subprocess.run(["blkid", path], capture_output=True).returncode == 0


@pytest.mark.root
def test_wrong_confirmation_is_refused_and_nothing_written(station, make_loop):
    path = make_loop(16)
    dev = station.resolve(path)
    with pytest.raises(SafetyRefusal) as excinfo:
        station.wipe(dev, "overwrite", "loop999")
    assert "does not match" in excinfo.value.reasons[0]
    with open(dev.backing_file, "rb") as fh:
        assert fh.read(4) == b"\xa5" * 4


@pytest.mark.root
def test_confirmation_is_the_kernel_name_for_a_device_without_serial(make_loop):
    dev = read_block_device(make_loop(16))
    assert dev.serial == ""
    assert dev.confirm_token == dev.name
    check_wipe_allowed(dev, dev.name.upper())  # no exception: allowed


def test_the_disk_holding_the_running_system_is_refused():
    state = read_system_state()
    assert state.boot_disks, "the running system must sit on some disk"
    root_disk = read_block_device(sorted(state.boot_disks)[0])
    reasons = refusal_reasons(root_disk, state)
    assert {r.code for r in reasons} >= {"holds_root", "boot_disk"}
    assert any("holds the running system (/)" in str(r) for r in reasons)
    assert any("own boot disk" in str(r) for r in reasons)


def test_mountinfo_swaps_and_mdstat_are_parsed():
    mounts = parse_mountinfo(
        "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
        "40 27 7:3 / /mnt/with\\040space rw - ext4 /dev/loop3 rw\n"
    )
    assert [(m.major_minor, m.mount_point, m.source) for m in mounts] == [
        ("254:0", "/", "/dev/vda"),
        ("7:3", "/mnt/with space", "/dev/loop3"),
    ]
    swaps = "Filename\tType\tSize\tUsed\tPriority\n/dev/sdb2  partition\t4194300\t0\t-2\n"
    assert parse_swaps(swaps) == ("/dev/sdb2",)
    mdstat = (
        "Personalities : [raid1]\n"
        "md0 : active raid1 sdb1[1] sda1[0]\n"
        "      1046528 blocks super 1.2 [2/2] [UU]\n"
        "md1 : inactive sdc1[0](S)\n"
    )
    assert parse_mdstat(mdstat) == {"sdb1": "md0", "sda1": "md0"}


def test_unknown_device_is_a_clear_error(station):
    from station.errors import DeviceError

    with pytest.raises(DeviceError, match="no block device"):
        station.resolve("/dev/does-not-exist")


@pytest.mark.root
def test_listing_admits_loop_devices_only_when_allowed(make_loop):
    name = os.path.basename(make_loop(16))
    assert name in {d.name for d in list_disks(include_loop=True)}
    assert name not in {d.name for d in list_disks(include_loop=False)}


@pytest.mark.root
def test_active_swap_is_refused(station, make_loop):
    path = make_loop(32, fill=None)
    subprocess.run(["mkswap", "-q", path], check=True, capture_output=True)
    subprocess.run(["swapon", path], check=True)
    try:
        dev = station.resolve(path)
        with pytest.raises(SafetyRefusal) as excinfo:
            station.wipe(dev, "overwrite", dev.name)
    finally:
        subprocess.run(["swapoff", path], check=True)
    assert any("in use as swap" in r for r in excinfo.value.reasons)


@pytest.mark.root
def test_a_loop_device_over_a_mounted_disk_is_refused(station, make_loop, tmp_path):
    inner = make_loop(64, fill=None)
    subprocess.run(["mkfs.ext4", "-q", "-F", inner], check=True)
    outer = subprocess.run(
        ["losetup", "-f", "--show", inner], check=True, capture_output=True, text=True
    ).stdout.strip()
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    subprocess.run(["mount", inner, str(mnt)], check=True)
    try:
        dev = station.resolve(outer)
        reasons = station.refusals(dev)
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
        subprocess.run(["losetup", "-d", outer], check=True)
    assert any(f"backed by {inner}" in str(r) and "mounted on" in str(r) for r in reasons)
    assert [r.cause.code for r in reasons if r.code == "backed_by" and r.cause] == ["mounted"]
