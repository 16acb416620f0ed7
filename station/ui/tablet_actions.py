"""Tablet actions: diagnosis over adb, and the guided factory reset with its certificate.

Android tablets are checked over adb first (a signed-in Google account would lock the
tablet after the reset, so the station refuses); iPads get Apple's guided procedure.
The technician's answer is recorded as a certificate either way: confirmed = passed,
not done = incomplete (never ready).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from textual import work

from station.errors import StationError
from station.hw.adb import Adb, TabletInfo
from station.hw.usb import UsbTablet
from station.reasons import Reason
from station.tablets import ANDROID_STEPS, APPLE_STEPS, check_android_reset, record_manual_reset
from station.ui.core import StationCore
from station.ui.messages import LogLine
from station.ui.model import DeviceRecord
from station.ui.tablet import TabletResetDialog

log = logging.getLogger(__name__)


def apple_info(tablet: UsbTablet) -> TabletInfo:
    """What the USB bus tells about an iPad (no adb): enough for its certificate."""
    return TabletInfo(
        serial=tablet.serial,
        manufacturer=tablet.manufacturer or "Apple",
        model=tablet.product,
        android_version="",
        sdk="",
        battery=None,
        storage_total_bytes=None,
        storage_free_bytes=None,
    )


class TabletActions(StationCore):
    """Diagnose and reset the tablet under the cursor."""

    def diagnose_tablet(self, rec: DeviceRecord, tablet: UsbTablet) -> None:
        """Diagnose an Android tablet over adb in a job (iPads: nothing to ask over USB)."""
        if tablet.kind != "android-adb":
            self.write_log(f"{rec.slot}: {tablet.procedure}", warn=True)
            return
        engine = self.engine

        def body(cancel: threading.Event, on_progress: Any) -> Any:
            return engine.diagnose_tablet(tablet.serial)

        self.submitting(rec, tablet.usb_path)
        try:
            self.jobs.submit("diagnostics", tablet.usb_path, body)
        except StationError as exc:
            self.write_log(f"{rec.slot}: {self.say(exc)}", warn=True)

    def reset_tablet(self, rec: DeviceRecord, tablet: UsbTablet) -> None:
        """Check (adb) off the UI thread, then guide the reset."""
        self.notify(self.t("checking"), timeout=2)
        self._check_tablet(rec.key, tablet)

    @work(thread=True, group="tablet")
    def _check_tablet(self, key: str, tablet: UsbTablet) -> None:
        refusals: tuple[Reason, ...] = ()
        evidence: tuple[Any, ...] = ()
        try:
            if tablet.kind == "android-adb":
                check = check_android_reset(self.engine, tablet.serial)
                refusals, evidence = check.reasons, check.evidence
                info = Adb(self.engine.runner).info(tablet.serial)[0] if check.allowed else None
                steps = ANDROID_STEPS
            else:
                info, steps = apple_info(tablet), APPLE_STEPS
        except StationError as exc:
            self.post_message(LogLine(f"{tablet.serial}: {self.say(exc)}", warn=True))
            return
        self.call_from_thread(self._open_reset, key, info, refusals, steps, evidence)

    def _open_reset(
        self,
        key: str,
        info: TabletInfo | None,
        refusals: tuple[Reason, ...],
        steps: tuple[Reason, ...],
        evidence: tuple[Any, ...],
    ) -> None:
        rec = self.records[key]
        if refusals:
            for reason in refusals:
                self.write_log(f"{rec.slot}: {self.t('refused')}: {self.say(reason)}", warn=True)
        started = datetime.now(UTC)

        def answered(confirmed: bool | None) -> None:
            if confirmed is None or info is None:
                return
            self._record_reset(key, info, started, confirmed, evidence, rec.asset_tag)

        name = rec.make_model or rec.serial
        self.push_screen(TabletResetDialog(name, refusals, steps, self.language), answered)

    @work(thread=True, group="tablet")
    def _record_reset(
        self,
        key: str,
        info: TabletInfo,
        started: datetime,
        confirmed: bool,
        evidence: tuple[Any, ...],
        asset_tag: str,
    ) -> None:
        try:
            report = record_manual_reset(
                self.engine,
                info,
                started_at=started,
                confirmed=confirmed,
                evidence=evidence,
                asset_tag=asset_tag,
            )
        except (StationError, OSError) as exc:
            self.post_message(LogLine(f"{info.serial}: {self.say(exc)}", warn=True))
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
        self._show_detail()
