"""Clear wipes on real loop devices: every byte zero, verified; interruptions recorded."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest

from station.blockio import Progress
from station.hw.blockdev import read_block_device
from station.service import Station
from station.wipe import Status, verify_zero

pytestmark = pytest.mark.root


def _backing(dev_path: str) -> Path:
    return Path(read_block_device(dev_path).backing_file)


def _all_zero(path: Path) -> bool:
    zero = bytes(1 << 20)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            if chunk != zero[: len(chunk)]:
                return False
    return True


@pytest.mark.parametrize("method", ["overwrite", "zeroout"])
def test_wipe_leaves_every_byte_zero_and_certificate_verifies(station, make_loop, method):
    path = make_loop(64)
    dev = station.resolve(path)
    assert not _all_zero(_backing(path))

    report = station.wipe(dev, method, dev.name)

    assert report.outcome.status == Status.PASSED
    assert report.outcome.category == "Clear"
    assert report.outcome.verification.bytes_read == 64 << 20
    assert _all_zero(_backing(path))
    verified = station.verify_file(report.json_path)
    assert verified.passed
    assert verified.body["sanitization"]["method"] == method
    assert verified.body["media"]["device_name"] == dev.name
    assert report.pdf_path is not None and report.pdf_path.read_bytes().startswith(b"%PDF")


def test_auto_on_a_loop_device_is_an_overwrite_called_clear(station, make_loop):
    dev = station.resolve(make_loop(16))
    report = station.wipe(dev, "auto", dev.name)
    assert report.outcome.method == "overwrite"
    assert report.document["certificate"]["sanitization"]["category"] == "Clear"


def test_cancel_mid_wipe_ends_incomplete(station, make_loop):
    dev = station.resolve(make_loop(128))
    cancel = threading.Event()

    def on_progress(p: Progress) -> None:
        if p.phase == "write" and p.done_bytes < p.total_bytes:
            cancel.set()

    report = station.wipe(dev, "overwrite", dev.name, cancel=cancel, on_progress=on_progress)
    assert report.outcome.status == Status.INCOMPLETE
    assert "cancelled" in report.outcome.reason
    assert report.outcome.bytes_written < dev.size_bytes
    body = station.verify_file(report.json_path).body
    assert body["status"] == "incomplete"
    assert body["post_sanitization_destination"] == ""


def test_device_detached_mid_wipe_ends_incomplete(station, make_loop):
    path = make_loop(128)
    dev = station.resolve(path)
    backing = _backing(path)
    unplugged = []

    def unplug(p: Progress) -> None:
        # A busy loop device detaches lazily, so first take its media away (size 0),
        # as the kernel does when a USB disk goes, then detach it.
        if p.phase == "write" and not unplugged:
            os.truncate(backing, 0)
            subprocess.run(["losetup", "-c", path], check=True)
            subprocess.run(["losetup", "-d", path], check=True)
            unplugged.append(True)

    report = station.wipe(dev, "overwrite", dev.name, on_progress=unplug)
    assert unplugged
    assert report.outcome.status == Status.INCOMPLETE
    assert "disappeared" in report.outcome.reason
    assert report.outcome.verification.result == "not run"


def test_verification_finds_data_that_is_not_zero(make_loop):
    path = make_loop(32, fill=b"\0")
    with open(_backing(path), "r+b") as fh:
        fh.seek(5 << 20)
        fh.write(b"secret")
    result = verify_zero(read_block_device(path), threading.Event(), None)
    assert result.result == "failed"
    assert result.bad_regions[0].offset == 5 << 20
    assert result.bad_regions[0].kind == "not zero"


def test_a_busy_device_is_refused(station: Station, make_loop):
    path = make_loop(16)
    dev = station.resolve(path)
    holder = os.open(path, os.O_RDONLY | os.O_EXCL)
    try:
        with pytest.raises(Exception) as excinfo:
            station.wipe(dev, "overwrite", dev.name)
    finally:
        os.close(holder)
    assert "busy" in str(excinfo.value)


def test_a_device_taken_between_the_checks_and_the_open_is_a_coded_incomplete(
    station: Station, make_loop
):
    from station.ui.reason_texts import say
    from station.wipe import run_clear

    path = make_loop(16)
    dev = station.resolve(path)
    holder = os.open(path, os.O_RDONLY | os.O_EXCL)  # the kernel's own last word: EBUSY
    try:
        outcome = run_clear(dev, "overwrite")
    finally:
        os.close(holder)
    assert outcome.status == Status.INCOMPLETE and outcome.why is not None
    assert outcome.why.code == "open_busy"
    assert outcome.reason == f"{path} is busy (mounted, in use, or being wiped)"  # records
    assert say("nl", outcome.why) == f"{path} is bezet (gekoppeld, in gebruik of al aan het wissen)"


def test_a_hidden_area_means_the_clear_is_not_complete(make_loop):
    from station.hw.hdparm import HiddenAreas
    from station.wipe import HIDDEN_AREA_REASON, run_clear

    dev = read_block_device(make_loop(16))
    hpa = HiddenAreas(True, hpa_present=True, accessible_sectors=30000, native_sectors=32768)
    outcome = run_clear(dev, "zeroout", hidden_areas=hpa)
    assert outcome.verification.result == "passed"
    assert outcome.status == Status.FAILED and outcome.reason == HIDDEN_AREA_REASON
