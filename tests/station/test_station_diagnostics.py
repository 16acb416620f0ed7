"""Diagnostics on real loop devices, with SMART from the real tool or from recorded captures."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from station.blockio import BadRegion, Progress
from station.diagnostics import DiskDiagnosis, SurfaceScan, diagnose_disk
from station.evidence import EvidenceStore
from station.hw.blockdev import BlockDevice
from station.hw.runner import CommandResult, Recording, ReplayRunner
from station.reasons import reason
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


RECORD_KEYS = [
    "device", "status", "started_at", "ended_at", "smart", "smart_error", "surface", "findings",
    "evidence",
]  # fmt: skip


@pytest.mark.root
def test_findings_are_codes_and_the_record_keeps_them_in_english(cfg, make_loop, data_dir):
    path = make_loop(64)
    recording = Recording("smartctl/sata-hdd-reallocated-304-passed-st3500418as.json", 0)
    runner = ReplayRunner(data_dir, {f"smartctl --json -a {path}": recording})
    station = Station(cfg, runner=runner)
    cancel = threading.Event()
    diag = diagnose_disk(
        station, station.resolve(path), cancel=cancel, on_progress=lambda p: cancel.set()
    )
    assert diag.status == "incomplete"
    assert [r.code for r in diag.reasons] == ["reallocated_sectors", "cancelled"]
    assert diag.surface is not None and diag.surface.why == reason("cancelled")
    data = diag.to_dict()
    assert list(data) == RECORD_KEYS
    assert data["findings"] == ["reallocated sectors: 304", "cancelled by the technician"]
    assert list(data["smart"]["reasons"]) == ["reallocated sectors: 304"]
    assert data["surface"]["reason"] == "cancelled by the technician"
    assert "why" not in data["smart"] and "why" not in data["surface"]


def test_a_bad_region_is_a_finding_in_english_and_its_code_stays_out_of_the_record():
    dev = BlockDevice("sdz", "/dev/sdz", "8:240", 2 << 20)
    region = BadRegion.because(4096, 8192, reason("read_error", error="Input/output error"))
    scan = SurfaceScan(2 << 20, 2 << 20, 1e6, (region,))
    now = datetime.now(UTC)
    diag = DiskDiagnosis(
        dev, "failed", now, now, smart_error="smartctl is not installed", surface=scan,
        reasons=(region.finding(),),
    )  # fmt: skip
    data = diag.to_dict()
    assert list(data) == RECORD_KEYS
    assert data["findings"] == ["read error: Input/output error at byte 4096 (+8192)"]
    assert data["smart_error"] == "smartctl is not installed"
    assert list(data["surface"]["bad_regions"]) == [
        {"offset": 4096, "length": 8192, "kind": "read error: Input/output error"}
    ]
    assert diag.smart_why == reason("smart_unreadable", error="smartctl is not installed")
    assert '"code"' not in json.dumps(data)
