"""Why a Purge failed and what a disk diagnosis found reach the technician in Dutch by
default; the certificate and the stored records keep them in English.

The real app on real loop devices (root). The machine has no NVMe/ATA drive, so the drive
is the scripted one of the purge tests; SMART is a recorded capture of a failing disk.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import Select

from station.hw.blockdev import BlockDevice
from station.hw.runner import Recording, ReplayRunner
from station.methods import CLEAR_OPTIONS, Capabilities
from station.reasons import reason
from station.service import Station
from station.ui.dialogs import WipeDialog
from station.ui.reason_texts import say
from tests.station.test_station_purge import FORMAT_CRYPTO, ScriptedDrive, _fill_random
from tests.station.test_tui import SIZE, make_app, select, type_text
from tests.station.tui_app import log_text
from tests.station.tui_waits import dialog, wait_for


class OffersPurge(Station):
    """The real station; a loop device offers the scripted drive's Purge, strongest first."""

    def capabilities(self, dev: BlockDevice) -> Capabilities:
        return Capabilities((FORMAT_CRYPTO, *CLEAR_OPTIONS))


@pytest.mark.root
@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("drive_answers", "state", "dutch", "english"),
    [
        (
            False,  # the command goes to another path: the drive says it failed
            "incomplete",
            "nvme format {path} --ses=2 --force mislukt (1): not scripted",
            "nvme format {path} --ses=2 --force failed (1): not scripted",
        ),
        (
            True,  # the drive says it erased, but the samples read back unchanged
            "failed",
            "de steekproefcontrole vond gegevens die de Purge niet veranderd heeft",
            "sampled verification found data unchanged by the purge",
        ),
    ],
)
async def test_a_failed_purge_is_told_in_dutch_and_certified_in_english(
    cfg, make_loop, drive_answers: bool, state: str, dutch: str, english: str
) -> None:
    path = make_loop(16)
    _fill_random(path)
    dutch, english = dutch.format(path=path), english.format(path=path)
    drive = ScriptedDrive(path if drive_answers else "/dev/other", erases=False)
    station = OffersPurge(cfg, runner=drive)
    app = make_app(station, language="nl")
    async with app.run_test(size=SIZE) as pilot:
        rec = await select(pilot, app, path)
        await pilot.press("w")
        await dialog(pilot, WipeDialog)
        assert app.screen.query_one("#method", Select).value == FORMAT_CRYPTO.name
        await type_text(pilot, Path(path).name)
        await pilot.press("enter")
        await wait_for(pilot, lambda: rec.job is not None and rec.job.finished, timeout=60)
        assert rec.job is not None and rec.job.state == state
        assert rec.job.message == english
        assert dutch in log_text(app), log_text(app)
        assert english not in log_text(app)
    body = station.verify_file(rec.certificates[-1]).body
    assert body["status"] == state and body["status_reason"] == english


@pytest.mark.root
@pytest.mark.asyncio
async def test_a_failing_disks_findings_are_told_in_dutch_and_kept_in_english(
    cfg, make_loop, data_dir
) -> None:
    path = make_loop(16)
    recording = Recording("smartctl/sata-hdd-usb-jmicron-failing-reallocated.json", 216)
    station = Station(cfg, runner=ReplayRunner(data_dir, {f"smartctl --json -a {path}": recording}))
    app = make_app(station, language="nl")
    async with app.run_test(size=SIZE) as pilot:
        rec = await select(pilot, app, path)
        await pilot.press("d")
        await wait_for(pilot, lambda: rec.job is not None and rec.job.finished, timeout=60)
        assert rec.job is not None and rec.job.state == "failed"
        shown = log_text(app)
        found = "SMART-gezondheid: AFGEKEURD; vervangen sectoren: 1975; wachtende sectoren: 8"
        assert found in shown, shown
        assert "SMART overall health" not in shown and "reallocated sectors" not in shown
    (stored,) = station.results.list("diagnostics")
    result = json.loads(stored.read_text())["result"]
    english = ["SMART overall health: FAILED", "reallocated sectors: 1975", "pending sectors: 8"]
    assert result["findings"] == english and result["smart"]["reasons"] == english
    assert "why" not in result["smart"]


def test_a_bad_region_and_an_unreadable_smart_are_worded_in_dutch() -> None:
    from station.blockio import BadRegion

    region = BadRegion.because(4096, 8192, reason("read_error", error="Input/output error"))
    assert say("nl", region.finding()) == "leesfout: Input/output error bij byte 4096 (+8192)"
    assert str(region.finding()) == "read error: Input/output error at byte 4096 (+8192)"
    gone = reason("scan_cannot_read", path="/dev/sdz", error="No such device")
    assert say("nl", gone) == "/dev/sdz is niet te lezen: No such device"
    smart = reason("smart_unreadable", error="smartctl is not installed")
    assert say("nl", smart) == "SMART is niet te lezen: smartctl is not installed"
