"""Detection from real uevents (the kernel's, and udevd's when it runs): a loop device
attached/detached becomes named events."""

from __future__ import annotations

import os
import queue
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from station.hw.blockdev import read_udev_properties
from station.hw.udev import (
    DeviceWatcher,
    DiskAttached,
    DiskDetached,
    Translator,
    event_source,
    udevd_running,
)


def _event_name(event: object) -> str:
    return event.name if isinstance(event, DiskDetached) else event.device.name


def _next(events: queue.Queue, name: str, kind: type, timeout: float = 30.0):
    """The next event of ``kind`` about ``name`` (other devices' events are skipped)."""
    while True:
        event = events.get(timeout=timeout)
        if isinstance(event, kind) and _event_name(event) == name:
            return event


@pytest.mark.root
def test_loop_attach_and_detach_arrive_as_named_events(make_loop, tmp_path):
    events: queue.Queue = queue.Queue()
    watcher = DeviceWatcher(events.put, include_loop=True, source="kernel")
    watcher.start()
    try:
        path = make_loop(16)
        name = os.path.basename(path)
        attached = _next(events, name, DiskAttached)
        assert attached.device.size_bytes == 16 << 20
        assert attached.device.transport == "loop"
        subprocess.run(["losetup", "-d", path], check=True)
        detached = _next(events, name, DiskDetached)
        assert detached.name == name
    finally:
        watcher.stop()


@pytest.mark.root
def test_loop_devices_stay_out_unless_admitted(make_loop):
    path = make_loop(16)
    name = os.path.basename(path)
    hidden = Translator(include_loop=False)
    assert name not in {e.device.name for e in hidden.enumerate() if isinstance(e, DiskAttached)}
    assert hidden.block("change", name, "disk") is None
    shown = Translator(include_loop=True)
    assert name in {e.device.name for e in shown.enumerate() if isinstance(e, DiskAttached)}


def test_event_source_follows_udevd_presence():
    expected = "udev" if udevd_running() else "kernel"
    assert event_source() == expected


UDEVD = Path("/lib/systemd/systemd-udevd")


def _udevd_pids() -> list[int]:
    """Every systemd-udevd process (and its workers) on the machine."""
    found = subprocess.run(["pgrep", "-f", "systemd-udevd"], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


@pytest.fixture
def udevd() -> Iterator[None]:
    """udevd for one test: a running one is used and left alone; otherwise systemd-udevd is
    started now and stopped afterwards (waited for), and what it left in /run/udev and
    /dev/disk is removed, so later tests see a machine without udevd again."""
    if os.geteuid() != 0:
        pytest.skip("needs root: starts systemd-udevd and attaches loop devices")
    if udevd_running():
        yield
        return
    if not UDEVD.exists():
        pytest.skip(f"{UDEVD} not found: install udev (apt-get install udev)")
    if _udevd_pids():
        pytest.skip("a systemd-udevd runs without answering on /run/udev/control: left alone")
    created = [p for p in (Path("/run/udev"), Path("/dev/disk")) if not p.exists()]
    # In the foreground under this test (not --daemon): its pid is ours to stop and wait for.
    proc = subprocess.Popen([str(UDEVD)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not udevd_running():
            assert proc.poll() is None, f"systemd-udevd exited with {proc.returncode}"
            assert time.monotonic() < deadline, "systemd-udevd did not open its control socket"
            time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        deadline = time.monotonic() + 30
        while _udevd_pids() and time.monotonic() < deadline:
            time.sleep(0.05)  # its workers follow it out
        for path in created:
            shutil.rmtree(path, ignore_errors=True)
    assert not _udevd_pids(), "a systemd-udevd outlived the test"
    assert event_source() == "kernel"


@pytest.mark.root
def test_with_udevd_detection_uses_udev_events_and_their_properties(udevd, tmp_path):
    assert event_source() == "udev"
    events: queue.Queue = queue.Queue()
    watcher = DeviceWatcher(events.put, include_loop=True)  # the source it detects itself
    assert watcher.source == "udev"
    image = tmp_path / "fs.img"
    with open(image, "wb") as fh:
        fh.truncate(16 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True, capture_output=True)
    watcher.start()
    path = ""
    try:
        path = subprocess.run(
            ["losetup", "-f", "--show", str(image)], check=True, capture_output=True, text=True
        ).stdout.strip()
        name = os.path.basename(path)
        attached = _next(events, name, DiskAttached)
        props = attached.device.udev
        # Set by udevd, never in a kernel uevent: its links, tags, what its rules probed.
        assert f"/dev/disk/by-diskseq/{attached.device.diskseq}" in props["DEVLINKS"].split()
        assert props["TAGS"] and props["DEVNAME"] == path
        assert props["ID_FS_TYPE"] == "ext4"
        subprocess.run(["losetup", "-d", path], check=True)
        path = ""
        assert _next(events, name, DiskDetached).name == name
    finally:
        watcher.stop()
        if path:
            subprocess.run(["losetup", "-d", path], check=False)


def test_a_stale_control_socket_means_no_udevd(tmp_path):
    control = tmp_path / "control"
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as sock:
        sock.bind(str(control))  # bound, never listening: like a socket a dead udevd left
    assert control.exists() and not udevd_running(control)
    assert not udevd_running(tmp_path / "absent")


def test_udev_database_links_become_devlinks(tmp_path):
    # /run/udev/data/b7:0 as systemd-udevd 252 wrote it for a loop device on this machine:
    # rule-set properties are E: lines, the device's links S: lines.
    (tmp_path / "b7:0").write_text(
        "S:disk/by-diskseq/321\nI:1803358231\nG:systemd\nQ:systemd\nV:1\n"
    )
    assert read_udev_properties("7:0", tmp_path) == {"DEVLINKS": "/dev/disk/by-diskseq/321"}
    (tmp_path / "b7:1").write_text("S:disk/by-uuid/abc\nE:ID_FS_TYPE=ext4\n")
    props = read_udev_properties("7:1", tmp_path)
    assert props == {"ID_FS_TYPE": "ext4", "DEVLINKS": "/dev/disk/by-uuid/abc"}
    assert read_udev_properties("7:9", tmp_path) == {}
