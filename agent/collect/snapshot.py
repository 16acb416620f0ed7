"""What a collector returns, the collector interface, and turning a snapshot into a report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from agent import __version__
from agent.report import Battery, Disk, HealthReport, Memory, Temperatures

MAX_ERRORS = 20
MAX_ERROR_CHARS = 200
MAX_DISKS = 16
MAX_OS_CHARS = 64


@dataclass(frozen=True)
class Snapshot:
    """The health facts of one moment, before a device id and sequence number are attached."""

    measured_at: datetime
    os_name: str | None = None
    os_version: str | None = None
    uptime_s: int | None = None
    battery: Battery | None = None
    disks: tuple[Disk, ...] = ()
    memory: Memory | None = None
    temperatures: Temperatures | None = None
    errors: tuple[str, ...] = field(default_factory=tuple)


class Collector(Protocol):
    """Anything that can take a health snapshot: the real machine, or a simulated one."""

    def collect(self) -> Snapshot:
        """Take one snapshot; never raises for a missing sensor (it goes into `errors`)."""
        ...


def build_report(
    snapshot: Snapshot, device_id: str, seq: int, agent_version: str = __version__
) -> HealthReport:
    """Attach identity and sequence to a snapshot, trimming lists to what the contract allows."""
    errors = tuple(e[:MAX_ERROR_CHARS] for e in snapshot.errors[:MAX_ERRORS])
    if len(snapshot.errors) > MAX_ERRORS:
        errors = (*errors[:-1], f"agent: {len(snapshot.errors) - MAX_ERRORS + 1} more errors")
    return HealthReport(
        device_id=device_id,
        seq=seq,
        measured_at=snapshot.measured_at,
        agent_version=agent_version,
        # The contract allows 64 characters; an odd os-release must not make a report invalid.
        os_name=snapshot.os_name[:MAX_OS_CHARS] if snapshot.os_name else None,
        os_version=snapshot.os_version[:MAX_OS_CHARS] if snapshot.os_version else None,
        uptime_s=snapshot.uptime_s,
        battery=snapshot.battery,
        disks=snapshot.disks[:MAX_DISKS],
        memory=snapshot.memory,
        temperatures=snapshot.temperatures,
        errors=errors,
    )


def collect_report(collector: Collector, device_id: str, seq: int) -> HealthReport:
    """Take a snapshot with `collector` and turn it into the report for (device_id, seq)."""
    return build_report(collector.collect(), device_id, seq)
