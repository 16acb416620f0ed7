"""Purge orchestration and its sampled verification on a real loop device.

The machine has no NVMe/ATA drive and no recorded output of an erase command, so the
drive is played by a plain scripted runner that does to the loop device what the drive
would do (or, in the failing case, nothing); the station's own code runs for real.
"""

from __future__ import annotations

import fcntl
import json
import os
import struct
from collections.abc import Sequence

import pytest

from station.hw.runner import CommandResult
from station.methods import MethodOption, nvme_options
from station.purge import compare_samples, purge_commands, read_samples, run_purge, sample_offsets
from station.reasons import reason
from station.service import Station
from station.wipe import BLKZEROOUT, Status

FORMAT_CRYPTO = MethodOption(
    "nvme-format-crypto", "Purge", "NVMe format with cryptographic erase (SES=2)"
)


class ScriptedDrive:
    """Answers the erase command as a drive would: erase the media (or pretend to)."""

    def __init__(self, path: str, erases: bool) -> None:
        self.path, self.erases = path, erases
        self.calls: list[str] = []

    def run(self, argv: Sequence[str], *, timeout: float = 30) -> CommandResult:
        line = " ".join(argv)
        self.calls.append(line)
        if line == f"nvme format {self.path} --ses=2 --force":
            if self.erases:
                fd = os.open(self.path, os.O_WRONLY)
                try:
                    size = os.lseek(fd, 0, os.SEEK_END)
                    fcntl.ioctl(fd, BLKZEROOUT, struct.pack("QQ", 0, size))
                finally:
                    os.close(fd)
            return CommandResult(tuple(argv), 0, "Success formatting namespace:1\n", "")
        return CommandResult(tuple(argv), 1, "", "not scripted")


def _fill_random(path: str) -> None:
    with open(path, "r+b") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(0)
        for _ in range(size // (1 << 20)):
            fh.write(os.urandom(1 << 20))


@pytest.mark.root
@pytest.mark.parametrize(("erases", "status"), [(True, Status.PASSED), (False, Status.FAILED)])
def test_purge_is_verified_by_sampled_reads(cfg, make_loop, erases, status):
    path = make_loop(32)
    _fill_random(path)
    drive = ScriptedDrive(path, erases)
    station = Station(cfg, runner=drive)
    dev = station.resolve(path)
    outcome = run_purge(station, dev, FORMAT_CRYPTO)
    assert outcome.status == status, outcome.reason
    assert outcome.category == "Purge" and outcome.tool == "nvme"
    assert outcome.verification.method.startswith("sampled read-back")
    assert f"nvme format {path} --ses=2 --force" in drive.calls
    assert any(ref.command == f"nvme format {path} --ses=2 --force" for ref in outcome.evidence)
    if not erases:
        assert outcome.verification.bad_regions[0].kind == "unchanged after purge"


@pytest.mark.root
def test_a_failing_erase_command_is_recorded_not_hidden(cfg, make_loop):
    path = make_loop(16)
    station = Station(cfg, runner=ScriptedDrive("/dev/other", erases=True))
    outcome = run_purge(station, station.resolve(path), FORMAT_CRYPTO)
    assert outcome.status == Status.INCOMPLETE
    assert "failed" in outcome.reason and outcome.verification.result == "not run"


def test_samples_cover_start_end_and_every_section():
    size = 1 << 30
    offsets = sample_offsets(size, 256 * 1024, 100)
    assert offsets[0] == 0 and offsets[-1] == size - 256 * 1024
    assert all(o % 4096 == 0 for o in offsets)
    sections = {o // (size // 100) for o in offsets[1:-1]}
    assert len(sections) >= 99


def test_uniform_or_changed_samples_pass_unchanged_fail():
    from station.purge import Sample

    before = [Sample(0, "a", False), Sample(4096, "b", False), Sample(8192, "c", True)]
    after_ok = [Sample(0, "z", True), Sample(4096, "y", False), Sample(8192, "c", True)]
    after_bad = [Sample(0, "z", True), Sample(4096, "b", False), Sample(8192, "c", True)]
    assert compare_samples(before, after_ok).result == "passed"
    bad = compare_samples(before, after_bad)
    assert bad.result == "failed" and bad.bad_regions[0].offset == 4096


def test_purge_command_lines(data_dir):
    from station.hw.blockdev import BlockDevice
    from station.hw.nvme import parse_id_ctrl

    dev = BlockDevice(name="nvme0n1", path="/dev/nvme0n1", major_minor="259:0", size_bytes=1 << 40)
    ctrl = parse_id_ctrl((data_dir / "nvme/id-ctrl-samsung-980pro-1tb.json").read_text())
    best = next(o for o in nvme_options(ctrl) if o.available)
    assert purge_commands(best, dev) == [["nvme", "format", "/dev/nvme0n1", "--ses=2", "--force"]]
    sanitize = MethodOption("nvme-sanitize-crypto", "Purge", "")
    assert purge_commands(sanitize, dev) == [["nvme", "sanitize", "/dev/nvme0", "--sanact=4"]]
    sda = BlockDevice(name="sda", path="/dev/sda", major_minor="8:0", size_bytes=1 << 40)
    erase = purge_commands(MethodOption("ata-security-erase-enhanced", "Purge", ""), sda)
    assert erase[0][:4] == ["hdparm", "--user-master", "u", "--security-set-pass"]
    assert erase[1][3] == "--security-erase-enhanced"


@pytest.mark.root
def test_read_samples_sees_uniform_zeroes(make_loop, station):
    dev = station.resolve(make_loop(16, fill=b"\0"))
    samples = read_samples(dev, sample_offsets(dev.size_bytes, count=10))
    assert samples and all(s.uniform for s in samples)


def test_ata_sanitize_status_lines():
    """Format examples after hdparm's sanitize status printout (no real capture exists)."""
    from station.hw.hdparm import parse_sanitize_status

    running = "Sanitize status:\n    State:    SD2 Sanitize operation In Process\n    Progress: 0x3e7e (24%)\n"
    assert parse_sanitize_status(running) == (0.24, "in progress")
    assert parse_sanitize_status("    State:    SD0 Sanitize Idle\n")[1] == "completed"
    assert parse_sanitize_status("    State:    SD3 Sanitize Device Error\n")[1] == "failed"


@pytest.mark.root
def test_a_failing_erase_is_a_coded_reason_with_the_tools_words_kept_in_english(cfg, make_loop):
    path = make_loop(16)
    station = Station(cfg, runner=ScriptedDrive("/dev/other", erases=True))
    outcome = run_purge(station, station.resolve(path), FORMAT_CRYPTO)
    assert outcome.why == reason(
        "tool_failed",
        command=f"nvme format {path} --ses=2 --force",
        returncode="1",
        stderr="not scripted",
    )
    # The certificate and the records keep the English wording they always had.
    assert outcome.reason == f"nvme format {path} --ses=2 --force failed (1): not scripted"


@pytest.mark.root
def test_a_failed_ata_erase_names_the_temporary_password_around_the_coded_cause(cfg, make_loop):
    path = make_loop(16)
    station = Station(cfg, runner=ScriptedDrive("/dev/other", erases=True))
    option = MethodOption("ata-security-erase", "Purge", "ATA SECURITY ERASE UNIT")
    outcome = run_purge(station, station.resolve(path), option)
    assert outcome.status == Status.INCOMPLETE and outcome.why is not None
    assert outcome.why.code == "ata_password_hint"
    assert outcome.why.cause is not None and outcome.why.cause.code == "tool_failed"
    assert outcome.reason == (
        f"hdparm --user-master u --security-set-pass digibank-erase {path} failed (1): "
        "not scripted (if the drive is now locked, its password is 'digibank-erase')"
    )


@pytest.mark.root
def test_data_left_by_a_purge_is_a_coded_failure(cfg, make_loop):
    path = make_loop(16)
    _fill_random(path)
    station = Station(cfg, runner=ScriptedDrive(path, erases=False))
    outcome = run_purge(station, station.resolve(path), FORMAT_CRYPTO)
    assert outcome.status == Status.FAILED and outcome.why == reason("purge_unchanged")
    assert outcome.reason == "sampled verification found data unchanged by the purge"
    region = outcome.verification.bad_regions[0]
    assert (region.kind, region.why) == ("unchanged after purge", reason("region_unchanged"))


class SanitizeLog:
    """Answers ``nvme sanitize-log`` with one state (sstat) or with output that is not JSON."""

    def __init__(self, sstat: int | None) -> None:
        self.sstat = sstat

    def run(self, argv: Sequence[str], *, timeout: float = 30) -> CommandResult:
        out = "garbled" if self.sstat is None else json.dumps({"sprog": 0, "sstat": self.sstat})
        return CommandResult(tuple(argv), 0, out, "")


@pytest.mark.parametrize(
    ("sstat", "code", "english"),
    [
        (1, None, ""),
        (3, "sanitize_failed", "sanitize failed"),
        (0, "sanitize_ended", "sanitize never sanitized"),
        (5, "sanitize_ended", "sanitize unknown state 5"),
        (None, "sanitize_unreadable", "cannot read sanitize progress: nvme sanitize-log output"),
    ],
)
def test_how_a_sanitize_ended_is_a_coded_reason(cfg, sstat, code, english):
    from station.hw.blockdev import BlockDevice
    from station.purge import _wait_for_sanitize

    dev = BlockDevice("nvme0n1", "/dev/nvme0n1", "259:0", 1 << 40, transport="nvme")
    why = _wait_for_sanitize(Station(cfg, runner=SanitizeLog(sstat)), dev, None)
    assert (why.code if why else None) == code
    assert str(why or "").startswith(english)


def test_an_unknown_purge_method_is_a_coded_tool_error():
    from station.errors import ToolError
    from station.hw.blockdev import BlockDevice

    dev = BlockDevice("sda", "/dev/sda", "8:0", 1 << 40)
    with pytest.raises(ToolError) as excinfo:
        purge_commands(MethodOption("ata-unheard-of", "Purge", ""), dev)
    assert excinfo.value.reason == reason("no_purge_command", method="ata-unheard-of")
    assert str(excinfo.value) == "no Purge command for method 'ata-unheard-of'"
