"""Pilot tests of the technicians' TUI on real loop devices and real kernel uevents (root).

Each test runs the real app (``App.run_test``) on the real engine and real detection;
the loop devices are attached with ``losetup`` over files in tmp and always detached.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Select, Static

from station.blockio import Progress, ProgressCallback
from station.grading import CHECKLIST_ITEMS, Checklist, grade
from station.hw.blockdev import BlockDevice
from station.hw.udev import DeviceWatcher
from station.service import Station, WipeReport
from station.ui.app import KEYS, StationApp, build_app
from station.ui.dialogs import IntakeDialog, WipeDialog
from station.ui.grade import GradeDialog
from station.ui.model import DeviceRecord
from station.ui.screens import CertificatesScreen, HelpScreen
from tests.station.tui_app import log_text
from tests.station.tui_waits import dialog, wait_for

pytestmark = [pytest.mark.root, pytest.mark.asyncio]

SIZE = (80, 24)


# -- helpers ---------------------------------------------------------------------------------
def make_app(station: Station, language: str = "en") -> StationApp:
    """The real app on real detection (kernel or udev uevents), built as the CLI builds it;
    the station's setting admits loop devices to the live table."""
    assert station.cfg.allow_loop_devices
    app = build_app(station, language=language)
    assert isinstance(app.source, DeviceWatcher) and app.source.translator.include_loop
    return app


def record_for(app: StationApp, path: str) -> DeviceRecord | None:
    """The attached record of a device path like /dev/loop3."""
    key = app.attached.get(Path(path).name)
    return app.records.get(key) if key else None


async def select(pilot: Pilot[int], app: StationApp, path: str) -> DeviceRecord:
    """Wait for the device's row and put the cursor on it."""
    await wait_for(pilot, lambda: record_for(app, path) is not None)
    rec = record_for(app, path)
    assert rec is not None
    app.table.move_cursor(row=app.table.get_row_index(rec.key))
    await pilot.pause()
    assert app.selected() is rec
    return rec


def backing_file(path: str) -> Path:
    """The file behind a loop device."""
    name = Path(path).name
    return Path(Path(f"/sys/class/block/{name}/loop/backing_file").read_text().strip())


def unplug(path: str) -> None:
    """Take a loop device's media away and detach it, as a pulled USB disk does."""
    with open(backing_file(path), "r+b") as fh:
        fh.truncate(0)
    subprocess.run(["losetup", "-c", path], check=True)
    subprocess.run(["losetup", "-d", path], check=True)


def is_all_zero(path: Path, chunk: int = 8 << 20) -> bool:
    """True if every byte of the file reads zero."""
    zeros = bytes(chunk)
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            if block != zeros[: len(block)]:
                return False
    return True


async def type_text(pilot: Pilot[int], value: str) -> None:
    """Type characters one key at a time."""
    await pilot.press(*value)


@pytest.fixture
def losetup_more() -> Iterator[Callable[[Path], str]]:
    """Attach a loop device over an existing file; always detached afterwards."""
    attached: list[str] = []

    def attach(backing: Path) -> str:
        out = subprocess.run(
            ["losetup", "-f", "--show", str(backing)], check=True, capture_output=True, text=True
        )
        attached.append(out.stdout.strip())
        return attached[-1]

    yield attach
    for path in attached:
        subprocess.run(["losetup", "-d", path], capture_output=True, check=False)


# -- tests -----------------------------------------------------------------------------------
async def test_attached_loop_device_appears_and_goes(station: Station, make_loop) -> None:
    app = make_app(station)
    async with app.run_test(size=SIZE) as pilot:
        path = make_loop(64)
        name = Path(path).name
        rec = await select(pilot, app, path)
        assert app.table.cell_text(rec.key, "kind") == "loop"
        assert app.table.cell_text(rec.key, "size") == "67.1 MB"
        assert app.table.cell_text(rec.key, "slot") == name
        assert f"{name}: loop" in log_text(app)
        subprocess.run(["losetup", "-d", path], check=True)
        await wait_for(pilot, lambda: rec.key not in app.table.rows)
        assert name not in app.attached
        assert "detached" in log_text(app)


async def test_wipe_from_the_ui_zeroes_every_byte_with_a_valid_certificate(
    station: Station, make_loop
) -> None:
    app = make_app(station)
    async with app.run_test(size=SIZE) as pilot:
        path = make_loop(64)
        name = Path(path).name
        rec = await select(pilot, app, path)

        # A wrong confirmation is refused and starts nothing.
        await pilot.press("w")
        await dialog(pilot, WipeDialog)
        assert app.screen.query_one("#method", Select).value == "overwrite"
        await type_text(pilot, "sda")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "does not match" in log_text(app))
        assert rec.job is None

        await pilot.press("w")
        await dialog(pilot, WipeDialog)
        await type_text(pilot, name)
        await pilot.press("enter")
        await wait_for(pilot, lambda: rec.job is not None and rec.job.finished, timeout=60)
        assert rec.job is not None and rec.job.state == "passed", rec.job
        assert rec.last_wipe == "passed"
        assert app.table.cell_text(rec.key, "job") == "wipe passed"

    assert is_all_zero(backing_file(path))
    verified = station.verify_file(rec.certificates[-1])
    assert verified.passed
    assert verified.body["media"]["device_name"] == name
    assert verified.body["verification"]["bytes_read"] == 64 << 20


class UnplugsMidWipe(Station):
    """The real station; the test pulls the device out once the write pass is under way."""

    def wipe(self, dev: BlockDevice, method: str, confirm: str | None, **kw: Any) -> WipeReport:
        progress: ProgressCallback | None = kw.pop("on_progress", None)
        pulled = threading.Event()

        def on_progress(p: Progress) -> None:
            if p.phase == "write" and not pulled.is_set():
                pulled.set()
                unplug(dev.path)
            if progress is not None:
                progress(p)

        return super().wipe(dev, method, confirm, on_progress=on_progress, **kw)


async def test_unplugged_mid_wipe_ends_incomplete_and_never_ready(
    cfg, make_loop, losetup_more
) -> None:
    station = UnplugsMidWipe(cfg)
    app = make_app(station, language="nl")  # the station's words in Dutch, its records in English
    async with app.run_test(size=SIZE) as pilot:
        path = make_loop(128)
        name = Path(path).name
        backing = backing_file(path)
        rec = await select(pilot, app, path)
        await pilot.press("w")
        await dialog(pilot, WipeDialog)
        await type_text(pilot, name)
        await pilot.press("enter")
        await wait_for(pilot, lambda: rec.job is not None and rec.job.finished, timeout=60)
        assert rec.job is not None and rec.job.state == "incomplete"
        assert "disappeared" in rec.job.message
        assert "wissing onvolledig toestel verdwenen tijdens het" in log_text(app)
        assert "disappeared" not in log_text(app)
        await wait_for(pilot, lambda: rec.key not in app.table.rows)

        # Plug the same disk back in: its interrupted wipe is remembered and blocks "ready",
        # even once it is graded lendable.
        os.truncate(backing, 128 << 20)
        again = await select(pilot, app, losetup_more(backing))
        assert again is rec
        rec.grades = grade("A", Checklist(dict.fromkeys(CHECKLIST_ITEMS, True)), 95.0, 100)
        await pilot.press("r")
        await pilot.pause()
        assert not rec.ready
        assert "een wissing is mislukt of onvolledig" in log_text(app)

    cert = station.verify_file(rec.certificates[-1])
    assert cert.body["status"] == "incomplete"
    assert cert.body["post_sanitization_destination"] == ""


async def test_mounted_loop_device_is_refused_with_the_reason(
    station: Station, make_loop, tmp_path: Path
) -> None:
    path = make_loop(64, fill=None)
    subprocess.run(["mkfs.ext4", "-q", "-F", path], check=True, capture_output=True)
    mnt = tmp_path / "usb [stick]"  # brackets: shown as typed, never read as markup
    mnt.mkdir()
    subprocess.run(["mount", path, str(mnt)], check=True)
    try:
        app = make_app(station)
        async with app.run_test(size=SIZE) as pilot:
            rec = await select(pilot, app, path)
            await pilot.press("w")
            await dialog(pilot, WipeDialog)
            reasons = str(app.screen.query_one("#refusals", Static).render())
            assert f"is mounted on {mnt}" in reasons
            assert app.screen.query_one("#start").disabled
            assert app.screen.query_one("#confirm").disabled
            await pilot.press("enter")
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, WipeDialog))
            assert f"is mounted on {mnt}" in log_text(app)
            assert rec.job is None
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


async def test_help_screen_opens_from_the_keyboard(station: Station) -> None:
    app = make_app(station, language="en")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await dialog(pilot, HelpScreen)
        body = str(app.screen.query_one("#help", Static).render())
        assert "wipe" in body and "never" in body
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))


async def test_language_switch_relabels_the_screen(station: Station) -> None:
    app = make_app(station, language="nl")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()

        def labels() -> tuple[str, set[str]]:
            serial = str(app.table.columns["serial"].label)  # type: ignore[index]
            footer = {b.binding.description for b in app.active_bindings.values()}
            return serial, footer

        serial, footer = labels()
        assert serial == "Serienummer" and "Wissen" in footer and "Wipe" not in footer
        await pilot.press("l")
        await pilot.pause()
        serial, footer = labels()
        assert serial == "Serial" and "Wipe" in footer and "Wissen" not in footer
        assert app.title == "Digibank refurbishment station"


async def test_main_screen_at_80x24(station: Station, make_loop) -> None:
    app = make_app(station, language="nl")
    async with app.run_test(size=SIZE) as pilot:
        path = make_loop(64)
        rec = await select(pilot, app, path)
        screen = app.screen.region
        assert (screen.width, screen.height) == SIZE
        # The table, the detail line, the log and the footer all fit on the screen.
        for selector in ("#devices", "#detail", "#log", "#keys"):
            region = app.query_one(selector).region
            assert region.height > 0 and screen.contains_region(region), selector
        assert app.table.region.height >= 4
        # Every key is a described binding, and shown in the key bar.
        shown = {b.binding.action: b.binding.description for b in app.active_bindings.values()}
        keybar = str(app.query_one("#keys", Static).render())
        assert len(keybar.splitlines()) == 2
        for _key, action, _label in KEYS:
            assert shown.get(action), action
            assert shown[action] in keybar, action
        # The detail line tells what the narrow table cannot.
        detail = str(app.query_one("#detail", Static).render())
        assert rec.slot in detail and "67.1 MB" in detail
        picture = app.export_screenshot()
        assert "Serienummer" in picture and Path(path).name in picture


async def test_certificates_view_lists_verified_certificates(station: Station, make_loop) -> None:
    app = make_app(station)
    async with app.run_test(size=SIZE) as pilot:
        path = make_loop(16)
        rec = await select(pilot, app, path)
        await pilot.press("w")
        await dialog(pilot, WipeDialog)
        await type_text(pilot, Path(path).name)
        await pilot.press("enter")
        await wait_for(pilot, lambda: rec.job is not None and rec.job.finished, timeout=60)
        await pilot.press("c")
        await dialog(pilot, CertificatesScreen)
        table = app.screen.query_one("#certificates")
        await wait_for(pilot, lambda: table.row_count == 1)  # type: ignore[attr-defined]
        name = rec.certificates[-1].name
        assert str(table.get_cell(name, "status")) == "passed"  # type: ignore[attr-defined]
        assert str(table.get_cell(name, "signature")).startswith("valid")  # type: ignore[attr-defined]
        await pilot.press("escape")
        await asyncio.sleep(0)


async def test_intake_grade_wipe_label_and_ready(station: Station, make_loop) -> None:
    app = make_app(station)
    async with app.run_test(size=SIZE) as pilot:
        path = make_loop(16)
        name = Path(path).name
        rec = await select(pilot, app, path)

        # Not ready before anything was done, and no label without an asset tag.
        await pilot.press("r")
        await pilot.press("p")
        await pilot.pause()
        assert not rec.ready and "not graded" in log_text(app) and "no asset tag" in log_text(app)

        # Intake: the device already carries a label; no server is configured.
        await pilot.press("i")
        await dialog(pilot, IntakeDialog)
        assert app.screen.query_one("#register").disabled
        await type_text(pilot, "DB-000123")
        await pilot.press("enter")
        await wait_for(pilot, lambda: rec.asset_tag == "DB-000123")
        assert app.table.cell_text(rec.key, "tag") == "DB-000123"

        # Grade through the dialog: the engine's rule says lendable.
        await pilot.press("g")
        grading = await dialog(pilot, GradeDialog)
        # Keyboard only: 2 = B, then down and 1 (works) for each checklist item.
        await pilot.press("2", *(["down", "1"] * len(CHECKLIST_ITEMS)), "down")
        await type_text(pilot, "87")
        await pilot.press("tab")
        await type_text(pilot, "312")
        await wait_for(
            pilot, lambda: "Lendable" in str(grading.query_one("#verdict", Static).render())
        )
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: rec.grades is not None)
        assert rec.grades is not None and rec.grades.lendable
        assert (rec.grades.cosmetic, rec.grades.functional, rec.grades.battery) == ("B", "A", "A")
        await wait_for(pilot, lambda: station.results.list("grade"))
        kept = json.loads(station.results.list("grade")[-1].read_text())
        assert kept["subject"] == "DB-000123" and kept["result"]["lendable"] is True

        await pilot.press("r")  # graded, but not wiped yet
        await pilot.pause()
        assert not rec.ready and "no wipe recorded" in log_text(app)

        await pilot.press("w")
        await dialog(pilot, WipeDialog)
        await type_text(pilot, name)
        await pilot.press("enter")
        await wait_for(pilot, lambda: rec.job is not None and rec.job.finished, timeout=60)
        await pilot.press("r")
        await pilot.pause()
        assert rec.ready, log_text(app)

        await pilot.press("p")
        labels = station.cfg.data_dir / "labels"
        await wait_for(pilot, lambda: (labels / "DB-000123.pdf").exists())
        assert (labels / "DB-000123.png").read_bytes().startswith(b"\x89PNG")

    body = station.verify_file(rec.certificates[-1]).body
    assert body["media"]["property_number"] == "DB-000123"


class HoldsUntilCancelled(Station):
    """The real station; the write pass holds at its first progress until cancelled."""

    def wipe(self, dev: BlockDevice, method: str, confirm: str | None, **kw: Any) -> WipeReport:
        cancel: threading.Event = kw["cancel"]

        def on_progress(p: Progress) -> None:
            cancel.wait(30)

        kw["on_progress"] = on_progress
        return super().wipe(dev, method, confirm, **kw)


async def test_quitting_mid_wipe_records_it_incomplete_for_the_server(cfg, make_loop) -> None:
    from dataclasses import replace

    # The server is unreachable: results wait in the on-disk queue.
    station = HoldsUntilCancelled(replace(cfg, server_url="http://127.0.0.1:9", token="t" * 32))
    app = make_app(station)
    async with app.run_test(size=SIZE) as pilot:
        path = make_loop(64)
        rec = await select(pilot, app, path)
        await pilot.press("i")
        await dialog(pilot, IntakeDialog)
        await type_text(pilot, "DB-000777")
        await pilot.press("enter")
        await wait_for(pilot, lambda: rec.asset_tag == "DB-000777")
        await pilot.press("w")
        await dialog(pilot, WipeDialog)
        await type_text(pilot, Path(path).name)
        await pilot.press("enter")
        await wait_for(pilot, lambda: rec.busy)
        await pilot.press("q", "q")
        await wait_for(pilot, lambda: not app.is_running, timeout=30)
    assert rec.wipe_statuses == ["incomplete"]
    queued = [json.loads(p.read_text()) for p in sorted(cfg.queue_dir.glob("*.json"))]
    wipes = [q["body"] for q in queued if q["op"] == "jobs" and q["body"]["kind"] == "wipe"]
    assert [w["status"] for w in wipes] == ["incomplete"]
    assert [q["ref"] for q in queued if q["op"] == "jobs"] == ["DB-000777"]
    assert wipes[0]["certificate"]["certificate"]["status"] == "incomplete"
