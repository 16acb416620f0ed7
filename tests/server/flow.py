"""Steps many server tests share: intake a device and bring it to `ready`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

Api = Callable[..., dict[str, Any]]

CERT = {"sanitization": "clear", "signature": "test-only"}


def intake(api: Api, serial: str = "SN-1", kind: str = "laptop") -> dict[str, Any]:
    """POST a new device; it starts in intake."""
    return api(
        "POST",
        "/devices",
        expect=201,
        json={
            "kind": kind,
            "make": "Lenovo",
            "model": "ThinkPad T480",
            "serial": serial,
            "specs": {"cpu": "i5-8350U", "ram_gb": 8, "storage_gb": 256},
        },
    )


def wipe(api: Api, device_id: int, status: str = "passed") -> dict[str, Any]:
    """Record a wipe result as a station would."""
    start = datetime.now(UTC)
    return api(
        "POST",
        f"/devices/{device_id}/jobs",
        expect=201,
        json={
            "kind": "wipe",
            "status": status,
            "started_at": start.isoformat(),
            "ended_at": (start + timedelta(minutes=5)).isoformat(),
            "method": "overwrite",
            "details": {"bytes_written": 1024},
            "certificate": CERT if status == "passed" else None,
        },
    )


def to(api: Api, device_id: int, state: str, expect: int = 200) -> dict[str, Any]:
    """Ask for a transition."""
    return api(
        "POST",
        f"/devices/{device_id}/transition",
        expect=expect,
        json={"to": state, "reason": "test"},
    )


def ready_device(api: Api, serial: str = "SN-1") -> dict[str, Any]:
    """Intake -> refurbishing -> passed wipe -> ready."""
    dev = intake(api, serial)
    to(api, dev["id"], "refurbishing")
    wipe(api, dev["id"])
    to(api, dev["id"], "ready")
    return dev


def digipunt(api: Api, municipality: str = "Damme") -> dict[str, Any]:
    """The starting digipunt of a municipality."""
    return next(x for x in api("GET", "/locations") if x["municipality"] == municipality)


def lend(
    api: Api,
    device_id: int,
    ref: str = "B-0001",
    adult: bool = True,
    municipality: str = "Damme",
    days: int = 30,
    expect: int = 201,
) -> dict[str, Any]:
    """Lend a device at a digipunt."""
    due = (datetime.now(UTC) + timedelta(days=days)).date().isoformat()
    return api(
        "POST",
        "/loans",
        expect=expect,
        json={
            "device_id": device_id,
            "borrower_ref": ref,
            "borrower_adult": adult,
            "location_id": digipunt(api, municipality)["id"],
            "due_date": due,
        },
    )
