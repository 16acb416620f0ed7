"""NIST SP 800-88 Clear: overwrite with zeros or kernel zero-out, then read every byte back.

``run_clear`` is UI-free: progress goes to a callback, cancellation comes through a
``threading.Event``, and every way a wipe can end becomes a ``WipeOutcome`` whose
status is passed (verified), failed, or incomplete (cancelled, unplugged, crashed).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import struct
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from station import __version__
from station.blockio import (
    BadRegion,
    Interrupted,
    Meter,
    PassResult,
    ProgressCallback,
    read_scan,
    write_zeros,
)
from station.errors import WipeError
from station.evidence import EvidenceRef
from station.hw.blockdev import BlockDevice, is_same_device_present
from station.hw.hdparm import HiddenAreas
from station.reasons import Reason, reason

log = logging.getLogger(__name__)

BLKZEROOUT = 0x127F  # _IO(0x12, 127): zero a byte range, the kernel picks the best way
ZEROOUT_STEP = 256 * 1024 * 1024


class Status(StrEnum):
    """How a job ended; only ``passed`` lets a device become ready."""

    PASSED = "passed"
    FAILED = "failed"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class Verification:
    """How the result was checked, and what was found."""

    method: str
    result: str
    bytes_read: int = 0
    bytes_per_s: float = 0.0
    bad_regions: tuple[BadRegion, ...] = ()


@dataclass(frozen=True)
class WipeOutcome:
    """Everything a certificate needs about one finished (or interrupted) wipe."""

    device: BlockDevice
    method: str
    category: str
    technique: str
    status: Status
    started_at: datetime
    ended_at: datetime
    bytes_written: int
    write_bytes_per_s: float
    verification: Verification
    tool: str = "digibank-station"
    tool_version: str = __version__
    reason: str = ""  # in English, as certificates and records keep it
    errors: tuple[str, ...] = ()
    hidden_areas: HiddenAreas | None = None
    evidence: tuple[EvidenceRef, ...] = field(default_factory=tuple)
    why: Reason | None = None  # ``reason`` as a code, for words in the technician's language


HIDDEN_AREA_REASON = str(reason("hidden_area"))

CLEAR_TECHNIQUES = {
    "overwrite": "single-pass overwrite with zeros (O_DIRECT), full read-back verification",
    "zeroout": "kernel zero-out (BLKZEROOUT), full read-back verification",
}


def _open(dev: BlockDevice, flags: int) -> int:
    # O_EXCL on a block device fails with EBUSY while anything (a mount, swap, RAID,
    # another wipe) holds it: the kernel's own last word on safety.
    try:
        return os.open(dev.path, flags | os.O_EXCL | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            raise WipeError(reason("open_busy", path=dev.path)) from exc
        raise WipeError(reason("open_failed", path=dev.path, error=str(exc.strerror))) from exc


def zero_out(
    fd: int, dev: BlockDevice, meter: Meter, cancel: threading.Event, step: int = ZEROOUT_STEP
) -> PassResult:
    """Zero the whole device with BLKZEROOUT in steps (for progress and cancellation)."""
    offset = 0
    while offset < dev.size_bytes:
        if cancel.is_set():
            raise Interrupted(reason("cancelled"))
        n = min(step, dev.size_bytes - offset)
        try:
            fcntl.ioctl(fd, BLKZEROOUT, struct.pack("QQ", offset, n))
        except OSError as exc:
            if not is_same_device_present(dev):
                raise Interrupted(reason("gone_zeroing", offset=str(offset))) from exc
            if exc.errno in (errno.EOPNOTSUPP, errno.ENOTTY, errno.EINVAL):
                why = reason("no_zeroout", name=dev.name, error=str(exc.strerror))
                raise WipeError(why) from exc
            why = reason("zeroout_failed", offset=str(offset), error=str(exc.strerror))
            raise WipeError(why) from exc
        offset += n
        meter.advance(n)
    os.fsync(fd)
    return PassResult(offset, meter.elapsed, ())


def verify_zero(
    dev: BlockDevice, cancel: threading.Event, on_progress: ProgressCallback | None
) -> Verification:
    """Read every byte of ``dev`` back with direct I/O and check that it is zero."""
    fd = _open(dev, os.O_RDONLY | os.O_DIRECT)
    try:
        meter = Meter("verify", dev.size_bytes, on_progress)
        res = read_scan(
            fd, dev.size_bytes, meter, cancel, lambda: is_same_device_present(dev), True
        )
    finally:
        os.close(fd)
    ok = not res.bad_regions and res.bytes_done == dev.size_bytes
    return Verification(
        "full read-back of every byte",
        "passed" if ok else "failed",
        res.bytes_done,
        res.bytes_per_s,
        res.bad_regions,
    )


def run_clear(
    dev: BlockDevice,
    method: str,
    *,
    cancel: threading.Event | None = None,
    on_progress: ProgressCallback | None = None,
    hidden_areas: HiddenAreas | None = None,
    evidence: tuple[EvidenceRef, ...] = (),
) -> WipeOutcome:
    """Run a Clear wipe (overwrite or zeroout) and its verification; never raises mid-wipe."""
    if method not in CLEAR_TECHNIQUES:
        raise WipeError(
            f"unknown Clear method {method!r}; use one of {', '.join(CLEAR_TECHNIQUES)}"
        )
    cancel = cancel or threading.Event()
    started = datetime.now(UTC)
    written = PassResult(0, 0.0, ())
    verification = Verification("full read-back of every byte", "not run")
    status, why = Status.INCOMPLETE, None
    errors: list[str] = []
    try:
        fd = _open(dev, os.O_WRONLY | (os.O_DIRECT if method == "overwrite" else 0))
        try:
            meter = Meter("write", dev.size_bytes, on_progress)
            if method == "overwrite":
                written = write_zeros(
                    fd, dev.size_bytes, meter, cancel, lambda: is_same_device_present(dev)
                )
            else:
                written = zero_out(fd, dev, meter, cancel)
        finally:
            os.close(fd)
        errors.extend(f"{r.kind} at byte {r.offset} (+{r.length})" for r in written.bad_regions)
        verification = verify_zero(dev, cancel, on_progress)
        errors.extend(
            f"{r.kind} at byte {r.offset} (+{r.length})" for r in verification.bad_regions
        )
        passed = verification.result == "passed" and not written.bad_regions
        status = Status.PASSED if passed else Status.FAILED
        why = None if passed else reason("not_zero")
        if passed and hidden_areas and (hidden_areas.hpa_present or hidden_areas.dco_present):
            # An overwrite cannot reach a hidden area: the media as a whole is not Cleared.
            status, why = Status.FAILED, reason("hidden_area")
    except Interrupted as exc:
        why = exc.why
    except WipeError as exc:
        why, status = exc.reason or reason("message", text=str(exc)), Status.INCOMPLETE
    except Exception as exc:  # the edge of the job: a crash must still be recorded
        log.exception("wipe of %s crashed", dev.path)
        why = reason("crashed", error=repr(exc))
    if status is not Status.PASSED:
        log.warning("wipe of %s ended %s: %s", dev.path, status, why)
    return WipeOutcome(
        device=dev,
        method=method,
        category="Clear",
        technique=CLEAR_TECHNIQUES[method],
        status=status,
        started_at=started,
        ended_at=datetime.now(UTC),
        bytes_written=written.bytes_done,
        write_bytes_per_s=written.bytes_per_s,
        verification=verification,
        reason=str(why or ""),
        why=why,
        errors=tuple(errors),
        hidden_areas=hidden_areas,
        evidence=evidence,
    )
