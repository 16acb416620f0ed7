"""A station error the TUI shows (here: a second job on a busy disk) is worded by its code
in the technician's language, Dutch by default and English by setting.

The real app on a real loop device (root); the diagnosis holds until it is cancelled, so
the disk is busy when the technician asks for a second one.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from station.blockio import ProgressCallback
from station.diagnostics import DiskDiagnosis
from station.hw.blockdev import BlockDevice
from station.service import Station
from tests.station.test_tui import SIZE, make_app, select
from tests.station.tui_app import log_text
from tests.station.tui_waits import wait_for


class HeldDiagnosis(Station):
    """The real station; a disk diagnosis starts only once it is cancelled."""

    def diagnose(
        self,
        dev: BlockDevice,
        *,
        surface_scan: bool = True,
        cancel: threading.Event | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> DiskDiagnosis:
        assert cancel is not None
        cancel.wait(120)
        return super().diagnose(
            dev, surface_scan=surface_scan, cancel=cancel, on_progress=on_progress
        )


@pytest.mark.root
@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("language", "shown", "other"),
    [
        ("nl", "op {name} loopt al een taak (diagnostics)", "already has a"),
        ("en", "{name} already has a diagnostics job running", "loopt al een taak"),
    ],
)
async def test_a_second_job_on_a_busy_disk_is_refused_in_the_technicians_language(
    cfg, make_loop, language: str, shown: str, other: str
) -> None:
    path = make_loop(16)
    shown = shown.format(name=Path(path).name)
    app = make_app(HeldDiagnosis(cfg), language=language)
    async with app.run_test(size=SIZE) as pilot:
        rec = await select(pilot, app, path)
        await pilot.press("d")
        await wait_for(pilot, lambda: rec.busy)
        assert rec.job is not None
        first = rec.job.id
        await pilot.press("d")  # the station refuses: one job per disk
        await wait_for(pilot, lambda: shown in log_text(app))
        assert other not in log_text(app), log_text(app)
        assert rec.busy and rec.job.id == first
        await pilot.press("x")
        await wait_for(pilot, lambda: rec.job is not None and rec.job.finished, timeout=60)
        assert rec.job.id == first and rec.job.state == "incomplete"
