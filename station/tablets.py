"""Tablet reset: refused while an account would lock the tablet, then a recorded reset.

Android tablets cannot be factory-reset over plain adb; the station checks them over
adb, then guides the technician through the device's own reset (a crypto erase of
the user-data key by the device itself) and records the technician's confirmation.
iPads, when pymobiledevice3 is installed, are checked for Find My (Activation Lock) and
asked to erase themselves by the station; the technician confirms the 'Hello' screen.
Without pymobiledevice3, or when the iPad does not say whether Find My is off, they get
the same guided procedure as Android tablets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from station.evidence import EvidenceRef
from station.hw.adb import GOOGLE_ACCOUNT_TYPE, Adb, TabletInfo
from station.hw.blockdev import BlockDevice
from station.hw.ios import Ios, IosError, IpadInfo, NotInstalled
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
# The station's own erase of an iPad: the steps around it, then the 'Hello' confirmation.
IPAD_ERASE_STEPS = (reason("step_ipad_station_erase"), reason("step_apple_hello"))
IPAD_CONFIRM_STEPS = (reason("step_apple_hello"),)
TECHNIQUE = (
    "factory reset by the device itself (cryptographic erase of the user-data key), "
    "guided manual procedure confirmed by the technician"
)
IPAD_TECHNIQUE = (
    "Erase All Content and Settings by the iPad itself (cryptographic erase of its "
    "data-protection keys), requested by the station over USB with pymobiledevice3 {version} "
    "(backup2 erase-device), restart into the setup screen confirmed by the technician"
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
        serial_source=info.serial_source,
    )


def record_manual_reset(
    station: Station,
    info: TabletInfo | IpadInfo,
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
        device=ipad_as_media(info) if isinstance(info, IpadInfo) else tablet_as_media(info),
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


@dataclass(frozen=True)
class IpadCheck:
    """Whether an iPad may be reset now, and whether the station can erase it itself."""

    allowed: bool
    automatic: bool  # the station asks the iPad to erase itself (else: the guided procedure)
    reasons: tuple[Reason, ...]  # refusals, or why the procedure is the guided one
    info: IpadInfo | None = None
    evidence: tuple[EvidenceRef, ...] = ()


def check_ipad_reset(station: Station, usb_serial: str) -> IpadCheck:
    """Refuse while Find My is on (Activation Lock) or the iPad does not trust the station."""
    ios = Ios(station.runner)
    try:
        info, outputs = ios.identify(ios.find(usb_serial).udid)
    except NotInstalled as exc:
        return IpadCheck(True, False, (exc.reason,) if exc.reason else ())
    except IosError as exc:
        return IpadCheck(False, False, (exc.reason,) if exc.reason else ())
    evidence = tuple(station.keep(r) for r in outputs)
    if info.find_my == "on":
        return IpadCheck(False, False, (reason("find_my_on"),), info, evidence)
    if info.find_my == "unknown":
        return IpadCheck(True, False, (reason("find_my_unknown"),), info, evidence)
    return IpadCheck(True, True, (), info, evidence)


@dataclass(frozen=True)
class IpadErase:
    """The station's erase request and the iPad's answer."""

    accepted: bool
    why: Reason | None  # why it was not accepted (the tool's own words as a value)
    tool_version: str
    evidence: EvidenceRef


def erase_ipad(station: Station, info: IpadInfo) -> IpadErase:
    """Ask the iPad to erase all content and settings; keep what pymobiledevice3 said."""
    workdir = station.cfg.data_dir / "ipad-erase"
    workdir.mkdir(parents=True, exist_ok=True)
    res = Ios(station.runner).erase(info.udid, str(workdir))
    ref = station.keep(res)
    why = None
    if res.returncode != 0:
        said = (res.stderr or res.stdout).strip()
        why = reason("tool_failed", command="pymobiledevice3 backup2 erase-device",
                     returncode=str(res.returncode), stderr=said)  # fmt: skip
    return IpadErase(res.returncode == 0, why, ref.tool_version, ref)


def ipad_as_media(info: IpadInfo) -> BlockDevice:
    """The iPad's storage described as certificate media."""
    return BlockDevice(
        name=info.serial or info.udid,
        path=f"usbmux:{info.udid}",
        major_minor="",
        size_bytes=info.storage_total_bytes or 0,
        transport="usb (usbmux)",
        vendor="Apple",
        model=" ".join(x for x in (info.product_type, info.model_number) if x),
        serial=info.serial,
        serial_source="lockdown SerialNumber",
    )


def record_ipad_erase(
    station: Station,
    info: IpadInfo,
    erase: IpadErase,
    *,
    started_at: datetime,
    confirmed: bool,
    evidence: tuple[EvidenceRef, ...] = (),
    asset_tag: str = "",
) -> WipeReport:
    """Certify the station's erase: passed only if the iPad accepted it and the technician
    saw the setup screen; failed if the iPad refused; incomplete if not confirmed."""
    if not erase.accepted:
        status, why = Status.FAILED, erase.why or reason("message", text="erase refused")
    elif not confirmed:
        status, why = Status.INCOMPLETE, NOT_CONFIRMED
    else:
        status, why = Status.PASSED, None
    outcome = WipeOutcome(
        device=ipad_as_media(info),
        method="ipad-erase-device",
        # Recorded as Clear, like the guided reset: the station cannot read the storage back.
        category="Clear",
        technique=IPAD_TECHNIQUE.format(version=erase.tool_version),
        status=status,
        started_at=started_at,
        ended_at=datetime.now(UTC),
        bytes_written=0,
        write_bytes_per_s=0.0,
        verification=Verification(
            "the iPad accepted the erase request; the technician confirmed the restart into "
            "the 'Hello' setup screen",
            "passed" if status == Status.PASSED else "failed",
        ),
        reason=str(why) if why else "",
        why=why,
        evidence=(*evidence, erase.evidence),
    )
    return station.issue(outcome, asset_tag)
