"""Simulated hardware (demos, training) acts like the real path, never claims a real wipe."""

from __future__ import annotations

import pytest

from station.errors import SafetyRefusal
from station.hw.simulated import DEMO_DISKS, MOUNTED_DEMO, simulated_engine
from station.hw.udev import DiskAttached, DiskDetached


def test_simulated_wipe_issues_a_certificate_that_says_simulated(cfg):
    events: list = []
    station, hw = simulated_engine(cfg, events.append)
    hw.speed = 1e15  # finish at once
    assert {type(e) for e in hw.start()} == {DiskAttached}
    dev = station.resolve("sdb")
    report = station.wipe(dev, "auto", dev.confirm_token)
    body = station.verify_file(report.json_path).body
    assert "SIMULATED" in body["sanitization"]["technique"]
    assert report.json_path.is_relative_to(cfg.data_dir / "simulated")
    assert station.sync is None


def test_simulated_refusals_and_unplug(cfg):
    events: list = []
    station, hw = simulated_engine(cfg, events.append)
    hw.start()
    with pytest.raises(SafetyRefusal, match="mounted"):
        station.wipe(
            station.resolve(MOUNTED_DEMO), "auto", station.resolve(MOUNTED_DEMO).confirm_token
        )
    dev = station.resolve(DEMO_DISKS[0].name)
    hw.speed = dev.size_bytes / 60  # a minute: plenty of time to unplug

    def unplug_soon(p):
        if p.done_bytes > 0:
            hw.unplug(dev.name)

    report = station.wipe(dev, "overwrite", dev.confirm_token, on_progress=unplug_soon)
    assert report.outcome.status == "incomplete" and "disappeared" in report.outcome.reason
    assert DiskDetached(dev.name) in events
