"""Station results as the server API's job records (the contract in POST /devices/{id}/jobs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from station.diagnostics import DiskDiagnosis, IpadDiagnosis, TabletDiagnosis
    from station.service import WipeReport


def _iso(ts: Any) -> str:
    return str(ts.isoformat(timespec="seconds"))


def wipe_job(report: WipeReport) -> dict[str, Any]:
    """The job record for a wipe, carrying its signed certificate."""
    out = report.outcome
    return {
        "kind": "wipe",
        "status": str(out.status),
        "started_at": _iso(out.started_at),
        "ended_at": _iso(out.ended_at),
        "method": out.method,
        "details": {
            "category": out.category,
            "technique": out.technique,
            "disk": {
                "model": out.device.model,
                "serial": out.device.serial,
                "name": out.device.name,
            },
            "bytes_written": out.bytes_written,
            "write_bytes_per_s": round(out.write_bytes_per_s),
            "verification": out.verification.result,
            "reason": out.reason,
            "errors": list(out.errors),
        },
        "certificate": report.document,
    }


def diagnostics_job(diag: DiskDiagnosis) -> dict[str, Any]:
    """The job record for a disk diagnosis (SMART facts become condition facts on the server)."""
    details = diag.to_dict()
    details["evidence"] = [
        {"sha256": e.sha256, "tool": e.tool, "command": e.command} for e in diag.evidence
    ]
    details["device"].pop("backing_file", None)
    return {
        "kind": "diagnostics",
        "status": diag.status,
        "started_at": _iso(diag.started_at),
        "ended_at": _iso(diag.ended_at),
        "method": "smartctl + full-surface read scan" if diag.surface else "smartctl",
        "details": details,
    }


def tablet_diagnostics_job(diag: TabletDiagnosis | IpadDiagnosis) -> dict[str, Any]:
    """The job record for a tablet diagnosis (adb or pymobiledevice3): its facts (model, serial,
    OS version, battery, storage) become condition facts on the server, like a disk's SMART."""
    details = diag.to_dict()
    details["evidence"] = [
        {"sha256": e.sha256, "tool": e.tool, "command": e.command} for e in diag.evidence
    ]
    return {
        "kind": "diagnostics",
        "status": diag.status,
        "started_at": _iso(diag.started_at),
        "ended_at": _iso(diag.ended_at),
        "method": diag.method,
        "details": details,
    }
