"""Tablet reset: refused while an account would lock the tablet, then a guided, recorded reset.

Android tablets cannot be factory-reset over plain adb; the station checks them over
adb, then guides the technician through the device's own reset (a crypto erase of
the user-data key by the device itself) and records the technician's confirmation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from station.evidence import EvidenceRef
from station.hw.adb import GOOGLE_ACCOUNT_TYPE, Adb, TabletInfo
from station.hw.blockdev import BlockDevice
from station.reasons import Reason, reason
from station.wipe import Status, Verification, WipeOutcome

if TYPE_CHECKING:
    from station.service import Station, WipeReport

log = logging.getLogger(__name__)

FRP_ADVICE = reason("google_account")
NOT_CONFIRMED = reason("reset_not_confirmed")
# The guided procedures' steps, as codes: worded in the technician's language.
ANDROID_STEPS = tuple(
    reason(code) for code in ("step_android_accounts", "step_android_erase", "step_android_welcome")
)
APPLE_STEPS = tuple(
    reason(code) for code in ("step_apple_sign_out", "step_apple_erase", "step_apple_hello")
)
TECHNIQUE = (
    "factory reset by the device itself (cryptographic erase of the user-data key), "
    "guided manual procedure confirmed by the technician"
)


@dataclass(frozen=True)
class ResetCheck:
    """Whether a tablet may be reset now, and why not."""

    allowed: bool
    reasons: tuple[Reason, ...]
    account_types: dict[str, int]
    evidence: tuple[EvidenceRef, ...] = ()


def check_android_reset(station: Station, serial: str) -> ResetCheck:
    """Refuse while the tablet is unauthorized or a Google account is signed in."""
    adb = Adb(station.runner)
    states = {d.serial: d.state for d in adb.devices()}
    if states.get(serial) != "device":
        state = states.get(serial, "not connected")
        why = reason("tablet_not_ready", serial=serial, state=state)
        return ResetCheck(False, (why,), {})
    types, res = adb.account_types(serial)
    evidence = (station.keep(res),)
    reasons = (FRP_ADVICE,) if types.get(GOOGLE_ACCOUNT_TYPE) else ()
    return ResetCheck(not reasons, reasons, types, evidence)


def tablet_as_media(info: TabletInfo) -> BlockDevice:
    """The tablet's storage described as certificate media."""
    return BlockDevice(
        name=info.serial,
        path=f"adb:{info.serial}",
        major_minor="",
        size_bytes=info.storage_total_bytes or 0,
        transport="usb (adb)",
        vendor=info.manufacturer,
        model=info.model,
        serial=info.serial,
        serial_source="adb ro.serialno",
    )


def record_manual_reset(
    station: Station,
    info: TabletInfo,
    *,
    started_at: datetime,
    confirmed: bool,
    evidence: tuple[EvidenceRef, ...] = (),
    asset_tag: str = "",
) -> WipeReport:
    """Issue the certificate of a guided reset: passed only if the technician confirmed it."""
    method = "factory-reset-manual"
    verification = Verification(
        "technician confirmed the restart into the setup wizard without accounts",
        "passed" if confirmed else "failed",
    )
    outcome = WipeOutcome(
        device=tablet_as_media(info),
        method=method,
        # Recorded as Clear: the station cannot check the device's crypto erase itself.
        category="Clear",
        technique=TECHNIQUE,
        status=Status.PASSED if confirmed else Status.INCOMPLETE,
        started_at=started_at,
        ended_at=datetime.now(UTC),
        bytes_written=0,
        write_bytes_per_s=0.0,
        verification=verification,
        reason="" if confirmed else str(NOT_CONFIRMED),
        why=None if confirmed else NOT_CONFIRMED,
        evidence=evidence,
    )
    return station.issue(outcome, asset_tag)
