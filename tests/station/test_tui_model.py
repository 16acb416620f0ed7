"""The TUI's device state without a screen: identity, readiness rule, progress cells."""

from __future__ import annotations

from datetime import UTC, datetime

from station.blockio import Progress
from station.grading import CHECKLIST_ITEMS, Checklist, Grades, grade
from station.hw.blockdev import BlockDevice
from station.jobs import JobSnapshot
from station.reasons import english
from station.ui.model import DeviceRecord, disk_key, progress_bar, progress_cells, slot_of

LOOP = BlockDevice("loop7", "/dev/loop7", "7:7", 64 << 20, transport="loop", backing_file="/t/a")


def lendable() -> Grades:
    return grade("A", Checklist(dict.fromkeys(CHECKLIST_ITEMS, True)), 90.0, 200)


def test_a_device_keeps_its_identity_across_replugging() -> None:
    renamed = BlockDevice(
        "loop9", "/dev/loop9", "7:9", 64 << 20, transport="loop", backing_file="/t/a"
    )
    assert disk_key(LOOP) == disk_key(renamed)
    assert disk_key(LOOP.with_serial("WD-123", "smartctl")) == "serial:WD-123"


def test_media_without_identity_never_share_a_record() -> None:
    card = BlockDevice("sdc", "/dev/sdc", "8:32", 1 << 30, transport="usb", diskseq="41")
    other = BlockDevice("sdc", "/dev/sdc", "8:32", 1 << 30, transport="usb", diskseq="42")
    assert disk_key(card) != disk_key(other)


def test_ready_needs_grades_and_a_passed_latest_wipe() -> None:
    rec = DeviceRecord("k", "loop7", disk=LOOP)
    assert [b.code for b in rec.ready_blockers()] == ["not_graded", "no_wipe"]
    rec.grades = lendable()
    rec.wipe_statuses = ["incomplete"]
    assert any("incomplete" in str(b) for b in rec.ready_blockers())
    rec.wipe_statuses = ["incomplete", "passed"]
    assert rec.ready_blockers() == []


def test_not_ready_while_a_job_runs_or_when_not_lendable() -> None:
    rec = DeviceRecord("k", "loop7", disk=LOOP, wipe_statuses=["passed"])
    rec.grades = grade("E", Checklist(dict.fromkeys(CHECKLIST_ITEMS, True)), 90.0, 10)
    assert any("cosmetic E" in str(b) for b in rec.ready_blockers())
    rec.grades = lendable()
    rec.job = JobSnapshot(1, "diagnostics", "loop7", "running", datetime.now(UTC))
    assert english(rec.ready_blockers()) == ["a job is still running"]


def test_progress_cells_show_bar_rate_and_eta() -> None:
    assert progress_bar(0.5, 10) == "█████░░░░░  50%"
    bar, rate, eta = progress_cells(Progress("write", 250_000_000, 1_000_000_000, 1.0))
    assert bar.startswith("w ") and "25%" in bar
    assert rate == "250.0 MB/s"
    assert eta == "0:03"


def test_slot_comes_from_the_udev_path_when_known() -> None:
    usb = BlockDevice(
        "sdb",
        "/dev/sdb",
        "8:16",
        1,
        udev={"ID_PATH": "pci-0000:00:14.0-usb-0:2.1:1.0-scsi-0:0:0:0"},
    )
    sata = BlockDevice("sda", "/dev/sda", "8:0", 1, udev={"ID_PATH": "pci-0000:00:17.0-ata-3"})
    assert (slot_of(usb), slot_of(sata), slot_of(LOOP)) == ("usb2.1", "ata3", "loop7")


def test_every_text_exists_in_dutch_and_english_with_the_same_placeholders() -> None:
    import string

    from station.ui.i18n import TEXTS

    assert set(TEXTS["nl"]) == set(TEXTS["en"])

    def fields(s: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(s) if name}

    for key, dutch in TEXTS["nl"].items():
        assert fields(dutch) == fields(TEXTS["en"][key]), key
