"""Flag rules: pure functions from facts to findings, thresholds passed in.

Report rules look at one health report (and the device's previous one, for "growing" and
"two in a row"); loan rules look at an active loan and the device's last-seen time. Neither
touches the database: `server.flags` turns findings into flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from server.core.config import Settings

REPAIR = "repair"
RETURN = "return"

# Reasons raised by report rules; a repair flag with one of these resolves itself when its
# cause has been absent for a configured number of reports.
BATTERY_HEALTH = "battery_health"
SMART_FAILED = "smart_failed"
DISK_SECTORS = "disk_sectors"
NVME_CRITICAL_WARNING = "nvme_critical_warning"
NVME_WEAR = "nvme_wear"
DISK_FULL = "disk_full"
OVERHEATING = "overheating"
RETIRED_REPORTING = "retired_reporting"
REPORT_REPAIR_REASONS = frozenset(
    {BATTERY_HEALTH, SMART_FAILED, DISK_SECTORS, NVME_CRITICAL_WARNING, NVME_WEAR, DISK_FULL,
     OVERHEATING}
)  # fmt: skip

# Reasons raised by the scheduled loan rules.
DUE_SOON = "due_soon"
OVERDUE = "overdue"
SILENT_ON_LOAN = "silent_on_loan"
LOAN_REASONS = frozenset({DUE_SOON, OVERDUE, SILENT_ON_LOAN})

SECTOR_FIELDS = ("reallocated_sectors", "pending_sectors", "uncorrectable_sectors")


@dataclass(frozen=True)
class Thresholds:
    """The rule thresholds, taken from the settings."""

    battery_warn_pct: float = 80.0
    battery_repair_pct: float = 60.0
    nvme_used_pct: int = 90
    disk_free_pct: float = 10.0
    temperature_c: float = 90.0
    due_soon_days: int = 7
    silent_days: int = 14

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        """The thresholds configured in `settings`."""
        return cls(
            battery_warn_pct=settings.battery_warn_pct,
            battery_repair_pct=settings.battery_repair_pct,
            nvme_used_pct=settings.nvme_used_pct,
            disk_free_pct=settings.disk_free_pct,
            temperature_c=settings.temperature_c,
            due_soon_days=settings.due_soon_days,
            silent_days=settings.silent_days,
        )


@dataclass(frozen=True)
class Finding:
    """What a rule found: the flag it asks for and the figures that triggered it."""

    kind: str
    reason: str
    severity: str
    evidence: dict[str, Any] = field(default_factory=dict)


# --- report rules ---------------------------------------------------------------------------


def battery_health_pct(report: dict[str, Any]) -> float | None:
    """The battery's health in %, as reported or from full/design capacity."""
    battery = report.get("battery") or {}
    health = battery.get("health_pct")
    if health is not None:
        return float(health)
    full, design = battery.get("full_capacity_wh"), battery.get("design_capacity_wh")
    if full is not None and design:
        return round(100.0 * full / design, 1)
    return None


def max_temperature(report: dict[str, Any]) -> float | None:
    """The highest CPU or disk temperature in a report, if any."""
    # Runs for every ingested report: plain loops, no intermediate lists.
    highest: float | None = None
    temps = report.get("temperatures")
    if temps:
        for value in (temps.get("cpu_c"), temps.get("disk_c")):
            if value is not None and (highest is None or value > highest):
                highest = value
    for disk in report.get("disks") or ():
        value = disk.get("temperature_c")
        if value is not None and (highest is None or value > highest):
            highest = value
    return None if highest is None else float(highest)


def _has_sectors(disk: dict[str, Any]) -> bool:
    return bool(
        disk.get("reallocated_sectors")
        or disk.get("pending_sectors")
        or disk.get("uncorrectable_sectors")
    )


def needs_previous(report: dict[str, Any], th: Thresholds) -> bool:
    """Whether the rules need the device's previous report to judge this one."""
    temp = max_temperature(report)
    if temp is not None and temp >= th.temperature_c:
        return True
    return any(_has_sectors(d) for d in report.get("disks") or ())


def evaluate_report(
    report: dict[str, Any],
    previous: dict[str, Any] | None,
    th: Thresholds,
    *,
    device_state: str | None = None,
) -> list[Finding]:
    """All findings for one validated report (`previous`: the device's report before it)."""
    found: list[Finding] = []
    if report.get("battery"):
        _battery(report, th, found)
    if report.get("disks"):
        _disks(report, previous, th, found)
    evidence: dict[str, Any]
    temp = max_temperature(report)
    hot = temp is not None and temp >= th.temperature_c
    before = max_temperature(previous) if hot and previous else None
    if temp is not None and before is not None and min(temp, before) >= th.temperature_c:
        evidence = {"temperature_c": temp, "previous_c": before, "threshold_c": th.temperature_c}
        found.append(Finding(REPAIR, OVERHEATING, "warning", evidence))
    if device_state == "retired":
        evidence = {"seq": report.get("seq"), "state": "retired"}
        found.append(Finding(RETURN, RETIRED_REPORTING, "warning", evidence))
    return found


def _battery(report: dict[str, Any], th: Thresholds, found: list[Finding]) -> None:
    health = battery_health_pct(report)
    if health is None or health >= th.battery_warn_pct:
        return
    battery = report.get("battery") or {}
    evidence = {
        "health_pct": health,
        "full_capacity_wh": battery.get("full_capacity_wh"),
        "design_capacity_wh": battery.get("design_capacity_wh"),
        "cycle_count": battery.get("cycle_count"),
        "threshold_pct": th.battery_repair_pct
        if health < th.battery_repair_pct
        else th.battery_warn_pct,
    }
    severity = "critical" if health < th.battery_repair_pct else "warning"
    found.append(Finding(REPAIR, BATTERY_HEALTH, severity, evidence))


def _disks(
    report: dict[str, Any], previous: dict[str, Any] | None, th: Thresholds, found: list[Finding]
) -> None:
    disks = report.get("disks") or []
    before = (previous or {}).get("disks") or []
    failed, sectors, critical, worn, full = [], [], [], [], []
    growing = False
    for i, disk in enumerate(disks):
        if disk.get("smart_passed") is False:
            failed.append({"disk": i, "kind": disk.get("kind")})
        if _has_sectors(disk):
            counts = {k: disk[k] for k in SECTOR_FIELDS if disk.get(k)}
            old = before[i] if i < len(before) else {}
            grew = {k: old.get(k) for k in counts if old.get(k) is not None and counts[k] > old[k]}
            growing = growing or bool(grew)
            sectors.append({"disk": i, **counts, **({"previous": grew} if grew else {})})
        if disk.get("nvme_critical_warning"):
            critical.append({"disk": i, "critical_warning": disk["nvme_critical_warning"]})
        used = disk.get("percentage_used")
        if used is not None and used >= th.nvme_used_pct:
            worn.append({"disk": i, "percentage_used": used, "threshold_pct": th.nvme_used_pct})
        size, free = disk.get("size_bytes"), disk.get("free_bytes")
        if size and free is not None and 100.0 * free / size < th.disk_free_pct:
            pct = round(100.0 * free / size, 1)
            full.append({"disk": i, "free_pct": pct, "threshold_pct": th.disk_free_pct})
    if failed:
        found.append(Finding(REPAIR, SMART_FAILED, "critical", {"disks": failed}))
    if sectors:
        severity = "critical" if growing else "warning"
        found.append(
            Finding(REPAIR, DISK_SECTORS, severity, {"disks": sectors, "growing": growing})
        )
    if critical:
        found.append(Finding(REPAIR, NVME_CRITICAL_WARNING, "critical", {"disks": critical}))
    if worn:
        found.append(Finding(REPAIR, NVME_WEAR, "warning", {"disks": worn}))
    if full:
        found.append(Finding(REPAIR, DISK_FULL, "warning", {"disks": full}))


# --- loan rules -----------------------------------------------------------------------------


def evaluate_loan(
    due_date: date,
    started_at: datetime,
    last_seen_at: datetime | None,
    today: date,
    now: datetime,
    th: Thresholds,
) -> list[Finding]:
    """Return findings for one active loan: due soon, overdue, silent too long."""
    found: list[Finding] = []
    days_left = (due_date - today).days
    if days_left < 0:
        evidence = {"due_date": due_date.isoformat(), "days_overdue": -days_left}
        found.append(Finding(RETURN, OVERDUE, "warning", evidence))
    elif days_left <= th.due_soon_days:
        evidence = {"due_date": due_date.isoformat(), "days_left": days_left}
        found.append(Finding(RETURN, DUE_SOON, "info", evidence))
    # A device never heard from counts as silent since the loan began.
    since = max(last_seen_at, started_at) if last_seen_at else started_at
    if now - since > timedelta(days=th.silent_days):
        evidence = {
            "last_seen_at": last_seen_at.isoformat() if last_seen_at else None,
            "silent_days": (now - since).days,
            "threshold_days": th.silent_days,
        }
        found.append(Finding(RETURN, SILENT_ON_LOAN, "critical", evidence))
    return found
