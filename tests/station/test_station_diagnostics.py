"""Diagnostics on real loop devices, with SMART from the real tool or from recorded captures."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import pytest

from station.blockio import Progress
from station.diagnostics import diagnose_disk
from station.evidence import EvidenceStore
from station.hw.runner import CommandResult, Recording, ReplayRunner
from station.service import Station


@pytest.mark.root
def test_surface_scan_reads_every_byte_and_keeps_smartctl_evidence(station, make_loop):
    dev = station.resolve(make_loop(32))
    diag = diagnose_disk(station, dev)
    assert diag.status == "passed"
    assert diag.surface is not None and diag.surface.completed
    assert diag.surface.bytes_read == 32 << 20 and diag.surface.bad_regions == ()
    assert diag.smart is not None and diag.smart.verdict == "unknown"  # smartctl cannot type a loop
    ref = diag.evidence[0]
    assert ref.tool == "smartctl" and ref.tool_version.startswith("smartctl 7")
    assert EvidenceStore.is_intact(ref)
    assert json.loads(Path(ref.path).read_text())["command"] == f"smartctl --json -a {dev.path}"
    json.dumps(diag.to_dict())  # serialisable for the server


@pytest.mark.root
def test_station_keeps_the_diagnosis_as_a_read_only_result(station, make_loop):
    dev = station.resolve(make_loop(16))
    diag = station.diagnose(dev, surface_scan=False)
    (path,) = station.results.list("diagnostics")
    stored = json.loads(path.read_text())
    assert stored["subject"] == dev.name and stored["result"]["status"] == diag.status
    assert stored["result"]["evidence"][0]["sha256"] == diag.evidence[0].sha256
    assert os.stat(path).st_mode & 0o222 == 0


@pytest.mark.root
def test_failing_smart_fails_the_diagnosis(cfg, make_loop, data_dir):
    path = make_loop(16)
    runner = ReplayRunner(
        data_dir,
        {
            f"smartctl --json -a {path}": Recording(
                "smartctl/sata-hdd-usb-jmicron-failing-reallocated.json", returncode=216
            ),
        },
    )
    station = Station(cfg, runner=runner)
    diag = diagnose_disk(station, station.resolve(path), surface_scan_wanted=False)
    assert diag.status == "failed"
    assert "SMART overall health: FAILED" in diag.findings
    assert diag.surface is None


@pytest.mark.root
def test_cancelled_scan_is_incomplete(station, make_loop):
    dev = station.resolve(make_loop(128))
    cancel = threading.Event()

    def stop(p: Progress) -> None:
        cancel.set()

    diag = diagnose_disk(station, dev, cancel=cancel, on_progress=stop)
    assert diag.status == "incomplete"
    assert diag.surface is not None and not diag.surface.completed
    assert diag.surface.bytes_read < dev.size_bytes


def test_evidence_is_content_addressed_and_read_only(tmp_path):
    store = EvidenceStore(tmp_path / "ev")
    result = CommandResult(("hdparm", "-I", "/dev/sda"), 0, "raw output\n", "")
    ref = store.record(result, "hdparm v9.65")
    data = Path(ref.path).read_bytes()
    assert hashlib.sha256(data).hexdigest() == ref.sha256
    assert os.stat(ref.path).st_mode & 0o222 == 0
    assert json.loads(data)["stdout"] == "raw output\n"
    os.chmod(ref.path, 0o644)
    Path(ref.path).write_text("edited")
    assert not EvidenceStore.is_intact(ref)
