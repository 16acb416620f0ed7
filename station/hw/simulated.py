"""Simulated hardware for demos and training (``digibank-station tui --simulate``), never for tests.

The same events and the same engine interface as the real path, but the devices are
scripted, wipes only advance a clock, and every certificate says SIMULATED.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.blockio import Progress, ProgressCallback
from station.config import StationConfig
from station.errors import DeviceError, SafetyRefusal
from station.hw.blockdev import BlockDevice
from station.hw.udev import DiskAttached, DiskDetached, EventCallback, StationEvent
from station.reasons import Reason, reason
from station.safety import confirmation_matches, confirmation_reason
from station.wipe import Status, Verification, WipeOutcome

if TYPE_CHECKING:
    from station.printing import PrintJob
    from station.service import Station, WipeReport

log = logging.getLogger(__name__)

GIB = 1 << 30
DEMO_DISKS = (
    BlockDevice("sdb", "/dev/sdb", "8:16", 500 * GIB, transport="sata", rotational=True,
                vendor="ATA", model="ST500LM021-1KJ152", serial="W62DEMO1"),
    BlockDevice("sdc", "/dev/sdc", "8:32", 256 * GIB, transport="usb", vendor="JMicron",
                model="SAMSUNG MZ7LN256", serial="S2DEMO7Q", serial_source="simulated"),
    BlockDevice("nvme0n1", "/dev/nvme0n1", "259:0", 512 * GIB, transport="nvme",
                model="PC SN530 NVMe WDC 512GB", serial="2040DEMO9", serial_source="simulated"),
    BlockDevice("sdd", "/dev/sdd", "8:48", 128 * GIB, transport="usb", model="Flash Disk",
                serial="DEMO0MNT", serial_source="simulated"),
)  # fmt: skip
# One demo disk is "mounted" so trainees see a refusal.
MOUNTED_DEMO = "sdd"


class SimulatedHardware:
    """Scripted devices: present at start, plugged and unplugged on request."""

    def __init__(self, on_event: EventCallback, speed_bytes_per_s: float = 400e6) -> None:
        self.on_event = on_event
        self.speed = speed_bytes_per_s
        self.devices: dict[str, BlockDevice] = {}
        self._lock = threading.Lock()

    def start(self) -> list[StationEvent]:
        """The devices 'attached' at start."""
        with self._lock:
            self.devices = {d.name: d for d in DEMO_DISKS}
        return [DiskAttached(d) for d in DEMO_DISKS]

    def stop(self) -> None:
        """Nothing to release."""

    def plug(self, dev: BlockDevice) -> None:
        """Attach a demo device."""
        with self._lock:
            self.devices[dev.name] = dev
        self.on_event(DiskAttached(dev))

    def unplug(self, name: str) -> None:
        """Detach a demo device (a running wipe on it ends incomplete)."""
        with self._lock:
            self.devices.pop(name, None)
        self.on_event(DiskDetached(name))


class SimulatedStation:
    """The engine interface the UI uses, over simulated hardware; certificates say SIMULATED."""

    def __init__(self, real: Station, hardware: SimulatedHardware) -> None:
        self.real, self.hw, self.cfg = real, hardware, real.cfg

    def print_label(self, pdf: Path) -> PrintJob | None:
        """The label printer is not simulated: a set ``label_printer`` prints for real."""
        return self.real.print_label(pdf)

    def list_devices(self) -> list[BlockDevice]:
        """The demo devices present now."""
        return list(self.hw.devices.values())

    def resolve(self, name: str) -> BlockDevice:
        """A demo device by name."""
        dev = self.hw.devices.get(name.removeprefix("/dev/"))
        if dev is None:
            raise DeviceError(f"no simulated device named {name!r}")
        return dev

    def refusals(self, dev: BlockDevice) -> list[Reason]:
        """The same kind of refusal a trainee will meet on the real station."""
        if dev.name == MOUNTED_DEMO:
            return [reason("mounted", name=dev.name, mount_point="/media/demo")]
        return []

    def check_wipe(self, dev: BlockDevice, confirm: str | None) -> None:
        """Refuse like the real station: mounted, or the wrong confirmation."""
        reasons = self.refusals(dev)
        if not confirmation_matches(dev, confirm):
            reasons.append(confirmation_reason(dev, confirm))
        if reasons:
            raise SafetyRefusal(reasons)

    def wipe(
        self,
        dev: BlockDevice,
        method: str,
        confirm: str | None,
        *,
        cancel: threading.Event | None = None,
        on_progress: ProgressCallback | None = None,
        asset_tag: str = "",
    ) -> WipeReport:
        """Advance a simulated overwrite + verify on a clock; issue a SIMULATED certificate."""
        self.check_wipe(dev, confirm)
        cancel = cancel or threading.Event()
        started = datetime.now(UTC)
        why: Reason | None = None
        done = {"write": 0, "verify": 0}
        for phase in ("write", "verify"):
            t0 = time.monotonic()
            while done[phase] < dev.size_bytes:
                if cancel.wait(0.1):
                    why = reason("cancelled")
                elif dev.name not in self.hw.devices:
                    gone = "gone_writing" if phase == "write" else "gone_reading"
                    why = reason(gone, offset=str(done[phase]))
                if why:
                    break
                elapsed = time.monotonic() - t0
                done[phase] = min(dev.size_bytes, int(elapsed * self.hw.speed))
                if on_progress:
                    on_progress(Progress(phase, done[phase], dev.size_bytes, elapsed))
            if why:
                break
        passed = why is None
        outcome = WipeOutcome(
            device=replace(dev, serial_source="simulated"),
            method=method if method != "auto" else "overwrite",
            category="Clear",
            technique="SIMULATED - no data was erased (training mode)",
            status=Status.PASSED if passed else Status.INCOMPLETE,
            started_at=started,
            ended_at=datetime.now(UTC),
            bytes_written=done["write"],
            write_bytes_per_s=self.hw.speed,
            verification=Verification(
                "SIMULATED", "passed" if passed else "not run", done["verify"]
            ),
            tool="digibank-station (SIMULATED)",
            reason=str(why or ""),
            why=why,
        )
        return self.real.issue(outcome, asset_tag)

    def __getattr__(self, name: str) -> Any:
        # Everything else (keys, verify, capabilities of real tools) is the real engine's.
        return getattr(self.real, name)


def simulated_engine(
    cfg: StationConfig, on_event: EventCallback
) -> tuple[SimulatedStation, SimulatedHardware]:
    """A simulated station writing into its own folder, never syncing to a server."""
    from station.service import Station

    sim_cfg = replace(cfg, data_dir=cfg.data_dir / "simulated", server_url="", token="")
    hardware = SimulatedHardware(on_event)
    return SimulatedStation(Station(sim_cfg), hardware), hardware
