"""The same app on the simulated hardware source (``tui --simulate``): demos and training."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from station.config import StationConfig
from station.service import Station
from station.ui.app import build_app
from station.ui.dialogs import WipeDialog
from station.ui.screens import CertificatesScreen
from tests.station.tui_waits import dialog, wait_for

pytestmark = pytest.mark.asyncio


async def test_simulated_station_shows_demo_disks_and_the_mounted_refusal(
    cfg: StationConfig,
) -> None:
    app = build_app(Station(cfg), simulate=True, language="nl")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 4)
        assert "SIMULATIE" in app.sub_title
        app.table.move_cursor(row=app.table.get_row_index(app.attached["sdd"]))
        await pilot.press("w")
        await dialog(pilot, WipeDialog)
        assert "gekoppeld op /media/demo" in str(app.screen.query_one("#refusals", Static).render())
        await pilot.press("escape")


async def test_a_running_job_is_cancelled_from_the_keyboard_and_ends_incomplete(
    cfg: StationConfig,
) -> None:
    app = build_app(Station(cfg), simulate=True, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "sdb" in app.attached)
        rec = app.records[app.attached["sdb"]]
        app.table.move_cursor(row=app.table.get_row_index(rec.key))
        await pilot.press("w")
        await dialog(pilot, WipeDialog)
        await pilot.press(*"EMO1", "enter")  # last four of the demo serial W62DEMO1
        # Progress reaches the table on the next repaint tick.
        await wait_for(pilot, lambda: "%" in app.table.cell_text(rec.key, "progress"))
        assert "MB/s" in app.table.cell_text(rec.key, "speed")
        await pilot.press("x")
        await wait_for(pilot, lambda: rec.job is not None and rec.job.finished)
        assert rec.job is not None and rec.job.state == "incomplete"
        assert "cancelled" in rec.job.message
        await pilot.press("r")
        await pilot.pause()
        assert not rec.ready
    assert rec.certificates and "SIMULATED" in rec.certificates[-1].read_text()


async def test_one_detection_worker_and_bindings_in_the_configured_language(
    cfg: StationConfig,
) -> None:
    app = build_app(Station(cfg), simulate=True, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.table.row_count == 4)
        detection = [w for w in app.workers if w.group == "detection"]
        assert len(detection) == 1
        descriptions = {b.binding.description for b in app.active_bindings.values()}
        assert {"Wipe", "Grade", "Ready"} <= descriptions


async def test_progress_keeps_arriving_while_a_dialog_is_open(cfg: StationConfig) -> None:
    app = build_app(Station(cfg), simulate=True, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "sdb" in app.attached)
        rec = app.records[app.attached["sdb"]]
        app.table.move_cursor(row=app.table.get_row_index(rec.key))
        await pilot.press("w")
        await dialog(pilot, WipeDialog)
        await pilot.press(*"EMO1", "enter")
        await wait_for(pilot, lambda: rec.job is not None and rec.job.progress is not None)
        # The help screen is on top while the job reports progress and ends.
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: app.screen is not app.screen_stack[0])
        before = rec.job.progress if rec.job else None
        await wait_for(pilot, lambda: rec.job is not None and rec.job.progress != before)
        app.jobs.cancel(rec.job.id)
        await wait_for(pilot, lambda: rec.job is not None and rec.job.finished)
        assert "wipe incomplete" in app.table.cell_text(rec.key, "job")
        assert "incomplete" in app.log_pane.lines[-1]
        await pilot.press("escape")


async def test_quit_with_a_running_job_asks_first(cfg: StationConfig) -> None:
    app = build_app(Station(cfg), simulate=True, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "sdb" in app.attached)
        rec = app.records[app.attached["sdb"]]
        app.table.move_cursor(row=app.table.get_row_index(rec.key))
        await pilot.press("w")
        await dialog(pilot, WipeDialog)
        await pilot.press(*"EMO1", "enter")
        await wait_for(pilot, lambda: rec.busy)
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running and rec.busy
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running)
    # The cancelled wipe still got its (incomplete) record.
    assert rec.wipe_statuses == ["incomplete"]
    assert '"status": "incomplete"' in rec.certificates[-1].read_text()


async def test_device_keys_act_only_on_the_main_screen(cfg: StationConfig) -> None:
    app = build_app(Station(cfg), simulate=True, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "sdb" in app.attached)
        await pilot.press("c")
        await dialog(pilot, CertificatesScreen)
        # The certificates view is a full screen: app keys reach it, device actions must not.
        await pilot.press("w", "g", "i", "l")
        await pilot.pause(0.5)  # room for a (wrongly) started worker to open a dialog
        assert len(app.screen_stack) == 2 and isinstance(app.screen, CertificatesScreen)
        assert app.language == "en"
        offered = {b.binding.action for b in app.active_bindings.values() if b.enabled}
        assert "close" in offered and not offered & {"wipe", "grade", "intake", "language"}
