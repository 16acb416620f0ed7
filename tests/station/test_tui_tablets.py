"""Tablets in the TUI: the machine has no USB tablet, so the tablet event and adb are scripted.

The adb answers are the format examples of test_station_tablets (not captures: see
tests/data/station/SOURCES.md, "Gaps"); everything after them is the real engine and app.
"""

from __future__ import annotations

import pytest
from textual.widgets import Static

from station.config import StationConfig
from station.hw.usb import UsbTablet
from station.service import Station
from station.ui.app import StationApp
from station.ui.messages import DeviceFacts
from station.ui.tablet import TabletResetDialog
from tests.station.test_station_tablets import ACCOUNTS, BATTERY, ScriptedAdb
from tests.station.tui_app import NoHardware, attach_tablet, log_text
from tests.station.tui_waits import click, dialog, wait_for

pytestmark = pytest.mark.asyncio

NO_ACCOUNTS = "User UserInfo{0:Owner:c13} running:\n  Accounts: 0\n"
TABLET = UsbTablet(
    usb_path="/sys/devices/pci0000:00/usb1/1-1/1-1.2",
    kind="android-adb",
    vendor_id="04e8",
    product_id="6860",
    manufacturer="SAMSUNG",
    product="SAMSUNG_Android",
    serial="R52N10ABCDE",
    procedure="adb",
)


async def test_tablet_with_a_google_account_is_refused(cfg: StationConfig) -> None:
    app = StationApp(Station(cfg, runner=ScriptedAdb(ACCOUNTS)), NoHardware(), language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await attach_tablet(pilot, app, TABLET)
        rec = app.selected()
        assert rec is not None and rec.kind == "tablet" and rec.serial == "R52N10ABCDE"
        await pilot.press("w")
        await dialog(pilot, TabletResetDialog)
        refusal = str(app.screen.query_one("#refusals", Static).render())
        assert "Google account" in refusal
        assert not app.screen.query("#done")
        await pilot.press("escape")
        assert rec.wipe_statuses == []


async def test_guided_tablet_reset_is_recorded_and_diagnosis_shows_battery(
    cfg: StationConfig,
) -> None:
    station = Station(cfg, runner=ScriptedAdb(NO_ACCOUNTS))
    app = StationApp(station, NoHardware(), language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await attach_tablet(pilot, app, TABLET)
        rec = app.selected()
        assert rec is not None
        await pilot.press("d")
        await wait_for(pilot, lambda: rec.job is not None and rec.job.finished)
        assert rec.smart == "87% good"
        assert "SM-T220, Android 13" in log_text(app)

        await pilot.press("w")
        await dialog(pilot, TabletResetDialog)
        assert "Erase all data" in str(app.screen.query_one("#steps", Static).render())
        await click(pilot, "#not-done")
        await wait_for(pilot, lambda: rec.wipe_statuses == ["incomplete"])
        await pilot.press("w")
        await dialog(pilot, TabletResetDialog)
        await click(pilot, "#done")
        await wait_for(pilot, lambda: rec.wipe_statuses == ["incomplete", "passed"])
    body = station.verify_file(rec.certificates[-1]).body
    assert body["status"] == "passed" and body["media"]["serial_number"] == "R52N10ABCDE"
    assert body["sanitization"]["category"] == "Clear"


async def test_reset_steps_and_diagnosis_findings_are_in_dutch_by_default(
    cfg: StationConfig,
) -> None:
    adb = ScriptedAdb(NO_ACCOUNTS)
    overheated = BATTERY.replace("health: 2", "health: 3")  # BATTERY_HEALTH_OVERHEAT
    adb.outputs["adb -s R52N10ABCDE shell dumpsys battery"] = overheated
    station = Station(cfg, runner=adb)
    app = StationApp(station, NoHardware())
    async with app.run_test(size=(80, 24)) as pilot:
        await attach_tablet(pilot, app, TABLET)
        rec = app.selected()
        assert rec is not None
        await pilot.press("d")
        await wait_for(pilot, lambda: rec.job is not None and rec.job.finished)
        assert "diagnose mislukt" in log_text(app)
        assert app.table.cell_text(rec.key, "job") == "diagnose mislukt"
        assert "batterijgezondheid: overheat" in log_text(app)
        assert "battery health" not in log_text(app)

        await pilot.press("w")
        await dialog(pilot, TabletResetDialog)
        steps = str(app.screen.query_one("#steps", Static).render())
        assert "Alle gegevens wissen" in steps and "Erase all data" not in steps
        await click(pilot, "#not-done")
        await wait_for(pilot, lambda: rec.wipe_statuses == ["incomplete"])
        assert "reset vastgelegd: onvolledig" in log_text(app)
    # The records keep English: the server and other stations read them.
    body = station.verify_file(rec.certificates[-1]).body
    assert body["status_reason"] == "the technician did not confirm the reset"


async def test_a_server_lookup_answering_late_does_not_undo_a_newer_one(cfg: StationConfig) -> None:
    app = StationApp(Station(cfg, runner=ScriptedAdb(NO_ACCOUNTS)), NoHardware(), language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await attach_tablet(pilot, app, TABLET)
        rec = app.selected()
        assert rec is not None
        await wait_for(pilot, lambda: rec.history is not None)  # the attach-time lookup is in
        # A slow lookup asked first (at attach) answers after the intake's lookup.
        slow, intake = app.lookups.ask(), app.lookups.ask()
        app.post_message(
            DeviceFacts(rec.key, asked=intake, asset_tag="DB-000042", server_state="intake")
        )
        app.post_message(
            DeviceFacts(rec.key, asked=slow, asset_tag="", server_state="", smart="87% good")
        )
        await wait_for(pilot, lambda: rec.smart == "87% good")
        assert (rec.asset_tag, rec.server_state) == ("DB-000042", "intake")
        assert app.table.cell_text(rec.key, "tag") == "DB-000042"
