"""The on-disk report spool: every report lands here first and leaves only after a PUBACK.

One file per report, named by its sequence number. A report is written to `<name>.tmp`,
fsynced, renamed into place and the folder fsynced, so after a power loss a report either is
there whole or not at all; a leftover `.tmp` is removed when the spool opens. The spool is
bounded in count and bytes; when full, the oldest reports are dropped first and counted.
Removal after a PUBACK is not fsynced: if a power loss brings a sent report back, it is sent
again and the server, which stores (device, seq) once, ignores the duplicate.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

from agent.fsutil import ensure_private_dir, fsync_dir
from agent.report import HealthReport, ReportError

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{20})\.json$")


class SpoolError(Exception):
    """A report that cannot be spooled at all (larger than the whole spool)."""


class Spool:
    """Reports waiting for the broker, oldest first, bounded in count and bytes."""

    def __init__(
        self,
        folder: Path,
        max_reports: int,
        max_bytes: int,
        on_drop: Callable[[int], None] | None = None,
        on_corrupt: Callable[[int], None] | None = None,
    ) -> None:
        self.folder = ensure_private_dir(folder)
        self.max_reports = max_reports
        self.max_bytes = max_bytes
        self._on_drop = on_drop
        self._on_corrupt = on_corrupt
        self._sizes: dict[int, int] = {}  # seq -> bytes, kept in ascending seq order
        self._bytes = 0
        self._open()

    def _open(self) -> None:
        found: list[tuple[int, int]] = []
        for entry in os.scandir(self.folder):
            if entry.name.endswith(".tmp"):
                # A write that a crash interrupted: the report was never complete.
                log.warning("spool: removing unfinished write %s", entry.name)
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                continue
            match = _NAME.match(entry.name)
            if match:
                found.append((int(match.group(1)), entry.stat().st_size))
        for seq, size in sorted(found):
            self._sizes[seq] = size
            self._bytes += size
        if found:
            log.info("spool: %d reports waiting (%d bytes)", len(found), self._bytes)

    def __len__(self) -> int:
        return len(self._sizes)

    @property
    def total_bytes(self) -> int:
        """Bytes of all spooled reports."""
        return self._bytes

    def seqs(self) -> list[int]:
        """Sequence numbers waiting, oldest first."""
        return list(self._sizes)

    def head(self, n: int) -> list[int]:
        """The `n` oldest sequence numbers waiting."""
        return list(itertools.islice(self._sizes, n))

    def max_seq(self) -> int:
        """Highest spooled sequence number, or -1."""
        return next(reversed(self._sizes), -1)

    def _path(self, seq: int) -> Path:
        return self.folder / f"{seq:020d}.json"

    def add(self, seq: int, payload: bytes) -> int:
        """Store one report durably; returns how many old reports were dropped to make room."""
        if len(payload) > self.max_bytes:
            raise SpoolError(f"report {seq}: {len(payload)} bytes exceed the spool's limit")
        if seq <= self.max_seq():
            raise SpoolError(f"report {seq}: not newer than the last spooled {self.max_seq()}")
        path = self._path(seq)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(self.folder)
        self._sizes[seq] = len(payload)
        self._bytes += len(payload)
        return self._enforce_bounds()

    def _enforce_bounds(self) -> int:
        dropped = 0
        while len(self._sizes) > 1 and (
            len(self._sizes) > self.max_reports or self._bytes > self.max_bytes
        ):
            oldest = next(iter(self._sizes))
            self.remove(oldest)
            dropped += 1
        if dropped:
            log.warning("spool full: dropped the %d oldest report(s)", dropped)
            if self._on_drop:
                self._on_drop(dropped)
        return dropped

    def read(self, seq: int) -> bytes | None:
        """The stored report, or None if it is gone or damaged (a damaged one is removed)."""
        try:
            payload = self._path(seq).read_bytes()
        except FileNotFoundError:
            self._forget(seq)
            return None
        try:
            report = HealthReport.from_json(payload)
            if report.seq != seq:
                raise ReportError(f"seq {report.seq} in a file named {seq}")
        except ReportError as exc:
            log.error("spool: report %d is damaged (%s); removing it", seq, exc)
            self.remove(seq)
            if self._on_corrupt:
                self._on_corrupt(1)
            return None
        return payload

    def remove(self, seq: int) -> None:
        """Forget a report (sent, or dropped); a missing file is fine."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(seq))
        self._forget(seq)

    def _forget(self, seq: int) -> None:
        size = self._sizes.pop(seq, None)
        if size is not None:
            self._bytes -= size


def spool_summary(folder: Path) -> tuple[int, int, int]:
    """(count, bytes, highest seq or -1) of a spool folder, read without changing anything."""
    count = size = 0
    highest = -1
    if folder.is_dir():
        for entry in os.scandir(folder):
            match = _NAME.match(entry.name)
            if match:
                count += 1
                size += entry.stat().st_size
                highest = max(highest, int(match.group(1)))
    return count, size, highest
