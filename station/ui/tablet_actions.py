"""Tablet actions: diagnosis (adb, pymobiledevice3) and the factory reset with its certificate.

Android tablets are checked over adb first (a signed-in Google account would lock the
tablet after the reset, so the station refuses) and get the guided procedure. iPads, with
pymobiledevice3 installed, are refused while Find My is on; then the station asks the iPad to
erase itself and the technician confirms the 'Hello' screen. Without pymobiledevice3, or when
the iPad does not say whether Find My is off, they get Apple's guided procedure. Every answer
is recorded as a certificate: confirmed = passed, not done = incomplete (never ready).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from textual import work

from station.errors import StationError
from station.hw.adb import Adb, TabletInfo
from station.hw.ios import IpadInfo
from station.hw.usb import UsbTablet
from station.reasons import Reason, reason
from station.service import Station
from station.tablets import (
    ANDROID_STEPS,
    APPLE_STEPS,
    IPAD_CONFIRM_STEPS,
    IPAD_ERASE_STEPS,
    IpadErase,
    check_android_reset,
    check_ipad_reset,
    erase_ipad,
    record_ipad_erase,
    record_manual_reset,
)
from station.ui.core import StationCore
from station.ui.messages import LogLine
from station.ui.model import DeviceRecord
from station.ui.tablet import TabletResetDialog

log = logging.getLogger(__name__)


def apple_info(tablet: UsbTablet) -> TabletInfo:
    """What the USB bus tells about an iPad (no pymobiledevice3): enough for its certificate."""
    return TabletInfo(
        serial=tablet.serial,
        serial_source="USB serial number (iSerial)",
        manufacturer=tablet.manufacturer or "Apple",
        model=tablet.product,
        android_version="",
        sdk="",
        battery=None,
        storage_total_bytes=None,
        storage_free_bytes=None,
    )


@dataclass(frozen=True)
class ResetPlan:
    """What the check found: refusals, or the steps (and whether the station erases)."""

    info: TabletInfo | IpadInfo | None
    refusals: tuple[Reason, ...] = ()
    steps: tuple[Reason, ...] = ()
    notes: tuple[Reason, ...] = ()  # why the procedure is the guided one
    evidence: tuple[Any, ...] = ()
    erase: bool = False  # the station asks the iPad to erase itself


def plan_reset(engine: Station, tablet: UsbTablet) -> ResetPlan:
    """Check a tablet before its reset (talks to it: run off the UI thread)."""
    if tablet.kind == "android-adb":
        check = check_android_reset(engine, tablet.serial)
        info = Adb(engine.runner).info(tablet.serial)[0] if check.allowed else None
        return ResetPlan(info, check.reasons, ANDROID_STEPS, evidence=check.evidence)
    if tablet.procedure != "pymobiledevice3":
        return ResetPlan(apple_info(tablet), steps=APPLE_STEPS)
    ipad = check_ipad_reset(engine, tablet.serial)
    if not ipad.allowed:
        return ResetPlan(None, ipad.reasons, evidence=ipad.evidence)
    if ipad.automatic:
        return ResetPlan(ipad.info, steps=IPAD_ERASE_STEPS, evidence=ipad.evidence, erase=True)
    known = ipad.info or apple_info(tablet)
    return ResetPlan(known, steps=APPLE_STEPS, notes=ipad.reasons, evidence=ipad.evidence)


class TabletActions(StationCore):
    """Diagnose and reset the tablet under the cursor."""

    def diagnose_tablet(self, rec: DeviceRecord, tablet: UsbTablet) -> None:
        """Diagnose a tablet in a job: over adb, or an iPad over pymobiledevice3."""
        engine = self.engine
        if tablet.kind == "android-adb":
            diagnose: Any = engine.diagnose_tablet
        elif tablet.procedure == "pymobiledevice3":
            diagnose = engine.diagnose_ipad
        else:
            self.write_log(f"{rec.slot}: {self.say(reason('ipad_no_tool'))}", warn=True)
            return

        def body(cancel: threading.Event, on_progress: Any) -> Any:
            return diagnose(tablet.serial)

        self.submitting(rec, tablet.usb_path)
        try:
            self.jobs.submit("diagnostics", tablet.usb_path, body)
        except StationError as exc:
            self.write_log(f"{rec.slot}: {self.say(exc)}", warn=True)

    def reset_tablet(self, rec: DeviceRecord, tablet: UsbTablet) -> None:
        """Check (adb, pymobiledevice3) off the UI thread, then guide or start the reset."""
        self.notify(self.t("checking"), timeout=2)
        self._check_tablet(rec.key, tablet)

    @work(thread=True, group="tablet")
    def _check_tablet(self, key: str, tablet: UsbTablet) -> None:
        try:
            plan = plan_reset(self.engine, tablet)
        except StationError as exc:
            self.post_message(LogLine(f"{tablet.serial}: {self.say(exc)}", warn=True))
            return
        self.call_from_thread(self._open_reset, key, plan)

    def _open_reset(self, key: str, plan: ResetPlan) -> None:
        rec = self.records[key]
        for why in plan.refusals:
            self.write_log(f"{rec.slot}: {self.t('refused')}: {self.say(why)}", warn=True)
        for why in plan.notes:
            self.write_log(f"{rec.slot}: {self.say(why)}", warn=True)
        started = datetime.now(UTC)
        info = plan.info

        def answered(confirmed: bool | None) -> None:
            if confirmed is None or info is None:
                return
            if plan.erase and isinstance(info, IpadInfo):
                if confirmed:
                    self._erase_ipad(key, info, started, plan.evidence, rec.asset_tag)
                return
            record = partial(
                record_manual_reset, self.engine, info, started_at=started,
                confirmed=confirmed, evidence=plan.evidence, asset_tag=rec.asset_tag,
            )  # fmt: skip
            self.run_worker(
                partial(self._store, key, info.serial, record), thread=True, group="tablet"
            )

        name = rec.make_model or rec.serial
        dialog = TabletResetDialog(name, plan.refusals, plan.steps, self.language, erase=plan.erase)
        self.push_screen(dialog, answered)

    @work(thread=True, group="tablet")
    def _erase_ipad(
        self, key: str, info: IpadInfo, started: datetime, evidence: tuple[Any, ...], tag: str
    ) -> None:
        """Ask the iPad to erase itself; a refusal is recorded at once, failed."""
        try:
            erase = erase_ipad(self.engine, info)
        except (StationError, OSError) as exc:
            self.post_message(LogLine(f"{info.serial}: {self.say(exc)}", warn=True))
            return
        if erase.accepted:
            self.call_from_thread(self._confirm_erase, key, info, erase, started, evidence)
        else:  # recorded at once, failed
            self._store(
                key, info.serial, self._erase_record(info, erase, started, False, evidence, tag)
            )

    def _confirm_erase(
        self,
        key: str,
        info: IpadInfo,
        erase: IpadErase,
        started: datetime,
        evidence: tuple[Any, ...],
    ) -> None:
        """The iPad is erasing: the technician confirms its 'Hello' screen (else incomplete)."""
        rec = self.records[key]
        self.write_log(f"{rec.slot}: {self.t('erase_sent')}")

        def answered(confirmed: bool | None) -> None:
            record = self._erase_record(
                info, erase, started, bool(confirmed), evidence, rec.asset_tag
            )
            self.run_worker(
                partial(self._store, key, info.serial, record), thread=True, group="tablet"
            )

        name = rec.make_model or rec.serial
        self.push_screen(TabletResetDialog(name, (), IPAD_CONFIRM_STEPS, self.language), answered)

    def _erase_record(
        self,
        info: IpadInfo,
        erase: IpadErase,
        started: datetime,
        confirmed: bool,
        evidence: tuple[Any, ...],
        asset_tag: str,
    ) -> Callable[[], Any]:
        """Recording this iPad erase, to be run by `_store`."""
        return partial(
            record_ipad_erase, self.engine, info, erase, started_at=started, confirmed=confirmed,
            evidence=evidence, asset_tag=asset_tag,
        )  # fmt: skip

    def _store(self, key: str, serial: str, record: Callable[[], Any]) -> None:
        """Record a reset or erase (in a worker thread) and show it; an error is logged."""
        try:
            report = record()
        except (StationError, OSError) as exc:
            self.post_message(LogLine(f"{serial}: {self.say(exc)}", warn=True))
            return
        self.call_from_thread(self._reset_recorded, key, report)

    def _reset_recorded(self, key: str, report: Any) -> None:
        from station.records import wipe_job

        rec = self.records[key]
        status = str(report.outcome.status)
        rec.wipe_statuses.append(status)
        rec.certificates.append(report.json_path)
        if status != "passed":
            rec.ready = False
        self.send(rec, wipe_job(report))
        self.write_log(
            f"{rec.slot}: {self.t('reset_recorded')}: {self.t(f'state_{status}')} "
            f"({report.json_path})",
            warn=status != "passed",
        )
        if status == "failed" and report.outcome.why is not None:
            self.write_log(f"{rec.slot}: {self.say(report.outcome.why)}", warn=True)
        self._show_detail()
