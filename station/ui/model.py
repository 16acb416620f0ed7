"""What the TUI knows about each device: plain state, no Textual (testable without a screen).

A device keeps its record by identity (serial, or backing file for a loop device), so
unplugging and re-plugging it brings back its last wipe, grades and asset tag: an
interrupted wipe is remembered and still blocks "ready".
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from station.blockio import Progress
from station.grading import Checklist, Grades, ready_blockers
from station.history import DeviceHistory
from station.hw.blockdev import BlockDevice
from station.hw.usb import UsbTablet
from station.jobs import JobSnapshot
from station.reasons import Reason, reason
from station.ui.i18n import text
from station.units import human_bytes, human_eta

BAR_WIDTH = 10


def disk_key(dev: BlockDevice) -> str:
    """The identity a disk keeps across re-plugging."""
    if dev.serial:
        return f"serial:{dev.serial}"
    if dev.is_loop and dev.backing_file:
        return f"loop:{dev.backing_file}"
    # Nothing identifies the medium: new media (a new diskseq) is a new device, so it can
    # never inherit another medium's wipe.
    return f"name:{dev.name}:{dev.diskseq}"


def tablet_key(tablet: UsbTablet) -> str:
    """The identity a tablet keeps across re-plugging."""
    return f"tablet:{tablet.serial or tablet.usb_path}"


@dataclass
class DeviceRecord:
    """One device's state in the live table (mutated only on the UI thread)."""

    key: str
    slot: str
    disk: BlockDevice | None = None
    tablet: UsbTablet | None = None
    attached: bool = True
    asset_tag: str = ""
    server_state: str = ""  # lifecycle state on the server, when looked up
    smart: str = ""
    job: JobSnapshot | None = None
    wipe_statuses: list[str] = field(default_factory=list)
    grades: Grades | None = None
    checklist: Checklist | None = None
    battery_health_pct: float | None = None
    battery_cycles: int | None = None
    ready: bool = False
    certificates: list[Path] = field(default_factory=list)
    history: DeviceHistory | None = None  # earlier sessions: the server's, else the station's

    @property
    def kind(self) -> str:
        """usb / sata / nvme / loop ... for disks, 'tablet' for tablets."""
        return "tablet" if self.tablet else (self.disk.transport if self.disk else "?")

    @property
    def make_model(self) -> str:
        """Maker and model as the device reports them."""
        if self.tablet:
            return " ".join(x for x in (self.tablet.manufacturer, self.tablet.product) if x)
        if self.disk:
            return " ".join(x for x in (self.disk.vendor, self.disk.model) if x)
        return ""

    @property
    def serial(self) -> str:
        """The serial (empty when the device has none)."""
        if self.tablet:
            return self.tablet.serial
        return self.disk.serial if self.disk else ""

    @property
    def capacity(self) -> str:
        """Human capacity, empty for tablets before diagnosis."""
        return human_bytes(self.disk.size_bytes) if self.disk else ""

    @property
    def busy(self) -> bool:
        """True while a job runs on the device."""
        return self.job is not None and not self.job.finished

    @property
    def last_wipe(self) -> str:
        """Status of the most recent wipe, empty if none."""
        return self.wipe_statuses[-1] if self.wipe_statuses else ""

    def ready_blockers(self) -> list[Reason]:
        """Why the device may not be marked ready (the engine's rule, plus 'not graded')."""
        blockers: list[Reason] = []
        if self.busy:
            blockers.append(reason("job_running"))
        # Only the latest wipe counts: a later passed wipe supersedes an interrupted one.
        latest = [self.last_wipe] if self.last_wipe else []
        blockers.extend(ready_blockers(self.grades, latest))
        return blockers

    def job_cells(self, language: str = "en") -> tuple[str, str, str, str]:
        """Job, progress bar, throughput and ETA cells (the job's words in ``language``)."""
        job = self.job
        if job is None:
            return ("", "", "", "")
        kind = text(language, f"hist_{job.kind}")
        if job.finished:
            return (f"{kind} {text(language, f'state_{job.state}')}", "", "", "")
        return (kind, *progress_cells(job.progress))


def progress_bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A text progress bar: '█████░░░░░ 50%'."""
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(fraction * width)
    return "█" * filled + "░" * (width - filled) + f" {100 * fraction:3.0f}%"


def progress_cells(progress: Progress | None) -> tuple[str, str, str]:
    """Progress bar with phase, throughput, ETA for one job."""
    if progress is None:
        return ("…", "", "")
    bar = f"{progress.phase[:1]} {progress_bar(progress.fraction)}"
    return (bar, f"{human_bytes(progress.bytes_per_s)}/s", human_eta(progress.eta_s))


_USB_PORT = re.compile(r"-usb-\d+:([\d.]+):")
_ATA_PORT = re.compile(r"-ata-(\d+)")


def slot_of(dev: BlockDevice) -> str:
    """A short dock/port name: from udev's ID_PATH when udevd runs, else the kernel name."""
    id_path = dev.udev.get("ID_PATH", "")
    if m := _USB_PORT.search(id_path):
        return f"usb{m.group(1)}"
    if m := _ATA_PORT.search(id_path):
        return f"ata{m.group(1)}"
    return dev.name


# What a server lookup tells about a device (``StationCore.server_facts``).
SERVER_FACTS = ("history", "asset_tag", "server_state")


class LookupOrder:
    """Server lookups are numbered when asked, and answer out of order: an answer older
    than the newest one applied to a device, or than a change made here (a typed asset
    tag, marking ready), is stale and must not overwrite it."""

    def __init__(self) -> None:
        self._next = itertools.count(1)
        self._newest: dict[str, int] = {}

    def ask(self) -> int:
        """The number of a lookup about to be made (any thread)."""
        return next(self._next)

    def changed(self, key: str) -> None:
        """The device's server facts were just changed here: lookups asked before lose."""
        self._newest[key] = self.ask()

    def fresh(self, key: str, asked: int) -> bool:
        """Whether the answer of lookup ``asked`` is newer than what ``key`` shows (then it is)."""
        if asked < self._newest.get(key, 0):
            return False
        self._newest[key] = asked
        return True
