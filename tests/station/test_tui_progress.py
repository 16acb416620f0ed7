"""Progress repaints give way to key presses: keys are answered first, the bars catch up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import station.ui.core as core
from station.blockio import Progress
from station.config import StationConfig
from station.jobs import JobSnapshot
from station.service import Station
from station.ui.app import build_app
from station.ui.messages import JobChanged
from tests.station.tui_waits import wait_for

pytestmark = pytest.mark.asyncio


def snapshot(done: int | None) -> JobSnapshot:
    """A running wipe of sdb, ``done`` MiB of 100 written (None: just started)."""
    progress = None if done is None else Progress("write", done << 20, 100 << 20, 1.0)
    return JobSnapshot(99, "wipe", "sdb", "running", datetime.now(UTC), progress=progress)


async def test_progress_waits_while_keys_are_pressed_and_shows_once_they_stop(
    cfg: StationConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = build_app(Station(cfg), simulate=True, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "sdb" in app.attached)
        key = app.attached["sdb"]
        app.post_message(JobChanged(snapshot(None)))
        app.post_message(JobChanged(snapshot(10)))
        await wait_for(pilot, lambda: "10%" in app.table.cell_text(key, "progress"))

        # Keys keep coming (every press within the quiet time): progress is held back.
        monkeypatch.setattr(core, "KEY_QUIET_S", 3600.0)
        monkeypatch.setattr(core, "PROGRESS_DEFER_MAX_S", 3600.0)
        await pilot.press("down")
        app.post_message(JobChanged(snapshot(50)))
        for _ in range(4):  # several repaint ticks go by
            await pilot.press("up", "down")
            await pilot.pause(core.PROGRESS_REPAINT_S / 2)
        assert "10%" in app.table.cell_text(key, "progress")

        # ... but never longer than the cap,
        monkeypatch.setattr(core, "PROGRESS_DEFER_MAX_S", 0.0)
        await pilot.press("up")
        await wait_for(pilot, lambda: "50%" in app.table.cell_text(key, "progress"))

        # and once the keys stop, the next tick shows the newest progress.
        monkeypatch.setattr(core, "PROGRESS_DEFER_MAX_S", 3600.0)
        await pilot.press("down")
        app.post_message(JobChanged(snapshot(80)))
        monkeypatch.setattr(core, "KEY_QUIET_S", 0.0)
        await wait_for(pilot, lambda: "80%" in app.table.cell_text(key, "progress"))
