"""NIST SP 800-88 Purge through the drive's own commands, then verification by sampled reads.

The drive does the work (sanitize, secure erase, crypto erase); the station sends the
command through the one runner, keeps what the tool said as evidence, and then reads
samples spread over the whole device: each must be a uniform pattern or differ from
what was there before. Data found unchanged means the Purge failed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from station.blockio import BadRegion, Progress, ProgressCallback
from station.errors import ParseError, ToolError
from station.evidence import EvidenceRef
from station.hw import hdparm, nvme
from station.hw.blockdev import BlockDevice, is_same_device_present
from station.hw.hdparm import HiddenAreas
from station.methods import MethodOption
from station.reasons import Reason, reason
from station.wipe import Status, Verification, WipeOutcome

if TYPE_CHECKING:
    from station.service import Station

log = logging.getLogger(__name__)

SAMPLE_BYTES = 256 * 1024
SAMPLE_COUNT = 1000
# A documented, non-secret password: if an erase is interrupted the technician can unlock with it.
ATA_TEMP_PASSWORD = "digibank-erase"
POLL_S = 5.0
LONG_TIMEOUT_S = 12 * 3600.0


@dataclass(frozen=True)
class Sample:
    """What one sampled region held: its hash and whether it was one repeated byte."""

    offset: int
    sha256: str
    uniform: bool


def sample_offsets(
    size: int, sample: int = SAMPLE_BYTES, count: int = SAMPLE_COUNT, seed: int = 0
) -> list[int]:
    """First and last region plus one random region in each of ``count`` equal sections."""
    last = max(0, (size - sample) // 4096 * 4096)
    if size <= sample * 2:
        return sorted({0, last})
    count = max(1, min(count, size // sample))
    rng = random.Random(seed)
    section = size // count
    offsets = {0, last}
    for i in range(count):
        start = i * section
        top = max(start, min(start + section - sample, last))
        offsets.add(rng.randrange(start, top + 1) // 4096 * 4096)
    return sorted(offsets)


def read_samples(dev: BlockDevice, offsets: list[int], sample: int = SAMPLE_BYTES) -> list[Sample]:
    """Read the sampled regions with direct I/O (so the media, not a cache, answers)."""
    import mmap

    buf = mmap.mmap(-1, sample)
    view = memoryview(buf)
    fd = os.open(dev.path, os.O_RDONLY | os.O_DIRECT | os.O_CLOEXEC)
    samples = []
    try:
        for offset in offsets:
            n = min(sample, dev.size_bytes - offset)
            got = os.preadv(fd, [view[:n]], offset)
            data = buf[:got]
            samples.append(
                Sample(offset, hashlib.sha256(data).hexdigest(), data.count(data[:1]) == len(data))
            )
    finally:
        os.close(fd)
        view.release()
        buf.close()
    return samples


def compare_samples(before: list[Sample], after: list[Sample]) -> Verification:
    """Pass if every sample is now uniform or changed; list the regions still holding old data."""
    old = {s.offset: s for s in before}
    unchanged = [
        BadRegion.because(s.offset, SAMPLE_BYTES, reason("region_unchanged"))
        for s in after
        if not s.uniform and s.offset in old and old[s.offset].sha256 == s.sha256
    ]
    method = (
        f"sampled read-back ({len(after)} regions of {SAMPLE_BYTES // 1024} KiB over the device)"
    )
    return Verification(
        method,
        "failed" if unchanged else "passed",
        len(after) * SAMPLE_BYTES,
        0.0,
        tuple(unchanged),
    )


def purge_commands(option: MethodOption, dev: BlockDevice) -> list[list[str]]:
    """The tool command lines for a Purge method."""
    p = dev.path
    u = ["--user-master", "u"]
    if option.name.startswith("nvme-sanitize"):
        action = "--sanact=4" if option.name.endswith("crypto") else "--sanact=2"
        return [["nvme", "sanitize", nvme.controller_path(dev.name), action]]
    table = {
        "nvme-format-crypto": [["nvme", "format", p, "--ses=2", "--force"]],
        "nvme-format-erase": [["nvme", "format", p, "--ses=1", "--force"]],
        "ata-sanitize-crypto": [
            ["hdparm", "--yes-i-know-what-i-am-doing", "--sanitize-crypto-scramble", p]
        ],
        "ata-sanitize-block": [
            ["hdparm", "--yes-i-know-what-i-am-doing", "--sanitize-block-erase", p]
        ],
        "ata-security-erase-enhanced": [
            ["hdparm", *u, "--security-set-pass", ATA_TEMP_PASSWORD, p],
            ["hdparm", *u, "--security-erase-enhanced", ATA_TEMP_PASSWORD, p],
        ],
        "ata-security-erase": [
            ["hdparm", *u, "--security-set-pass", ATA_TEMP_PASSWORD, p],
            ["hdparm", *u, "--security-erase", ATA_TEMP_PASSWORD, p],
        ],
        "secure-discard": [["blkdiscard", "--secure", p]],
    }
    if option.name not in table:
        raise ToolError(reason("no_purge_command", method=option.name))
    return table[option.name]


def _sanitize_state(station: Station, dev: BlockDevice) -> tuple[float, str]:
    """(progress 0..1, state) of a running NVMe or ATA sanitize."""
    if dev.transport == "nvme":
        argv = ["nvme", "sanitize-log", nvme.controller_path(dev.name), "-o", "json"]
        return nvme.parse_sanitize_log(station.runner.run(argv, timeout=30).stdout)
    res = station.runner.run(["hdparm", "--sanitize-status", dev.path], timeout=30)
    return hdparm.parse_sanitize_status(res.stdout)


def _wait_for_sanitize(
    station: Station, dev: BlockDevice, on_progress: ProgressCallback | None
) -> Reason | None:
    """Poll the drive until its sanitize is done; return None, or why it failed."""
    start = time.monotonic()
    while True:
        try:
            fraction, state = _sanitize_state(station, dev)
        except (ParseError, ToolError) as exc:
            return reason("sanitize_unreadable", error=str(exc))
        if on_progress:
            total = 1000
            on_progress(Progress("purge", int(fraction * total), total, time.monotonic() - start))
        if state == "failed":
            return reason("sanitize_failed")
        if state != "in progress":
            return None if state.startswith("completed") else reason("sanitize_ended", state=state)
        if not is_same_device_present(dev):
            return reason("gone_sanitizing")
        time.sleep(POLL_S)


def _failed(command_line: str, returncode: int, stderr: str) -> Reason:
    """A tool's failure: its command line, exit code and own words (cut to 300 characters)."""
    return reason(
        "tool_failed", command=command_line, returncode=str(returncode), stderr=stderr.strip()[:300]
    )


def _tool(method: str) -> str:
    return {"nvme": "nvme", "ata": "hdparm", "secure": "blkdiscard"}[method.split("-")[0]]


def run_purge(
    station: Station,
    dev: BlockDevice,
    option: MethodOption,
    *,
    cancel: threading.Event | None = None,
    on_progress: ProgressCallback | None = None,
    hidden_areas: HiddenAreas | None = None,
    evidence: tuple[EvidenceRef, ...] = (),
) -> WipeOutcome:
    """Run a Purge method, keep the tools' output as evidence, verify by sampled reads."""
    started = datetime.now(UTC)
    refs = list(evidence)
    status, why = Status.INCOMPLETE, None
    verification = Verification("sampled read-back", "not run")
    try:
        offsets = sample_offsets(dev.size_bytes)
        before = read_samples(dev, offsets)
        if cancel is not None and cancel.is_set():
            raise ToolError(reason("purge_cancelled"))
        # Once the drive has the command it cannot be stopped: cancellation ends here.
        for argv in purge_commands(option, dev):
            res = station.runner.run(argv, timeout=LONG_TIMEOUT_S)
            refs.append(station.keep(res))
            if res.returncode != 0:
                raise ToolError(_failed(res.command_line, res.returncode, res.stderr))
        if "sanitize" in option.name:  # the drive works on after the command returns
            failure = _wait_for_sanitize(station, dev, on_progress)
            if failure:
                raise ToolError(failure)
        if not is_same_device_present(dev):
            raise ToolError(reason("gone_purging"))
        verification = compare_samples(before, read_samples(dev, offsets))
        status = Status.PASSED if verification.result == "passed" else Status.FAILED
        why = None if status is Status.PASSED else reason("purge_unchanged")
    except (ToolError, OSError) as exc:
        # The runner's and the kernel's own words have no code: they are passed on as said.
        why = exc.reason if isinstance(exc, ToolError) else None
        why = why or reason("message", text=str(exc))
        if option.name.startswith("ata-security"):
            why = reason("ata_password_hint", why, password=ATA_TEMP_PASSWORD)
    except Exception as exc:  # the edge of the job: a crash must still be recorded
        log.exception("purge of %s crashed", dev.path)
        why = reason("crashed", error=repr(exc))
    return WipeOutcome(
        device=dev,
        method=option.name,
        category="Purge",
        technique=option.technique,
        status=status,
        started_at=started,
        ended_at=datetime.now(UTC),
        bytes_written=0,
        write_bytes_per_s=0.0,
        verification=verification,
        tool=option.name.split("-")[0] if not option.name.startswith("ata") else "hdparm",
        tool_version=station.version_of(
            "hdparm" if option.name.startswith("ata") else option.name.split("-")[0]
        ),
        reason=str(why or ""),
        why=why,
        hidden_areas=hidden_areas,
        evidence=tuple(refs),
    )
