"""iPads in the TUI: the machine has no iPad, so the tablet event is posted by the test and
pymobiledevice3's answers are replayed from tests/data/station/ios/ (real captures, transcribed
ideviceinfo dumps and hand-written files, as SOURCES.md says); the engine and app are real.
"""

from __future__ import annotations

import pytest
from textual.widgets import Static

from station.config import StationConfig
from station.hw.runner import Recording, ReplayRunner
from station.hw.udev import TabletAttached
from station.hw.usb import UsbTablet
from station.service import Station
from station.ui.app import StationApp
from station.ui.messages import DeviceEvent
from station.ui.tablet import TabletResetDialog
from tests.station.conftest import DATA
from tests.station.test_station_ios import (
    FIND_MY_OFF,
    FIND_MY_ON,
    IPAD_MINI,
    UDID,
    pmd3,
    recordings,
)
from tests.station.tui_app import NoHardware, attach_tablet, log_text
from tests.station.tui_waits import click, dialog, wait_for

pytestmark = pytest.mark.asyncio

IPAD = UsbTablet(
    usb_path="/sys/devices/pci0000:00/usb1/1-1/1-1.3",
    kind="apple",
    vendor_id="05ac",
    product_id="12ab",
    manufacturer="Apple Inc.",
    product="iPad",
    serial=UDID,
    procedure="pymobiledevice3",
)


def steps(app: StationApp) -> str:
    return str(app.screen.query_one("#steps", Static).render())


async def test_ipad_is_diagnosed_refused_while_find_my_is_on_then_erased(
    cfg: StationConfig,
) -> None:
    plays = recordings(cfg, FIND_MY_ON)
    runner = ReplayRunner(DATA, plays)
    station = Station(cfg, runner=runner)
    app = StationApp(station, NoHardware(), language="en")
    async with app.run_test(size=(100, 30)) as pilot:
        await attach_tablet(pilot, app, IPAD)
        rec = app.selected()
        assert rec is not None
        await pilot.press("d")
        await wait_for(pilot, lambda: rec.job is not None and rec.job.finished)
        assert rec.smart == "53%, 82.8% max" and rec.battery_cycles == 412
        assert rec.battery_health_pct == 82.8
        assert "Apple iPad7,5, iPadOS 17.7" in log_text(app)
        assert "Find My is on" in log_text(app)

        await pilot.press("w")
        await dialog(pilot, TabletResetDialog)
        refusal = str(app.screen.query_one("#refusals", Static).render())
        assert "Find My is on" in refusal
        assert not app.screen.query("#erase") and not app.screen.query("#done")
        await pilot.press("escape")

        plays[pmd3("lockdown", "info", "--udid", UDID)] = Recording(f"ios/{FIND_MY_OFF}")
        await pilot.press("w")
        await dialog(pilot, TabletResetDialog)
        assert "the station asks it to erase all content" in steps(app)
        assert not app.screen.query("#done")  # nothing is done before the station erases
        await click(pilot, "#erase")
        await wait_for(pilot, lambda: "erase accepted" in log_text(app))
        await dialog(pilot, TabletResetDialog)
        assert "'Hello'" in steps(app)
        await click(pilot, "#done")
        await wait_for(pilot, lambda: rec.wipe_statuses == ["passed"])
    erased = [call for call in runner.calls if call[1:3] == ("backup2", "erase-device")]
    assert len(erased) == 1  # asked once, after the technician pressed 'Erase now'
    body = station.verify_file(rec.certificates[-1]).body
    assert body["status"] == "passed" and body["media"]["serial_number"] == "HANDWRITTEN1"
    assert "backup2 erase-device" in body["sanitization"]["technique"]


async def test_ipad_without_a_find_my_answer_gets_the_guided_steps_in_dutch(
    cfg: StationConfig,
) -> None:
    station = Station(cfg, runner=ReplayRunner(DATA, recordings(cfg, IPAD_MINI)))
    app = StationApp(station, NoHardware())
    async with app.run_test(size=(100, 30)) as pilot:
        await attach_tablet(pilot, app, IPAD)
        rec = app.selected()
        assert rec is not None
        await pilot.press("w")
        await dialog(pilot, TabletResetDialog)
        assert "Wis alle inhoud en instellingen" in steps(app)
        assert "Zoek mijn" in log_text(app)
        assert not app.screen.query("#erase")
        await click(pilot, "#not-done")
        await wait_for(pilot, lambda: rec.wipe_statuses == ["incomplete"])
    body = station.verify_file(rec.certificates[-1]).body
    assert body["media"]["model"] == "iPad2,5 MF432"  # read from the iPad, not the USB bus


async def test_ipad_without_pymobiledevice3_says_so_in_dutch(cfg: StationConfig) -> None:
    """Without the tool the table and the log say, in the technician's language, that the
    iPad takes the guided procedure; no command is run."""
    from dataclasses import replace

    station = Station(cfg, runner=ReplayRunner(DATA, []))
    app = StationApp(station, NoHardware())
    manual = replace(IPAD, procedure="needs manual procedure (pymobiledevice3 not installed)")
    async with app.run_test(size=(100, 30)) as pilot:
        app.post_message(DeviceEvent(TabletAttached(manual)))
        await wait_for(pilot, lambda: app.selected() is not None)
        rec = app.selected()
        assert rec is not None and rec.smart == "handmatige procedure"
        await pilot.press("d")
        await wait_for(pilot, lambda: "pymobiledevice3 is niet geïnstalleerd" in log_text(app))
        await pilot.press("w")
        await dialog(pilot, TabletResetDialog)
        assert not app.screen.query("#erase")  # nothing to ask the iPad without the tool
        await click(pilot, "#done")
        await wait_for(pilot, lambda: rec.wipe_statuses == ["passed"])
    media = station.verify_file(rec.certificates[-1]).body["media"]
    # Only the USB bus told who it is: the certificate says so.
    assert media["serial_number"] == IPAD.serial
    assert media["serial_source"] == "USB serial number (iSerial)"
