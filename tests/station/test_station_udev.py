"""Detection from real kernel uevents: a loop device attached/detached becomes named events."""

from __future__ import annotations

import os
import queue
import subprocess

import pytest

from station.hw.udev import DeviceWatcher, DiskAttached, DiskDetached, Translator, event_source


def _event_name(event: object) -> str:
    return event.name if isinstance(event, DiskDetached) else event.device.name


def _next(events: queue.Queue, name: str, kind: type, timeout: float = 10.0):
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
    expected = "udev" if os.path.exists("/run/udev/control") else "kernel"
    assert event_source() == expected
