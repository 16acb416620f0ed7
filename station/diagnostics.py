"""Disk diagnostics: SMART summary plus a full-surface read scan with a bad-region list."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from station.blockio import BadRegion, Interrupted, Meter, ProgressCallback, read_scan
from station.errors import ParseError, ToolError
from station.evidence import EvidenceRef
from station.hw import smart
from station.hw.adb import GOOGLE_ACCOUNT_TYPE, Adb, TabletInfo
from station.hw.blockdev import BlockDevice, is_same_device_present
from station.hw.ios import Ios, IpadInfo
from station.hw.smart import SmartSummary
from station.reasons import Reason, english, reason

if TYPE_CHECKING:
    from station.service import Station

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SurfaceScan:
    """A full read of the disk: how fast, how far, and which regions failed."""

    bytes_read: int
    total_bytes: int
    bytes_per_s: float
    bad_regions: tuple[BadRegion, ...] = ()
    completed: bool = True
    reason: str = ""  # why it stopped early, in English (as records keep it)
    why: Reason | None = None  # ``reason`` as a code, for words in the technician's language


@dataclass(frozen=True)
class DiskDiagnosis:
    """The station's conclusion about one disk, pointing to the tool output it rests on."""

    device: BlockDevice
    status: str  # passed | failed | incomplete
    started_at: datetime
    ended_at: datetime
    smart: SmartSummary | None = None
    smart_error: str = ""
    surface: SurfaceScan | None = None
    reasons: tuple[Reason, ...] = ()  # what was found, as codes
    evidence: tuple[EvidenceRef, ...] = field(default_factory=tuple)

    @property
    def findings(self) -> tuple[str, ...]:
        """What was found, in English (as records and the server keep it)."""
        return tuple(english(self.reasons))

    @property
    def smart_why(self) -> Reason | None:
        """``smart_error`` as a reason (the tool's own words stay as they were said)."""
        return reason("smart_unreadable", error=self.smart_error) if self.smart_error else None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (also the job 'details' sent to the server): English only."""
        # The findings in English where the record has always had them; no codes (``why``).
        data = {
            ("findings" if key == "reasons" else key): value
            for key, value in asdict(self, dict_factory=_english_only).items()
        }
        data["findings"] = list(self.findings)
        data["device"].pop("udev", None)
        data["started_at"] = self.started_at.isoformat(timespec="seconds")
        data["ended_at"] = self.ended_at.isoformat(timespec="seconds")
        return data


def _english_only(items: list[tuple[str, Any]]) -> dict[str, Any]:
    """A record's fields without the codes kept beside their English (``why``)."""
    return {key: value for key, value in items if key != "why"}


def surface_scan(
    dev: BlockDevice, cancel: threading.Event, on_progress: ProgressCallback | None
) -> SurfaceScan:
    """Read every byte of the disk with direct I/O, listing unreadable regions."""
    fd = os.open(dev.path, os.O_RDONLY | os.O_DIRECT | os.O_CLOEXEC)
    meter = Meter("scan", dev.size_bytes, on_progress)
    try:
        res = read_scan(
            fd, dev.size_bytes, meter, cancel, lambda: is_same_device_present(dev), False
        )
    except Interrupted as exc:
        rate = meter.done / meter.elapsed if meter.elapsed > 0 else 0.0
        return SurfaceScan(meter.done, dev.size_bytes, rate, (), False, str(exc.why), exc.why)
    finally:
        os.close(fd)
    return SurfaceScan(res.bytes_done, dev.size_bytes, res.bytes_per_s, res.bad_regions)


def diagnose_disk(
    station: Station,
    dev: BlockDevice,
    *,
    surface_scan_wanted: bool = True,
    cancel: threading.Event | None = None,
    on_progress: ProgressCallback | None = None,
) -> DiskDiagnosis:
    """SMART (kept as evidence) and, if wanted, a full-surface read scan; never raises mid-way."""
    cancel = cancel or threading.Event()
    started = datetime.now(UTC)
    summary: SmartSummary | None = None
    smart_error = ""
    evidence: list[EvidenceRef] = []
    findings: list[Reason] = []
    try:
        summary, res = smart.read_smart(station.runner, dev.path)
        evidence.append(station.keep(res))
        findings.extend(summary.why)
    except (ToolError, ParseError) as exc:
        smart_error = str(exc)
    scan: SurfaceScan | None = None
    if surface_scan_wanted:
        try:
            scan = surface_scan(dev, cancel, on_progress)
        except OSError as exc:
            why = reason("scan_cannot_read", path=dev.path, error=str(exc.strerror))
            scan = SurfaceScan(0, dev.size_bytes, 0.0, (), False, str(why), why)
        findings.extend(r.finding() for r in scan.bad_regions)
    status = "passed"
    if (summary and summary.verdict == "failed") or (scan and scan.bad_regions):
        status = "failed"
    elif scan and not scan.completed:
        status = "incomplete"
        findings.append(scan.why or reason("message", text=scan.reason))
    return DiskDiagnosis(
        device=dev,
        status=status,
        started_at=started,
        ended_at=datetime.now(UTC),
        smart=summary,
        smart_error=smart_error,
        surface=scan,
        reasons=tuple(findings),
        evidence=tuple(evidence),
    )


class _TabletFindings:
    """What a tablet diagnosis found, in English, and its plain record."""

    reasons: tuple[Reason, ...]
    started_at: datetime
    ended_at: datetime

    @property
    def findings(self) -> tuple[str, ...]:
        """What needs attention, in English (as records and the server keep it)."""
        return tuple(english(self.reasons))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        data = asdict(self)  # type: ignore[call-overload]  # every subclass is a dataclass
        del data["reasons"]
        data["findings"] = list(self.findings)
        data["started_at"] = self.started_at.isoformat(timespec="seconds")
        data["ended_at"] = self.ended_at.isoformat(timespec="seconds")
        return data


@dataclass(frozen=True)
class TabletDiagnosis(_TabletFindings):
    """What adb says about a tablet, and what needs attention before it can be lent."""

    info: TabletInfo
    status: str  # passed | failed
    account_types: dict[str, int]
    reasons: tuple[Reason, ...]  # what needs attention, as codes
    started_at: datetime
    ended_at: datetime
    evidence: tuple[EvidenceRef, ...] = ()
    method = "adb (getprop, dumpsys battery, df, accounts)"


@dataclass(frozen=True)
class IpadDiagnosis(_TabletFindings):
    """What pymobiledevice3 says about an iPad, and what needs attention before it can be lent."""

    info: IpadInfo
    status: str  # passed | failed
    reasons: tuple[Reason, ...]
    started_at: datetime
    ended_at: datetime
    evidence: tuple[EvidenceRef, ...] = ()
    method = "pymobiledevice3 (lockdown info, Find My, battery, disk usage)"


def diagnose_tablet(station: Station, serial: str) -> TabletDiagnosis:
    """Identity, battery, storage and signed-in accounts of an Android tablet over adb."""
    from station.tablets import FRP_ADVICE

    started = datetime.now(UTC)
    adb = Adb(station.runner)
    info, outputs = adb.info(serial)
    types, accounts_res = adb.account_types(serial)
    evidence = tuple(station.keep(r) for r in [*outputs, accounts_res])
    findings: list[Reason] = []
    failed = False
    if info.battery is None:
        findings.append(reason("battery_state_unknown"))
    elif info.battery.health not in ("good", "unknown"):
        failed = True
        findings.append(reason("battery_health", health=info.battery.health))
    if types.get(GOOGLE_ACCOUNT_TYPE):
        findings.append(FRP_ADVICE)
    return TabletDiagnosis(
        info=info,
        status="failed" if failed else "passed",
        account_types=types,
        reasons=tuple(findings),
        started_at=started,
        ended_at=datetime.now(UTC),
        evidence=evidence,
    )


# Below this share of its design capacity a battery is worn out (Apple's own service mark).
IPAD_BATTERY_WORN_PCT = 80.0


def diagnose_ipad(station: Station, usb_serial: str) -> IpadDiagnosis:
    """Identity, Find My, battery and storage of an iPad over pymobiledevice3."""
    started = datetime.now(UTC)
    ios = Ios(station.runner)
    info, outputs = ios.info(ios.find(usb_serial).udid)
    evidence = tuple(station.keep(r) for r in outputs)
    findings: list[Reason] = []
    failed = False
    bat = info.battery
    if bat is None:
        findings.append(reason("battery_state_unknown"))
    elif bat.health_pct is not None and bat.health_pct < IPAD_BATTERY_WORN_PCT:
        failed = True
        findings.append(reason("battery_worn", percent=f"{bat.health_pct:g}"))
    if info.find_my == "on":
        findings.append(reason("find_my_on"))
    elif info.find_my == "unknown":
        findings.append(reason("find_my_unknown"))
    return IpadDiagnosis(
        info=info,
        status="failed" if failed else "passed",
        reasons=tuple(findings),
        started_at=started,
        ended_at=datetime.now(UTC),
        evidence=evidence,
    )
